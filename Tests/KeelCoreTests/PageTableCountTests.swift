import XCTest
@testable import KeelCore

final class PageTableCountTests: XCTestCase {
    func testTablePagesCountsEveryLevelBelowTheEnd() throws {
        let ram = SimulatedRAM(frames: 64)
        var allocator = SimulatedFrameAllocator(ram: ram, remainingAllocations: nil)
        let tables = PageTable(memory: ram, allocator: &allocator)!
        let end = VirtAddr(KernelLayout.taskSize)
        XCTAssertEqual(tables.tablePages(below: end), 0)
        try tables.map(VirtAddr(0x40_0000), to: PhysAddr(0x10_0000), size: .size4K, flags: [.user], allocator: &allocator)
        XCTAssertEqual(tables.tablePages(below: end), 3)            // PDPT + PD + PT
        try tables.map(VirtAddr(0x60_0000), to: PhysAddr(0x10_1000), size: .size4K, flags: [.user], allocator: &allocator)
        XCTAssertEqual(tables.tablePages(below: end), 4)            // a second PT (next 2 MiB)
        try tables.map(VirtAddr(0x7e00_0000_0000), to: PhysAddr(0x10_2000), size: .size4K, flags: [.user], allocator: &allocator)
        XCTAssertEqual(tables.tablePages(below: end), 7)            // another PML4 slot: PDPT + PD + PT
        // The kernel half (PML4 slots 254 and up) is not the process's to answer for.
        try tables.map(VirtAddr(KernelLayout.kernelBase), to: PhysAddr(0x10_3000), size: .size4K, flags: [], allocator: &allocator)
        XCTAssertEqual(tables.tablePages(below: end), 7)
        XCTAssertEqual(tables.tablePages(below: VirtAddr(0x8000_0000_0000)), 10)
    }
}
