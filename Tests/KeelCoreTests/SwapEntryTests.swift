// Swap and migration entries: the three forms (value, packed Page.private,
// PTE), how every page-table walk treats a swap PTE (zap hands it back, fork
// copies it through its callback, map refuses to overwrite it, an emptied
// table holding one is kept), and the fault classification rows.
import XCTest
@testable import KeelCore

final class SwapEntryTests: XCTestCase {
    // MARK: forms

    func testPackedFormRoundTripsAndUsesFiveTypeBits() {
        for (type, offset) in [(0, UInt64(1)), (3, 12345), (28, SwapEntry.maxOffset - 1)] {
            let entry = SwapEntry(type: type, offset: offset)
            XCTAssertEqual(SwapEntry(packed: entry.packed), entry)
            XCTAssertEqual(entry.packed >> 27, UInt32(type), "type in the top five bits")
            XCTAssertEqual(UInt64(entry.packed & ((1 << 27) - 1)), offset)
        }
    }

    func testPTEFormIsNeitherPresentNorProtNoneNorEmpty() {
        let entries = [SwapEntry(type: 0, offset: 1), SwapEntry(type: 0, offset: 0), SwapEntry(type: 28, offset: 0x7ff_ffff),
                       SwapEntry.migration(frame: PhysAddr(0x1234_5000), writable: true),
                       SwapEntry.migration(frame: PhysAddr(0), writable: false),
                       SwapEntry(type: 31, offset: (1 << 40) - 1)]
        for entry in entries {
            let pte = entry.pageTableEntry
            XCTAssertFalse(pte.isPresent, "\(entry)")
            XCTAssertFalse(pte.isProtNone, "\(entry)")
            XCTAssertFalse(pte.isNone, "\(entry)")
            XCTAssertTrue(pte.isSwapEntry)
            XCTAssertNil(pte.pageSize(at: .pt), "no walker may take it for a leaf")
            XCTAssertNil(pte.nextTable(at: .pt))
            XCTAssertEqual(pte.raw & PTEFlags.protNone.rawValue, 0)
            XCTAssertEqual(SwapEntry(pageTableEntry: pte), entry)
            XCTAssertEqual(pte.swapEntry, entry)
        }
    }

    func testOffsetIsStoredInvertedAgainstL1TF() {
        // A non-present PTE whose address bits name real memory could be read
        // by a speculating CPU: Linux inverts them, and so does Keel.
        let pte = SwapEntry.migration(frame: PhysAddr(0x20_0000), writable: false).pageTableEntry
        XCTAssertNotEqual(pte.raw & PageTableEntry.frameMask, 0x20_0000)
        XCTAssertEqual(pte.raw & PageTableEntry.frameMask, ~UInt64(0x20_0000) & PageTableEntry.frameMask)
    }

    func testOtherEntriesAreNotSwapEntries() {
        XCTAssertNil(SwapEntry(pageTableEntry: .none))
        XCTAssertNil(SwapEntry(pageTableEntry: PageTableEntry(frame: PhysAddr(0x5000), flags: [.present, .user])))
        XCTAssertNil(SwapEntry(pageTableEntry: PageTableEntry(frame: PhysAddr(0x5000), flags: [.protNone, .user])))
    }

    func testMigrationEntries() {
        let frame = PhysAddr(0x7654_3000)
        let write = SwapEntry.migration(frame: frame, writable: true)
        let read = SwapEntry.migration(frame: frame, writable: false)
        XCTAssertEqual(write.type, 31)
        XCTAssertEqual(read.type, 30)
        XCTAssertEqual(write.offset, 0x76543, "offset = PFN")
        XCTAssertTrue(write.isMigration && write.isWritableMigration && !write.isSwap)
        XCTAssertTrue(read.isMigration && !read.isWritableMigration)
        XCTAssertEqual(read.migrationFrame, frame)
        XCTAssertTrue(SwapEntry(type: 0, offset: 9).isSwap)
        XCTAssertFalse(SwapEntry(type: 0, offset: 9).isMigration)
    }

    func testPTEStateOfNonPresentEntries() {
        XCTAssertEqual(PTEState(nonPresent: .none), .notPresent)
        let swap = SwapEntry(type: 2, offset: 77)
        XCTAssertEqual(PTEState(nonPresent: swap.pageTableEntry), .swapped(swap))
        XCTAssertEqual(PTEState(nonPresent: SwapEntry.migration(frame: PhysAddr(0x3000), writable: true).pageTableEntry),
                       .migrating)
        XCTAssertNil(PTEState(nonPresent: PageTableEntry(frame: PhysAddr(0x5000), flags: [.present, .user])))
    }

    // MARK: page-table walks

    private let base = VirtAddr(0x40_0000)

    /// A page table with a present page at `base` and swap entries at the next two pages.
    private func fixture() throws -> (PageTable<SimulatedRAM>, SimulatedFrameAllocator, [SwapEntry]) {
        let ram = SimulatedRAM(frames: 1024)
        var allocator = SimulatedFrameAllocator(ram: ram, remainingAllocations: nil)
        let tables = PageTable(memory: ram, allocator: &allocator)!
        try tables.map(base, to: PhysAddr(0x20_0000), size: .size4K, flags: [.present, .user, .writable], allocator: &allocator)
        let entries = [SwapEntry(type: 0, offset: 5), SwapEntry.migration(frame: PhysAddr(0x21_0000), writable: true)]
        for (i, entry) in entries.enumerated() {
            try tables.installSwapEntry(base + UInt64(i + 1) * pageSize, entry.pageTableEntry, allocator: &allocator)
        }
        return (tables, allocator, entries)
    }

    func testWalkersSeeSwapEntriesOnlyThroughTheirOwnCallbacks() throws {
        let (tables, _, entries) = try fixture()
        var leaves: [VirtAddr] = []
        tables.forEachLeaf(in: base..<base + 0x10000) { leaves.append($0.virt) }
        XCTAssertEqual(leaves, [base], "a swap PTE is no leaf")
        var swapped: [(VirtAddr, SwapEntry?)] = []
        tables.forEachSwapEntry(in: base..<base + 0x10000) { swapped.append(($0, $1.swapEntry)) }
        XCTAssertEqual(swapped.map(\.0), [base + pageSize, base + 2 * pageSize])
        XCTAssertEqual(swapped.map(\.1), entries)
        XCTAssertNil(tables.translate(base + pageSize), "translate sees only present pages")
        XCTAssertEqual(tables.entry(at: base + pageSize)?.swapEntry, entries[0])
        XCTAssertEqual(tables.entry(at: base + 3 * pageSize), PageTableEntry.none)
        XCTAssertNil(tables.entry(at: VirtAddr(0x7000_0000_0000)), "no page table there")
    }

    func testMapRefusesToOverwriteASwapEntry() throws {
        var (tables, allocator, _) = try fixture()
        XCTAssertThrowsError(try tables.map(base + pageSize, to: PhysAddr(0x30_0000), size: .size4K,
                                            flags: [.present, .user], allocator: &allocator)) {
            XCTAssertEqual($0 as? PageTableError, .alreadyMapped)
        }
        XCTAssertThrowsError(try tables.installSwapEntry(base, SwapEntry(type: 1, offset: 1).pageTableEntry,
                                                         allocator: &allocator)) {
            XCTAssertEqual($0 as? PageTableError, .alreadyMapped)
        }
    }

    func testZapHandsBackSwapEntriesAndFreesEveryTable() throws {
        var (tables, allocator, entries) = try fixture()
        let tablesBefore = allocator.allocatedCount
        var frames: [PhysAddr] = []
        var swapped: [SwapEntry] = []
        tables.zap(VirtAddr(0)..<VirtAddr(1 << 46), allocator: &allocator,
                   swapEntry: { _, pte in swapped.append(pte.swapEntry!) }) { frames.append($0.entry.frame) }
        XCTAssertEqual(frames, [PhysAddr(0x20_0000)])
        XCTAssertEqual(swapped, entries, "munmap must give every swap slot back")
        XCTAssertEqual(allocator.allocatedCount, 1, "only the PML4 is left (was \(tablesBefore))")
        XCTAssertEqual(tables.entry(at: base + pageSize), nil)
    }

    func testUnmapOfTheLastPresentPageKeepsATableThatHoldsASwapEntry() throws {
        var (tables, allocator, entries) = try fixture()
        try tables.unmap(base, freeEmptyTables: true, allocator: &allocator)
        XCTAssertEqual(tables.entry(at: base + pageSize)?.swapEntry, entries[0], "the table still holds the slot")
    }

    func testCopyLeavesGivesSwapEntriesToTheirCallback() throws {
        var (tables, allocator, entries) = try fixture()
        let child = PageTable(memory: tables.memory, allocator: &allocator)!
        var seen: [SwapEntry] = []
        let readOnly = SwapEntry.migration(frame: PhysAddr(0x21_0000), writable: false).pageTableEntry
        try tables.copyLeaves(VirtAddr(0)..<VirtAddr(1 << 46), into: child, allocator: &allocator,
                              decideSwap: { _, pte in
                                  let entry = pte.swapEntry!
                                  seen.append(entry)
                                  return entry.isMigration ? (readOnly, readOnly) : (pte, nil)
                              }) { leaf in (leaf.entry, nil) }
        XCTAssertEqual(seen, entries)
        XCTAssertEqual(child.entry(at: base + pageSize)?.swapEntry, entries[0])
        XCTAssertEqual(child.entry(at: base + 2 * pageSize), readOnly)
        XCTAssertEqual(tables.entry(at: base + 2 * pageSize), readOnly, "the parent's entry changed too")
        XCTAssertEqual(child.translate(base)?.phys, PhysAddr(0x20_0000))
    }

    func testReplaceEntryChecksWhatItReplaces() throws {
        let (tables, _, entries) = try fixture()
        let slot = base + pageSize
        let mapped = PageTableEntry(frame: PhysAddr(0x22_0000), flags: [.present, .user])
        XCTAssertThrowsError(try tables.replaceEntry(slot, expecting: entries[1].pageTableEntry, with: mapped)) {
            XCTAssertEqual($0 as? PageTableError, .changed)
        }
        XCTAssertEqual(tables.entry(at: slot)?.swapEntry, entries[0], "nothing written after a failed check")
        try tables.replaceEntry(slot, expecting: entries[0].pageTableEntry, with: mapped)
        XCTAssertEqual(tables.translate(slot)?.phys, PhysAddr(0x22_0000))
        XCTAssertThrowsError(try tables.replaceEntry(VirtAddr(0x7000_0000_0000), expecting: .none, with: mapped)) {
            XCTAssertEqual($0 as? PageTableError, .notMapped)
        }
    }

    // MARK: faults

    private let layout = MMLayout()

    func testFaultOnASwapEntrySwapsInForAnyAllowedAccess() {
        let entry = SwapEntry(type: 1, offset: 42)
        let vma = vmaPages(0x400, 0x500)
        for kind in [FaultAccess.Kind.read, .write] {
            XCTAssertEqual(FaultAction.classify(address: page(0x410), access: FaultAccess(kind), vma: vma, prev: nil,
                                                pte: .swapped(entry), layout: layout), .swapIn(entry))
        }
        // The VMA's rights still come first.
        let readOnly = vmaPages(0x400, 0x500, [.read, .mayRead])
        XCTAssertEqual(FaultAction.classify(address: page(0x410), access: FaultAccess(.write), vma: readOnly, prev: nil,
                                            pte: .swapped(entry), layout: layout), .segv(.accessError))
        XCTAssertEqual(FaultAction.classify(address: page(0x410), access: FaultAccess(.execute), vma: vma, prev: nil,
                                            pte: .swapped(entry), layout: layout), .segv(.accessError))
        // Kernel access (copy_from_user) swaps in too.
        XCTAssertEqual(FaultAction.classify(address: page(0x410), access: FaultAccess(.read, fromUserMode: false),
                                            vma: vma, prev: nil, pte: .swapped(entry), layout: layout), .swapIn(entry))
    }

    func testFaultOnAMigrationEntryWaits() {
        let vma = vmaPages(0x400, 0x500)
        for kind in [FaultAccess.Kind.read, .write] {
            XCTAssertEqual(FaultAction.classify(address: page(0x410), access: FaultAccess(kind), vma: vma, prev: nil,
                                                pte: .migrating, layout: layout), .migrationWait)
        }
        let protNone = vmaPages(0x400, 0x500, [.mayRead, .mayWrite])
        XCTAssertEqual(FaultAction.classify(address: page(0x410), access: FaultAccess(.read), vma: protNone, prev: nil,
                                            pte: .migrating, layout: layout), .segv(.accessError))
    }

    func testCopyOnWriteMappings() {
        XCTAssertTrue(VMFlags.dataDefault.isCopyOnWrite)
        XCTAssertFalse(VMFlags([.read, .mayRead]).isCopyOnWrite, "never writable: nothing to copy")
        XCTAssertFalse(VMFlags([.read, .write, .mayRead, .mayWrite, .shared, .mayShare]).isCopyOnWrite)
        XCTAssertTrue(VMFlags([.read, .mayRead, .mayWrite]).isCopyOnWrite, "may become writable by mprotect")
    }
}
