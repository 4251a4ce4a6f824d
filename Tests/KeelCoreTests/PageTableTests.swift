import XCTest
@testable import KeelCore


private let userRW: PTEFlags = [.user, .writable]
private let everything = VirtAddr(0)..<VirtAddr(UInt64.max)

/// An address space over fresh simulated RAM, with shorthand for the operations under test.
private struct Fixture {
    let ram: SimulatedRAM
    var allocator: SimulatedFrameAllocator
    let tables: PageTable<SimulatedRAM>

    init(frames: Int = 128, allocationLimit: Int? = nil) {
        ram = SimulatedRAM(frames: frames)
        allocator = SimulatedFrameAllocator(ram: ram, remainingAllocations: allocationLimit)
        tables = PageTable(memory: ram, allocator: &allocator)!
    }

    mutating func map(_ virt: UInt64, _ phys: UInt64, _ size: PageSize = .size4K,
                      _ flags: PTEFlags = userRW) throws(PageTableError) {
        try tables.map(VirtAddr(virt), to: PhysAddr(phys), size: size, flags: flags, allocator: &allocator)
    }

    @discardableResult
    mutating func unmap(_ virt: UInt64, free: Bool = true) throws(PageTableError) -> PageTableLeaf {
        try tables.unmap(VirtAddr(virt), freeEmptyTables: free, allocator: &allocator)
    }

    func phys(_ virt: UInt64) -> UInt64? { tables.translate(VirtAddr(virt))?.phys.value }

    func leaves(_ range: Range<VirtAddr> = everything) -> [PageTableLeaf] {
        var out: [PageTableLeaf] = []
        tables.forEachLeaf(in: range) { out.append($0) }
        return out
    }

    /// Every table frame reachable from the root, root included.
    func reachableTables() -> Set<PhysAddr> {
        var found: Set<PhysAddr> = [tables.root]
        func scan(_ table: PhysAddr, _ level: PageTableLevel) {
            for i in 0..<PageTableLevel.entriesPerTable {
                let entry = PageTableEntry(raw: ram.read64(table + UInt64(i) * 8))
                if let next = entry.nextTable(at: level) {
                    found.insert(next)
                    scan(next, level.child)
                }
            }
        }
        scan(tables.root, .pml4)
        return found
    }

    func rootIsEmpty() -> Bool {
        (0..<512).allSatisfy { ram.read64(tables.root + UInt64($0) * 8) == 0 }
    }
}

/// The page-table error `body` throws, or nil. (Closures here are inferred as untyped
/// throws, so the typed error is recovered by a cast; nothing else can be thrown.)
private func thrown(_ body: () throws -> Void) -> PageTableError? {
    do { try body() } catch let error as PageTableError { return error } catch { XCTFail("unexpected \(error)") }
    return nil
}

final class PageTableTests: XCTestCase {
    // MARK: entries, levels, sizes

    func testFlagBitsAreIntelPositions() {
        let expected: [(PTEFlags, UInt64)] = [
            (.present, 0x1), (.writable, 0x2), (.user, 0x4), (.writeThrough, 0x8), (.cacheDisable, 0x10),
            (.accessed, 0x20), (.dirty, 0x40), (.huge, 0x80), (.global, 0x100), (.noExecute, 1 << 63),
        ]
        for (flag, bit) in expected { XCTAssertEqual(flag.rawValue, bit) }
    }

    func testEntryPacksFrameAndFlagsAndKeepsSoftwareBits() {
        let e = PageTableEntry(frame: PhysAddr(0x1234_5000), flags: [.present, .writable, .noExecute])
        XCTAssertEqual(e.raw, 0x8000_0000_1234_5003)
        XCTAssertEqual(e.frame, PhysAddr(0x1234_5000))
        XCTAssertEqual(e.flags, [.present, .writable, .noExecute])
        XCTAssertTrue(e.isPresent)
        XCTAssertFalse(e.isNone)
        let soft = PageTableEntry(raw: e.raw | 1 << 9 | 1 << 52)
        XCTAssertEqual(soft.frame, e.frame)
        XCTAssertEqual(soft.flags.rawValue, e.flags.rawValue | 1 << 9 | 1 << 52)
        XCTAssertTrue(PageTableEntry.none.isNone)
        XCTAssertFalse(PageTableEntry(raw: 1 << 9).isPresent)
    }

    func testEntryLeafOrTableDependsOnLevel() {
        let table = PageTableEntry(frame: PhysAddr(0x5000), flags: [.present, .writable])
        let huge = PageTableEntry(frame: PhysAddr(0x20_0000), flags: [.present, .huge])
        XCTAssertEqual(table.nextTable(at: .pd), PhysAddr(0x5000))
        XCTAssertNil(table.pageSize(at: .pd))
        XCTAssertEqual(table.pageSize(at: .pt), .size4K)
        XCTAssertNil(table.nextTable(at: .pt))
        XCTAssertEqual(huge.pageSize(at: .pd), .size2M)
        XCTAssertEqual(huge.pageSize(at: .pdpt), .size1G)
        XCTAssertNil(huge.nextTable(at: .pd))
        XCTAssertNil(PageTableEntry(raw: 0x5002).nextTable(at: .pd), "not present")
    }

    func testIndexExtractionAtEveryLevel() {
        let v = VirtAddr(3 << 39 | 5 << 30 | 7 << 21 | 9 << 12 | 0x123)
        XCTAssertEqual(PageTableLevel.pml4.index(of: v), 3)
        XCTAssertEqual(PageTableLevel.pdpt.index(of: v), 5)
        XCTAssertEqual(PageTableLevel.pd.index(of: v), 7)
        XCTAssertEqual(PageTableLevel.pt.index(of: v), 9)
        XCTAssertEqual(PageTableLevel.pml4.index(of: VirtAddr(0xffff_ff80_0000_0000)), 511)
        XCTAssertEqual(PageTableLevel.pml4.index(of: VirtAddr(0xffff_8000_0000_0000)), 256)
        XCTAssertEqual(PageTableLevel.pd.entrySpan, PageSize.size2M.bytes)
        XCTAssertEqual(PageTableLevel.pdpt.entrySpan, PageSize.size1G.bytes)
        XCTAssertEqual(KernelLayout.kernelPML4Slots, 254...255)
        for size in [PageSize.size4K, .size2M, .size1G] { XCTAssertEqual(size.level.leafSize, size) }
        XCTAssertNil(PageTableLevel.pml4.leafSize)
    }

    func testSimulatedRAMIsLittleEndianAndAllocatorPoisons() {
        let ram = SimulatedRAM(frames: 4, base: PhysAddr(0x10_0000))
        ram.write64(PhysAddr(0x10_0008), 0x0102_0304_0506_0708)
        XCTAssertEqual(ram.readBytes(PhysAddr(0x10_0008), count: 2), [0x08, 0x07])
        ram.writeBytes(PhysAddr(0x10_0010), [0xff, 0xee])
        XCTAssertEqual(ram.read64(PhysAddr(0x10_0010)), 0xeeff)
        var allocator = SimulatedFrameAllocator(ram: ram, remainingAllocations: 3)
        let frame = allocator.allocateFrame()
        XCTAssertEqual(frame, PhysAddr(0x10_0000), "lowest frame first")
        XCTAssertEqual(ram.read64(PhysAddr(0x10_0008)), 0xa5a5_a5a5_a5a5_a5a5, "handed out poisoned")
        ram.zeroFrame(PhysAddr(0x10_0000))
        XCTAssertEqual(ram.readBytes(PhysAddr(0x10_0000), count: 4096), Array(repeating: 0, count: 4096))
        XCTAssertNotNil(allocator.allocateFrame())
        XCTAssertNotNil(allocator.allocateFrame())
        XCTAssertNil(allocator.allocateFrame(), "limit reached")
        XCTAssertEqual(allocator.allocatedCount, 3)
        allocator.freeFrame(PhysAddr(0x10_0000))
        XCTAssertEqual(allocator.allocatedCount, 2)
    }

    // MARK: map / translate

    func testMapTranslateRoundTripAtEverySize() throws {
        var f = Fixture()
        try f.map(0x40_1000, 0x7000)
        try f.map(0x60_0000, 0x80_0000, .size2M, [.writable])
        try f.map(0x80_0000_0000, 0x4000_0000, .size1G, [.user, .noExecute])

        let small = try XCTUnwrap(f.tables.translate(VirtAddr(0x40_1abc)))
        XCTAssertEqual(small.phys, PhysAddr(0x7abc))
        XCTAssertEqual(small.flags, [.present, .user, .writable])
        XCTAssertEqual(small.size, .size4K)

        let mid = try XCTUnwrap(f.tables.translate(VirtAddr(0x60_0000 + 0x12_3456)))
        XCTAssertEqual(mid.phys, PhysAddr(0x80_0000 + 0x12_3456))
        XCTAssertEqual(mid.flags, [.present, .writable, .huge])
        XCTAssertEqual(mid.size, .size2M)

        let big = try XCTUnwrap(f.tables.translate(VirtAddr(0x80_0000_0000 + 0x3fff_ffff)))
        XCTAssertEqual(big.phys, PhysAddr(0x7fff_ffff))
        XCTAssertEqual(big.flags, [.present, .user, .noExecute, .huge])
        XCTAssertEqual(big.size, .size1G)

        // Neighbours stay unmapped; the allocator poisons frames, so this also proves new tables are zeroed.
        for v: UInt64 in [0, 0x40_0000, 0x40_2000, 0x5f_ffff, 0x80_0000, 0x80_0000_0000 - 1, 0x80_4000_0000] {
            XCTAssertNil(f.phys(v), "0x\(String(v, radix: 16))")
        }
        XCTAssertEqual(f.leaves().count, 3)
    }

    func testHugeFlagFollowsSizeNotCaller() throws {
        var f = Fixture()
        try f.map(0x1000, 0x2000, .size4K, [.writable, .huge])   // bit 7 would be PAT in a PT entry
        XCTAssertEqual(f.tables.translate(VirtAddr(0x1000))?.flags, [.present, .writable])
    }

    func testIntermediateEntriesArePermissiveAndWidenedForUserLeaves() throws {
        var f = Fixture()
        try f.map(0x1000, 0x5000, .size4K, [.writable])          // kernel leaf: tables without U
        let pml4e = PageTableEntry(raw: f.ram.read64(f.tables.root))
        XCTAssertEqual(pml4e.flags, [.present, .writable])
        try f.map(0x2000, 0x6000, .size4K, [.user])               // user leaf below the same tables
        var entry = pml4e
        for level in [PageTableLevel.pml4, .pdpt, .pd] {
            let table = level == .pml4 ? f.tables.root : entry.frame
            entry = PageTableEntry(raw: f.ram.read64(table + UInt64(level.index(of: VirtAddr(0x2000))) * 8))
            XCTAssertEqual(entry.flags, [.present, .writable, .user], "\(level)")
        }
        XCTAssertEqual(f.tables.translate(VirtAddr(0x1000))?.flags, [.present, .writable], "leaf still decides")
    }

    func testMapErrors() throws {
        var f = Fixture()
        try f.map(0x20_1000, 0x1000)
        try f.map(0x40_0000, 0x20_0000, .size2M)
        XCTAssertEqual(thrown { try f.map(0x20_1000, 0x9000) }, .alreadyMapped)
        XCTAssertEqual(thrown { try f.map(0x40_3000, 0x9000) }, .alreadyMapped, "inside a huge page")
        XCTAssertEqual(thrown { try f.map(0x20_0000, 0x60_0000, .size2M) }, .alreadyMapped, "over a live PT")
        XCTAssertEqual(thrown { try f.map(0, 0, .size1G) }, .alreadyMapped, "over a live PD")
        XCTAssertEqual(thrown { try f.map(0x1800, 0x1000) }, .misaligned)
        XCTAssertEqual(thrown { try f.map(0x1000, 0x1234) }, .misaligned)
        XCTAssertEqual(thrown { try f.map(0x60_0000, 0x1000, .size2M) }, .misaligned, "phys not 2 MiB aligned")
        XCTAssertEqual(thrown { try f.map(0x20_0000, 0, .size1G) }, .misaligned)
        XCTAssertEqual(thrown { try f.map(0x0000_8000_0000_0000, 0x1000) }, .nonCanonical)
        XCTAssertEqual(thrown { try f.map(0xffff_0000_0000_0000, 0x1000) }, .nonCanonical)
        XCTAssertNil(f.tables.translate(VirtAddr(0x0000_8000_0000_1000)))
        XCTAssertEqual(f.phys(0x20_1000), 0x1000, "failed maps changed nothing")
        XCTAssertEqual(f.leaves().count, 2)
    }

    func testUpperCanonicalHalfWorks() throws {
        var f = Fixture()
        try f.map(0xffff_8000_0000_0000, 0x3000, .size4K, [.writable])
        XCTAssertEqual(f.phys(0xffff_8000_0000_0010), 0x3010)
        XCTAssertEqual(f.leaves().map(\.virt), [VirtAddr(0xffff_8000_0000_0000)])
    }

    // MARK: out of memory

    func testOutOfFramesLeavesNoHalfBuiltTables() {
        for tablesAvailable in 0..<3 {   // a fresh 4 KiB mapping needs a PDPT, a PD and a PT
            var f = Fixture(allocationLimit: 1 + tablesAvailable)
            XCTAssertEqual(thrown { try f.map(0x40_0000, 0x1000) }, .outOfMemory)
            XCTAssertEqual(f.allocator.allocatedCount, 1, "only the root is left")
            XCTAssertTrue(f.rootIsEmpty())
        }
    }

    func testOutOfFramesKeepsExistingTables() throws {
        var f = Fixture(allocationLimit: 1 + 3 + 2)
        try f.map(0x1000, 0x1000)
        // Same PDPT, new PD index: needs a PD and a PT (2 frames) — succeeds.
        try f.map(0x4000_0000, 0x2000)
        // Another PML4 slot needs three tables; none left.
        XCTAssertEqual(thrown { try f.map(1 << 39, 0x3000) }, .outOfMemory)
        // New PT under an existing PD; none left either.
        XCTAssertEqual(thrown { try f.map(0x20_0000, 0x3000) }, .outOfMemory)
        XCTAssertEqual(f.allocator.allocatedCount, 6)
        XCTAssertEqual(f.reachableTables(), f.allocator.allocated)
        XCTAssertEqual(f.phys(0x1000), 0x1000)
        XCTAssertEqual(f.phys(0x4000_0000), 0x2000)
        try f.map(0x3000, 0x3000)   // existing tables still usable without new frames
    }

    // MARK: unmap and table freeing

    func testUnmapReturnsTheOldEntry() throws {
        var f = Fixture()
        try f.map(0x7000, 0xabc000, .size4K, [.user, .noExecute])
        let leaf = try f.unmap(0x7000)
        XCTAssertEqual(leaf.virt, VirtAddr(0x7000))
        XCTAssertEqual(leaf.size, .size4K)
        XCTAssertEqual(leaf.entry.frame, PhysAddr(0xabc000))
        XCTAssertEqual(leaf.entry.flags, [.present, .user, .noExecute])
        XCTAssertNil(f.phys(0x7000))
        XCTAssertEqual(thrown { try f.unmap(0x7000) }, .notMapped)
        XCTAssertEqual(thrown { try f.unmap(0x7100) }, .misaligned)
        XCTAssertEqual(thrown { try f.unmap(0x0000_8000_0000_0000) }, .nonCanonical)

        try f.map(0x4000_0000, 0x4000_0000, .size1G)
        let huge = try f.unmap(0x4000_0000)
        XCTAssertEqual(huge.size, .size1G)
        XCTAssertEqual(huge.entry.frame, PhysAddr(0x4000_0000))
    }

    func testUnmapFreesEveryEmptyTable() throws {
        var f = Fixture()
        let pages: [UInt64] = [0x1000, 0x2000, 0x20_0000, 0x4000_0000, 1 << 39, 3 << 39 | 0x7000]
        for (i, v) in pages.enumerated() { try f.map(v, UInt64(i + 1) << 12) }
        // root; slot 0: PDPT, 2 PDs, 3 PTs; slots 1 and 3: PDPT, PD, PT each.
        XCTAssertEqual(f.allocator.allocatedCount, 1 + 6 + 3 + 3)
        XCTAssertEqual(f.reachableTables(), f.allocator.allocated)
        try f.unmap(0x1000)
        XCTAssertEqual(f.allocator.allocatedCount, 13, "PT still maps 0x2000")
        XCTAssertEqual(f.phys(0x2000), 0x2000)
        for v in pages.dropFirst() { try f.unmap(v) }
        XCTAssertEqual(f.allocator.allocatedCount, 1)
        XCTAssertTrue(f.rootIsEmpty())
    }

    func testUnmapWithoutFreeingKeepsTablesForReuse() throws {
        var f = Fixture()
        try f.map(0x1000, 0x1000)
        try f.unmap(0x1000, free: false)
        XCTAssertEqual(f.allocator.allocatedCount, 4)
        try f.map(0x5000, 0x1000)
        XCTAssertEqual(f.allocator.allocatedCount, 4, "reused the empty tables")
        try f.unmap(0x5000, free: false)
        // A huge page may replace the empty PT (and a 1 GiB page the PD) left behind.
        try f.map(0, 0, .size2M)
        XCTAssertEqual(f.allocator.allocatedCount, 3)
        try f.unmap(0, free: false)
        try f.map(0, 0, .size1G)
        XCTAssertEqual(f.allocator.allocatedCount, 2)
        try f.unmap(0)
        XCTAssertEqual(f.allocator.allocatedCount, 1)
    }

    // MARK: protect

    func testProtectChangesRightsAndKeepsFrameOwnershipAndCPUBits() throws {
        var f = Fixture()
        try f.map(0x9000, 0x3000, .size4K, userRW)
        // The CPU would set accessed and dirty; do it behind the walker's back.
        let slot = try XCTUnwrap(f.tables.findLeaf(VirtAddr(0x9000))).slot
        f.ram.write64(slot, f.ram.read64(slot) | PTEFlags([.accessed, .dirty]).rawValue)

        let old = try f.tables.protect(VirtAddr(0x9000), flags: [.noExecute])
        XCTAssertEqual(old.entry.flags, [.present, .user, .writable, .accessed, .dirty])
        let now = try XCTUnwrap(f.tables.translate(VirtAddr(0x9000)))
        XCTAssertEqual(now.phys, PhysAddr(0x3000))
        XCTAssertEqual(now.flags, [.present, .user, .noExecute, .accessed, .dirty])

        try f.map(0x20_0000, 0x40_0000, .size2M, [.writable])
        try f.tables.protect(VirtAddr(0x20_0000), flags: [.user, .global])
        XCTAssertEqual(f.tables.translate(VirtAddr(0x20_0000))?.flags, [.present, .huge, .global],
                       "kernel page stays kernel, huge stays huge")
        XCTAssertEqual(thrown { try f.tables.protect(VirtAddr(0x20_1000), flags: []) }, .hugePageSplitUnsupported)
        XCTAssertEqual(thrown { try f.tables.protect(VirtAddr(0x8000), flags: []) }, .notMapped)
        XCTAssertEqual(thrown { try f.tables.protect(VirtAddr(0x9008), flags: []) }, .misaligned)
        XCTAssertEqual(thrown { try f.tables.protect(VirtAddr(1 << 47), flags: []) }, .nonCanonical)
    }

    func testReplaceFrameClearsFlushesThenMapsTheCopy() throws {
        var f = Fixture()
        try f.map(0x9000, 0x3000, .size4K, [.user])                     // read-only, as after fork
        let slot = try XCTUnwrap(f.tables.findLeaf(VirtAddr(0x9000))).slot
        f.ram.write64(slot, f.ram.read64(slot) | PTEFlags([.accessed]).rawValue)
        var seenDuringFlush: UInt64 = 1
        let old = try f.tables.replaceFrame(VirtAddr(0x9000), with: PhysAddr(0x7000), flags: [.writable, .noExecute]) {
            seenDuringFlush = f.ram.read64(slot)
        }
        XCTAssertEqual(seenDuringFlush, 0, "the entry is clear while stale TLB entries are flushed")
        XCTAssertEqual(old.entry.frame, PhysAddr(0x3000))
        let now = try XCTUnwrap(f.tables.translate(VirtAddr(0x9000)))
        XCTAssertEqual(now.phys, PhysAddr(0x7000))
        XCTAssertEqual(now.flags, [.present, .user, .writable, .noExecute], "user kept, accessed bit not carried to the copy")

        try f.map(0x20_0000, 0x40_0000, .size2M, [.user])
        XCTAssertEqual(thrown { try f.tables.replaceFrame(VirtAddr(0x20_0000), with: PhysAddr(0x7000), flags: []) {} },
                       .hugePageSplitUnsupported)
        XCTAssertEqual(thrown { try f.tables.replaceFrame(VirtAddr(0x8000), with: PhysAddr(0x7000), flags: []) {} }, .notMapped)
        XCTAssertEqual(thrown { try f.tables.replaceFrame(VirtAddr(0x9000), with: PhysAddr(0x7008), flags: []) {} }, .misaligned)
    }

    /// Copy-on-write copies without the page-table lock, then replaces the entry
    /// only if it still maps what was copied (Linux: pte_same()).
    func testReplaceFrameExpectingTheEntryItSaw() throws {
        var f = Fixture()
        try f.map(0x9000, 0x3000, .size4K, [.user])
        let seen = try XCTUnwrap(f.tables.findLeaf(VirtAddr(0x9000))).leaf.entry
        var flushed = 0
        // Another CPU broke the sharing first: the entry maps its copy, writable.
        try f.tables.replaceFrame(VirtAddr(0x9000), with: PhysAddr(0x5000), flags: [.writable]) { flushed += 1 }
        XCTAssertEqual(thrown { try f.tables.replaceFrame(VirtAddr(0x9000), expecting: seen, with: PhysAddr(0x7000),
                                                          flags: [.writable]) { flushed += 1 } }, .changed)
        XCTAssertEqual(flushed, 1, "a refused replacement neither clears nor flushes")
        XCTAssertEqual(f.tables.translate(VirtAddr(0x9000))?.phys, PhysAddr(0x5000), "the winner's copy stays")
        // Same frame but made writable meanwhile (a reuse): refused too.
        try f.tables.protect(VirtAddr(0x9000), flags: [.user])
        try f.tables.replaceFrame(VirtAddr(0x9000), with: PhysAddr(0x3000), flags: [.writable]) {}
        XCTAssertEqual(thrown { try f.tables.replaceFrame(VirtAddr(0x9000), expecting: seen, with: PhysAddr(0x7000),
                                                          flags: [.writable]) {} }, .changed)
        // Unmapped meanwhile: changed, not "not mapped" (the caller saw an entry).
        XCTAssertEqual(thrown { try f.tables.replaceFrame(VirtAddr(0xa000), expecting: seen, with: PhysAddr(0x7000),
                                                          flags: [.writable]) {} }, .changed)
        // Still what it saw: replaced.
        try f.tables.protect(VirtAddr(0x9000), flags: [.user])
        let now = try XCTUnwrap(f.tables.findLeaf(VirtAddr(0x9000))).leaf.entry
        try f.tables.replaceFrame(VirtAddr(0x9000), expecting: now, with: PhysAddr(0x7000), flags: [.writable]) {}
        XCTAssertEqual(f.tables.translate(VirtAddr(0x9000))?.phys, PhysAddr(0x7000))
    }

    func testPartOfHugePageIsATypedError() throws {
        var f = Fixture()
        try f.map(0x4000_0000, 0, .size1G)
        XCTAssertEqual(thrown { try f.unmap(0x4020_0000) }, .hugePageSplitUnsupported)
        XCTAssertEqual(thrown { try f.unmap(0x4000_1000) }, .hugePageSplitUnsupported)
        XCTAssertEqual(f.phys(0x4020_0000), 0x20_0000, "still mapped")
    }

    // MARK: walking

    func testForEachLeafVisitsExactlyTheMappedPagesInOrder() throws {
        var f = Fixture()
        let mapped: [(UInt64, PageSize)] = [
            (0xffff_ff80_0000_1000, .size4K), (0x3000, .size4K), (0x1000, .size4K), (253 << 39, .size4K),
            (0x40_0000, .size2M), (0x4000_0000, .size1G),
        ]
        for (v, size) in mapped { try f.map(v, v & 0xf_ffff_ffff, size) }
        XCTAssertEqual(f.leaves().map(\.virt.value),
                       [0x1000, 0x3000, 0x40_0000, 0x4000_0000, 253 << 39, 0xffff_ff80_0000_1000])
        XCTAssertEqual(f.leaves().map(\.size), [.size4K, .size4K, .size2M, .size1G, .size4K, .size4K])
        XCTAssertEqual(f.leaves().map(\.entry.frame.value), [0x1000, 0x3000, 0x40_0000, 0x4000_0000, 0, 0x1000])

        func visited(_ lo: UInt64, _ hi: UInt64) -> [UInt64] { f.leaves(VirtAddr(lo)..<VirtAddr(hi)).map(\.virt.value) }
        XCTAssertEqual(visited(0x2000, 0x40_1000), [0x3000, 0x40_0000])
        XCTAssertEqual(visited(0x1000, 0x3000), [0x1000])
        XCTAssertEqual(visited(0x50_0000, 0x50_1000), [0x40_0000], "straddling huge page visited whole")
        XCTAssertEqual(visited(0x4000, 0x40_0000), [])
        XCTAssertEqual(visited(0x3000, 0x3000), [])
        XCTAssertEqual(visited(0x7000_0000_0000, 0x8000_0000_0000), [253 << 39])
        XCTAssertEqual(visited(KernelLayout.taskSize, UInt64.max), [0xffff_ff80_0000_1000])
    }

    func testForEachLeafStopsOnThrowAndAllowsRewritingTheLeaf() throws {
        struct Stop: Error {}
        var f = Fixture()
        for v: UInt64 in [0x1000, 0x2000, 0x3000] { try f.map(v, v) }
        var seen = 0
        XCTAssertThrowsError(try f.tables.forEachLeaf(in: everything) { (_: PageTableLeaf) throws(Stop) in
            seen += 1
            throw Stop()
        })
        XCTAssertEqual(seen, 1)
        // fork's copy_page_range write-protects each parent PTE as it walks.
        try f.tables.forEachLeaf(in: everything) { (leaf: PageTableLeaf) throws(PageTableError) in
            try f.tables.protect(leaf.virt, flags: leaf.entry.flags.subtracting(.writable))
        }
        XCTAssertEqual(f.leaves().map(\.entry.flags), Array(repeating: [.present, .user], count: 3))
    }

    // MARK: kernel half and the direct map

    func testMapRangeUsesTheLargestPagesThatFit() throws {
        var f = Fixture()
        let base = KernelLayout.pageOffset
        let flags: PTEFlags = [.writable, .global, .noExecute]
        try f.tables.mapRange(VirtAddr(base), to: PhysAddr(0), length: 2 << 30 | 0x20_0000 | 0x2000,
                              flags: flags, largestPage: .size1G, allocator: &f.allocator)
        XCTAssertEqual(f.leaves().map(\.size), [.size1G, .size1G, .size2M, .size4K, .size4K])
        XCTAssertEqual(f.phys(base + 0x7654_3210), 0x7654_3210)
        XCTAssertEqual(f.phys(base + (2 << 30) + 0x20_1fff), (2 << 30) + 0x20_1fff)
        XCTAssertNil(f.phys(base + (2 << 30) + 0x20_2000))

        var g = Fixture()
        try g.tables.mapRange(VirtAddr(base), to: PhysAddr(0), length: 1 << 30, flags: flags,
                              largestPage: .size2M, allocator: &g.allocator)
        XCTAssertEqual(g.leaves().count, 512)
        XCTAssertTrue(g.leaves().allSatisfy { $0.size == .size2M })

        var h = Fixture()   // phys only 4 KiB aligned relative to virt: 4 KiB pages only
        try h.tables.mapRange(VirtAddr(base), to: PhysAddr(0x1000), length: 0x40_0000, flags: flags,
                              largestPage: .size1G, allocator: &h.allocator)
        XCTAssertEqual(h.leaves().count, 1024)
        XCTAssertEqual(h.phys(base + 0x3f_f123), 0x40_0123)
        XCTAssertEqual(thrown { try h.tables.mapRange(VirtAddr(base), to: PhysAddr(0), length: 0x800, flags: flags,
                                                       largestPage: .size4K, allocator: &h.allocator) }, .misaligned)
    }

    func testMapRangeIsAllOrNothing() {
        // root + PDPT + PD are enough for the 2 MiB pages; the 4 KiB tail needs a PT that is not there.
        // (A user-half address: under a kernel slot the PDPT would rightly stay.)
        var f = Fixture(allocationLimit: 3)
        let error = thrown {
            try f.tables.mapRange(VirtAddr(0x4000_0000), to: PhysAddr(0), length: 0x40_1000,
                                  flags: [.writable], largestPage: .size2M, allocator: &f.allocator)
        }
        XCTAssertEqual(error, .outOfMemory)
        XCTAssertEqual(f.leaves().count, 0)
        XCTAssertEqual(f.allocator.allocatedCount, 1)
    }

    func testEveryProcessSharesTheKernelHalf() throws {
        var f = Fixture()
        let kernel = f.tables
        try kernel.populateKernelSlots(allocator: &f.allocator)
        XCTAssertEqual(f.allocator.allocatedCount, 3)
        try kernel.mapRange(VirtAddr(KernelLayout.pageOffset), to: PhysAddr(0), length: 0x40_0000,
                            flags: [.writable, .noExecute], largestPage: .size2M, allocator: &f.allocator)
        let process = try XCTUnwrap(PageTable(memory: f.ram, allocator: &f.allocator))
        process.copyKernelEntries(from: kernel)

        let direct = VirtAddr(KernelLayout.pageOffset + 0x12_3456)
        XCTAssertEqual(process.translate(direct)?.phys, PhysAddr(0x12_3456))
        // A kernel mapping made after the copy shows up in the process too (shared PDPT).
        try kernel.map(VirtAddr(KernelLayout.vmallocStart), to: PhysAddr(0x9000), size: .size4K,
                       flags: [.writable, .noExecute], allocator: &f.allocator)
        XCTAssertEqual(process.translate(VirtAddr(KernelLayout.vmallocStart))?.phys, PhysAddr(0x9000))
        // User mappings stay private.
        try process.map(VirtAddr(0x40_0000), to: PhysAddr(0x5000), size: .size4K, flags: userRW, allocator: &f.allocator)
        XCTAssertNil(kernel.translate(VirtAddr(0x40_0000)))
        for slot in KernelLayout.kernelPML4Slots {
            let e = PageTableEntry(raw: f.ram.read64(process.root + UInt64(slot) * 8))
            XCTAssertEqual(e.flags, [.present, .writable], "kernel slots have U/S = 0")
        }
        // Emptying the vmalloc area through the process must not free the shared PDPT.
        try process.unmap(VirtAddr(KernelLayout.vmallocStart), freeEmptyTables: true, allocator: &f.allocator)
        XCTAssertNil(kernel.translate(VirtAddr(KernelLayout.vmallocStart)))
        let slot255 = UInt64(255 * 8)
        XCTAssertTrue(PageTableEntry(raw: f.ram.read64(kernel.root + slot255)).isPresent)
        XCTAssertEqual(f.ram.read64(kernel.root + slot255), f.ram.read64(process.root + slot255))
        XCTAssertTrue(f.allocator.allocated.contains(PageTableEntry(raw: f.ram.read64(kernel.root + slot255)).frame))
    }

    // MARK: randomized against a reference model

    func testRandomOperationsAgreeWithDictionaryModel() throws {
        struct Mapping { var phys: UInt64; var size: PageSize; var flags: PTEFlags }
        var rng = SplitMix64(state: 0x6b65_656c_7067_7421)
        var f = Fixture(frames: 256)
        var model: [UInt64: Mapping] = [:]
        // Two gigabytes in each of five PML4 slots, lower and upper half, so ops collide often.
        let regions: [UInt64] = [0, 1 << 39, 253 << 39, 0xffff_8000_0000_0000, 0xffff_ff80_0000_0000]
        func mapping(covering v: UInt64) -> (UInt64, Mapping)? {
            model.first { v >= $0.key && v - $0.key < $0.value.size.bytes }.map { ($0.key, $0.value) }
        }
        func randomAddress(_ size: PageSize) -> UInt64 {
            var v = regions[Int(rng.below(UInt64(regions.count)))] + rng.below(2) << 30
            if size < .size1G { v += rng.below(4) << 21 }
            if size < .size2M { v += rng.below(8) << 12 }
            return v
        }
        func check(_ v: UInt64, _ context: @autoclosure () -> String) {
            let got = f.tables.translate(VirtAddr(v))
            if let (start, m) = mapping(covering: v) {
                XCTAssertEqual(got?.phys.value, m.phys + (v - start), context())
                XCTAssertEqual(got?.flags, m.flags, context())
                XCTAssertEqual(got?.size, m.size, context())
            } else {
                XCTAssertNil(got, context())
            }
        }

        for step in 0..<2000 {
            let roll = rng.below(100)
            let size: PageSize = rng.chance(70) ? .size4K : rng.chance(60) ? .size2M : .size1G
            var v = randomAddress(size)
            if roll < 47 {
                let phys = rng.below(1 << 40) & ~(size.bytes - 1)
                var flags: PTEFlags = .present
                if rng.chance(50) { flags.insert(.user) }
                if rng.chance(50) { flags.insert(.writable) }
                if rng.chance(30) { flags.insert(.noExecute) }
                let overlaps = model.contains { $0.key < v + size.bytes && v < $0.key + $0.value.size.bytes }
                let error = thrown { try f.map(v, phys, size, flags) }
                XCTAssertEqual(error, overlaps ? .alreadyMapped : nil, "step \(step) map")
                if !overlaps { model[v] = Mapping(phys: phys, size: size, flags: size == .size4K ? flags : flags.union(.huge)) }
            } else if roll < 85 {
                if rng.chance(70), let key = model.keys.sorted()[safe: Int(rng.below(UInt64(max(model.count, 1))))] {
                    v = key
                }
                let expected: PageTableError? = model[v] != nil ? nil
                    : mapping(covering: v) != nil ? .hugePageSplitUnsupported : .notMapped
                var leaf: PageTableLeaf?
                let error = thrown { leaf = try f.unmap(v, free: rng.chance(50)) }
                XCTAssertEqual(error, expected, "step \(step) unmap")
                if let m = model.removeValue(forKey: v) {
                    XCTAssertEqual(leaf?.entry.frame.value, m.phys)
                    XCTAssertEqual(leaf?.size, m.size)
                }
            } else {
                if let key = model.keys.sorted()[safe: Int(rng.below(UInt64(max(model.count, 1))))] { v = key }
                var requested: PTEFlags = []
                if rng.chance(50) { requested.insert(.writable) }
                if rng.chance(50) { requested.insert(.noExecute) }
                if rng.chance(50) { requested.insert(.user) }   // ignored: ownership is fixed
                let expected: PageTableError? = model[v] != nil ? nil
                    : mapping(covering: v) != nil ? .hugePageSplitUnsupported : .notMapped
                XCTAssertEqual(thrown { try f.tables.protect(VirtAddr(v), flags: requested) }, expected, "step \(step) protect")
                if var m = model[v] {
                    m.flags = requested.subtracting(.user).union(m.flags.intersection([.user, .huge])).union(.present)
                    model[v] = m
                }
            }
            check(v, "step \(step) at op address")
            for _ in 0..<3 {
                let probe = randomAddress(.size4K) + rng.below(pageSize)
                check(probe, "step \(step) probe 0x\(String(probe, radix: 16))")
            }
            // A leaked frame stays unreachable for good, so a periodic check catches every leak.
            if step % 25 == 0 || step == 1999 {
                XCTAssertEqual(f.reachableTables(), f.allocator.allocated, "step \(step): table frames leaked")
            }
        }

        XCTAssertGreaterThan(model.count, 20, "the sequence should leave a populated address space")
        let walked = f.leaves()
        XCTAssertEqual(walked.map(\.virt.value), model.keys.sorted())
        for leaf in walked {
            let m = try XCTUnwrap(model[leaf.virt.value])
            XCTAssertEqual(leaf.entry.frame.value, m.phys)
            XCTAssertEqual(leaf.entry.flags, m.flags)
            check(leaf.virt.value + leaf.size.bytes - 1, "last byte of 0x\(String(leaf.virt.value, radix: 16))")
        }
        for v in model.keys { try f.unmap(v) }
        // Tables emptied by unmaps that did not free them: a 1 GiB page replaces each subtree.
        for region in regions {
            for gig: UInt64 in 0..<2 {
                try f.map(region + gig << 30, 0, .size1G)
                try f.unmap(region + gig << 30)
            }
        }
        XCTAssertEqual(f.allocator.allocatedCount, 1)
        XCTAssertTrue(f.rootIsEmpty())
    }
}

private extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

final class PageTableBulkTests: XCTestCase {
    func testCopyLeavesBuildsTheSameTreeAndCanRewriteTheParent() throws {
        let ram = SimulatedRAM(frames: 256)
        var frames = SimulatedFrameAllocator(ram: ram)
        let parent = try XCTUnwrap(PageTable(memory: ram, allocator: &frames))
        let child = try XCTUnwrap(PageTable(memory: ram, allocator: &frames))
        let pages: [UInt64] = [0x40_0000, 0x40_1000, 0x60_0000, 0x7ef0_0000_0000, 0x1_0000_0000]
        for (i, va) in pages.enumerated() {
            try parent.map(VirtAddr(va), to: PhysAddr(0x10_0000 + UInt64(i) * 0x1000), size: .size4K,
                           flags: [.present, .user, .writable], allocator: &frames)
        }
        var seen = 0
        try parent.copyLeaves(VirtAddr(0)..<VirtAddr(KernelLayout.taskSize), into: child, allocator: &frames) { leaf in
            seen += 1
            var readOnly = leaf.entry
            readOnly = PageTableEntry(frame: readOnly.frame, flags: readOnly.flags.subtracting(.writable))
            return (readOnly, leaf.virt.value == 0x60_0000 ? nil : readOnly)
        }
        XCTAssertEqual(seen, pages.count)
        for (i, va) in pages.enumerated() {
            let c = try XCTUnwrap(child.translate(VirtAddr(va + 5)))
            XCTAssertEqual(c.phys, PhysAddr(0x10_0000 + UInt64(i) * 0x1000 + 5))
            XCTAssertFalse(c.flags.contains(.writable))
            let p = try XCTUnwrap(parent.translate(VirtAddr(va)))
            XCTAssertEqual(p.flags.contains(.writable), va == 0x60_0000, "only the parent leaf left alone stays writable")
        }
    }

    func testZapClearsTheRangeAndFreesEveryEmptiedTable() throws {
        let ram = SimulatedRAM(frames: 256)
        var frames = SimulatedFrameAllocator(ram: ram)
        let table = try XCTUnwrap(PageTable(memory: ram, allocator: &frames))
        let baseline = frames.allocatedCount
        for i in 0..<600 {             // spans two page tables
            try table.map(VirtAddr(0x40_0000 + UInt64(i) << 12), to: PhysAddr(0x10_0000), size: .size4K,
                          flags: [.present, .user], allocator: &frames)
        }
        try table.map(VirtAddr(0x7000_0000_0000), to: PhysAddr(0x10_0000), size: .size4K, flags: [.present, .user],
                      allocator: &frames)
        var zapped = 0
        table.zap(VirtAddr(0x40_0000)..<VirtAddr(0x40_0000 + 600 << 12), allocator: &frames) { _ in zapped += 1 }
        XCTAssertEqual(zapped, 600)
        XCTAssertNil(table.translate(VirtAddr(0x40_0000)))
        XCTAssertNotNil(table.translate(VirtAddr(0x7000_0000_0000)), "outside the range: kept")
        table.zap(VirtAddr(0)..<VirtAddr(KernelLayout.taskSize), allocator: &frames) { _ in zapped += 1 }
        XCTAssertEqual(zapped, 601)
        XCTAssertEqual(frames.allocatedCount, baseline, "every table page is back")
    }

    func testZapFreesOnlyTablesInsideTheTableSpan() throws {
        let ram = SimulatedRAM(frames: 64)
        var frames = SimulatedFrameAllocator(ram: ram)
        let table = try XCTUnwrap(PageTable(memory: ram, allocator: &frames))
        let baseline = frames.allocatedCount
        for i in 0..<3 {                // three pages in one page table (PT at 0x40_0000)
            try table.map(VirtAddr(0x40_0000 + UInt64(i) << 12), to: PhysAddr(0x10_0000), size: .size4K,
                          flags: [.present, .user], allocator: &frames)
        }
        let withTables = frames.allocatedCount
        XCTAssertEqual(withTables - baseline, 3, "a PDPT, a PD and a PT")
        var zapped: [VirtAddr] = []
        // The middle page, with neighbours on both sides: no table may go.
        table.zap(VirtAddr(0x40_1000)..<VirtAddr(0x40_2000), allocator: &frames) { zapped.append($0.virt) }
        XCTAssertEqual(zapped, [VirtAddr(0x40_1000)])
        XCTAssertEqual(frames.allocatedCount, withTables)
        XCTAssertNotNil(table.translate(VirtAddr(0x40_0000)))
        XCTAssertNotNil(table.translate(VirtAddr(0x40_2000)))
        // The first page, with the span reaching from 0 to the third page: the PT
        // still reaches past the span (the third page), so it stays.
        table.zap(VirtAddr(0x40_0000)..<VirtAddr(0x40_1000), freeingTablesIn: VirtAddr(0)..<VirtAddr(0x40_2000),
                  allocator: &frames) { zapped.append($0.virt) }
        XCTAssertEqual(frames.allocatedCount, withTables)
        // The last page, the span all of user space: every table goes.
        table.zap(VirtAddr(0x40_2000)..<VirtAddr(0x40_3000), freeingTablesIn: VirtAddr(0)..<VirtAddr(KernelLayout.taskSize),
                  allocator: &frames) { zapped.append($0.virt) }
        XCTAssertEqual(zapped, [VirtAddr(0x40_1000), VirtAddr(0x40_0000), VirtAddr(0x40_2000)])
        XCTAssertEqual(frames.allocatedCount, baseline, "PT, PD and PDPT are back")
        XCTAssertNil(table.translate(VirtAddr(0x40_2000)))
    }
}
