import XCTest
@testable import KeelCore

final class MemblockTests: XCTestCase {
    func r(_ a: UInt64, _ b: UInt64) -> PhysRange { PhysRange(PhysAddr(a), PhysAddr(b)) }

    /// QEMU's 256 MiB map with the kernel, boot info and a module reserved.
    func testFreeRangesSubtractReservations() {
        var m = Memblock()
        m.addMemory(r(0, 0x9fc00))
        m.addMemory(r(0x100000, 0xffe0000))
        m.reserve(r(0, 0x100000))               // first MiB
        m.reserve(r(0x100000, 0x400000))        // kernel image
        m.reserve(r(0x500010, 0x500400))        // boot information, unaligned
        XCTAssertEqual(m.freeRanges(), [r(0x400000, 0x500000), r(0x501000, 0xffe0000)])
        XCTAssertEqual(m.endOfRAM, PhysAddr(0xffe0000))
    }

    func testInsertMergesTouchingAndOverlapping() {
        var m = Memblock()
        m.reserve(r(0x3000, 0x4000))
        m.reserve(r(0x1000, 0x2000))
        m.reserve(r(0x2000, 0x3000))
        m.reserve(r(0x8000, 0x9000))
        m.reserve(r(0x3800, 0x8800))
        XCTAssertEqual(m.reserved, [r(0x1000, 0x9000)])
    }

    func testAllocateReservesAlignedLowestFit() {
        var m = Memblock()
        m.addMemory(r(0x100000, 0x1000000))
        m.reserve(r(0x100000, 0x180000))
        let a = m.allocate(size: 0x200000, alignment: 0x200000)
        XCTAssertEqual(a, PhysAddr(0x200000))
        XCTAssertEqual(m.freeRanges(), [r(0x180000, 0x200000), r(0x400000, 0x1000000)])
        XCTAssertNil(m.allocate(size: 0x1000000))
        XCTAssertEqual(m.allocate(size: 0x1000, minimum: PhysAddr(0x900000)), PhysAddr(0x900000))
    }
}
