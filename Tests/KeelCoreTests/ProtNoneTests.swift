import XCTest
@testable import KeelCore

/// PROT_NONE pages: not present to the MMU, yet leaves to every walk.
final class ProtNoneTests: XCTestCase {
    private let page = VirtAddr(0x40_0000)
    private let frame = PhysAddr(0x20_0000)

    private func fixture() throws -> (PageTable<SimulatedRAM>, SimulatedFrameAllocator) {
        let ram = SimulatedRAM(frames: 1024)
        var allocator = SimulatedFrameAllocator(ram: ram, remainingAllocations: nil)
        let tables = PageTable(memory: ram, allocator: &allocator)!
        try tables.map(page, to: frame, size: .size4K, flags: [.present, .user, .writable], allocator: &allocator)
        return (tables, allocator)
    }

    func testProtectToProtNoneKeepsTheFrameButNotThePresentBit() throws {
        let (tables, _) = try fixture()
        try tables.protect(page, flags: [.protNone, .user])
        let leaf = try XCTUnwrap(tables.translate(page))
        XCTAssertEqual(leaf.phys, frame)
        XCTAssertFalse(leaf.flags.contains(.present), "the MMU must fault on every access")
        XCTAssertFalse(leaf.flags.contains(.writable))
        var leaves: [PageTableLeaf] = []
        tables.forEachLeaf(in: VirtAddr(0)..<VirtAddr(1 << 40)) { leaves.append($0) }
        XCTAssertEqual(leaves.map(\.virt), [page], "walks still see the page")
        // And back: the same frame, present again.
        try tables.protect(page, flags: [.present, .user])
        let back = try XCTUnwrap(tables.translate(page))
        XCTAssertEqual(back.phys, frame)
        XCTAssertTrue(back.flags.contains(.present))
    }

    func testMapHonoursProtNoneAndZapFreesIt() throws {
        var (tables, allocator) = try fixture()
        let other = VirtAddr(0x40_1000)
        try tables.map(other, to: PhysAddr(0x20_1000), size: .size4K, flags: [.protNone, .user], allocator: &allocator)
        XCTAssertEqual(tables.translate(other)?.flags.contains(.present), false)
        var zapped: [PhysAddr] = []
        tables.zap(VirtAddr(0)..<VirtAddr(1 << 40), allocator: &allocator) { zapped.append($0.entry.frame) }
        XCTAssertEqual(Set(zapped), [frame, PhysAddr(0x20_1000)], "munmap must give PROT_NONE frames back")
        XCTAssertNil(tables.translate(other))
    }

    func testKernelGlobalPagesAreNeverProtNone() throws {
        let (tables, _) = try fixture()
        try tables.protect(page, flags: [.present, .global, .writable])
        XCTAssertEqual(tables.translate(page)?.flags.contains(.present), true)
        XCTAssertFalse(PageTableEntry(frame: frame, flags: [.present, .global]).isProtNone)
    }
}
