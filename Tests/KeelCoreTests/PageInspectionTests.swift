import XCTest
@testable import KeelCore

/// The pure half of /proc/<pid>/pagemap, /proc/kpageflags, /proc/kpagecount,
/// /proc/kpageorder and /proc/zoneinfo (Kernel/Core/Memory/PageInspection.swift).
final class PageInspectionTests: XCTestCase {
    // MARK: pagemap entries

    func testPresentEntryBitsAreLinuxs() {
        let e = PagemapEntry.present(pfn: 0x12345, showPFN: true, exclusive: true, fileOrShared: false, softDirty: false)
        XCTAssertEqual(e.rawValue, 0x8100_0000_0001_2345)      // bit 63 present, 56 exclusive
        XCTAssertTrue(e.isPresent)
        XCTAssertEqual(e.pfn, 0x12345)
        let shared = PagemapEntry.present(pfn: 7, showPFN: true, exclusive: false, fileOrShared: true, softDirty: true)
        XCTAssertEqual(shared.rawValue, 1 << 63 | 1 << 61 | 1 << 55 | 7)
    }

    func testHiddenPFNKeepsTheFlags() {
        let e = PagemapEntry.present(pfn: 0x12345, showPFN: false, exclusive: true, fileOrShared: true, softDirty: false)
        XCTAssertEqual(e.rawValue, 1 << 63 | 1 << 61 | 1 << 56)
        XCTAssertEqual(e.pfn, 0)
    }

    func testPFNIsCutTo55Bits() {
        let e = PagemapEntry.present(pfn: .max, showPFN: true, exclusive: false, fileOrShared: false, softDirty: false)
        XCTAssertEqual(e.pfn, (1 << 55) - 1)
        XCTAssertEqual(e.rawValue >> 55, 1 << 8)                 // only bit 63 above the PFN
    }

    func testNoneIsZeroAndUnusedBitsStayClear() {
        XCTAssertEqual(PagemapEntry.none.rawValue, 0)
        let all = PagemapEntry.present(pfn: 1, showPFN: true, exclusive: true, fileOrShared: true, softDirty: true)
        XCTAssertEqual(all.rawValue & (PagemapEntry.uffdWP | PagemapEntry.guardRegion | 3 << 59 | PagemapEntry.swapped), 0)
    }

    /// A swapped-out page: bit 62, type in bits 0-4, offset from bit 5, no
    /// present bit; hidden like a PFN. Linux: pte_to_pagemap_entry()
    func testSwappedEntry() {
        let e = PagemapEntry.swapped(SwapEntry(type: 3, offset: 0x1234), showPFN: true, file: false)
        XCTAssertEqual(e.rawValue, 1 << 62 | 0x1234 << 5 | 3)
        XCTAssertFalse(e.isPresent)
        XCTAssertEqual(PagemapEntry.swapped(SwapEntry(type: 3, offset: 0x1234), showPFN: false, file: false).rawValue, 1 << 62)
        let migrating = PagemapEntry.swapped(SwapEntry.migration(frame: PhysAddr(0x5000), writable: true), showPFN: true,
                                             file: true)
        XCTAssertEqual(migrating.rawValue, 1 << 62 | 1 << 61 | 5 << 5 | 31)
    }

    func testReadsMustBeWholeAlignedEntries() {
        XCTAssertTrue(PagemapEntry.checkAligned(count: 0, offset: 0))
        XCTAssertTrue(PagemapEntry.checkAligned(count: 4096, offset: 8 * 1000))
        XCTAssertFalse(PagemapEntry.checkAligned(count: 8, offset: 4))
        XCTAssertFalse(PagemapEntry.checkAligned(count: 12, offset: 0))
        XCTAssertFalse(PagemapEntry.checkAligned(count: 8, offset: -8))
    }

    func testOnlyRootSeesFrameNumbers() {
        XCTAssertTrue(PagemapEntry.mayShowPFN(openerUID: 0))
        XCTAssertFalse(PagemapEntry.mayShowPFN(openerUID: 1000))
    }

    // MARK: KPF from page state

    private func page(_ flags: PageFlags, mapcount: Int32 = 0, order: UInt32 = 0, mapping: UInt32 = 0) -> Page {
        var p = Page(flags: flags)
        p.mapcount = mapcount
        p.private = order
        p.mapping = mapping
        return p
    }

    private func kpf(_ bits: Int...) -> UInt64 { bits.reduce(0) { $0 | KPF.bit($1) } }

    func testKPFTruthTable() {
        let cases: [(String, Page, UInt64)] = [
            ("reserved", page(.reserved), kpf(KPF.reserved)),
            ("free block head", page(.buddy, order: 3), kpf(KPF.buddy)),
            ("free on a CPU's list", page(.perCPUList), 0),
            ("kernel page, order 0", page(.head), 0),
            ("kernel block head, order 2", page(.head, order: 2), kpf(KPF.compoundHead)),
            ("slab", page([.head, .slab]), kpf(KPF.slab)),
            ("page table", page([.head, .pageTable]), kpf(KPF.pageTable)),
            ("anonymous, mapped once", page([.head, .anon, .swapBacked], mapcount: 1),
             kpf(KPF.anon, KPF.swapBacked, KPF.mmap, KPF.uptodate)),
            ("anonymous, mapped twice", page([.head, .anon, .swapBacked], mapcount: 2),
             kpf(KPF.anon, KPF.swapBacked, KPF.mmap, KPF.uptodate)),
            // The cache's own reference is not a mapping: an unmapped cached page is not MMAP.
            ("page-cache page, cached only", page(.head, mapcount: 1, mapping: 7), kpf(KPF.uptodate)),
            ("page-cache page, mapped once", page(.head, mapcount: 2, mapping: 7), kpf(KPF.mmap, KPF.uptodate)),
            ("dirty page-cache page", page([.head, .dirty], mapcount: 1, mapping: 7), kpf(KPF.dirty, KPF.uptodate)),
            ("page-cache page under write-back", page([.head, .writeback], mapcount: 1, mapping: 7),
             kpf(KPF.writeback, KPF.uptodate)),
            ("shmem held by its file only", page([.head, .swapBacked], mapcount: 1, mapping: 7),
             kpf(KPF.swapBacked, KPF.uptodate)),
            ("shmem mapped once", page([.head, .swapBacked], mapcount: 2, mapping: 7),
             kpf(KPF.swapBacked, KPF.uptodate, KPF.mmap)),
            // Reclaim's state: the LRU flags; the swap cache's reference is not a mapping either.
            ("anonymous on the active list", page([.head, .anon, .swapBacked, .lru, .active], mapcount: 1, mapping: 3),
             kpf(KPF.anon, KPF.swapBacked, KPF.mmap, KPF.uptodate, KPF.lru, KPF.active)),
            ("inactive file page, referenced once", page([.head, .lru, .referenced], mapcount: 1, mapping: 7),
             kpf(KPF.lru, KPF.referenced, KPF.uptodate)),
            ("swap-cache page, unmapped", page([.head, .anon, .swapBacked, .swapCache], mapcount: 1, mapping: 3),
             kpf(KPF.anon, KPF.swapBacked, KPF.swapCache, KPF.uptodate)),
            ("swap-cache page, mapped once", page([.head, .anon, .swapBacked, .swapCache], mapcount: 2, mapping: 3),
             kpf(KPF.anon, KPF.swapBacked, KPF.swapCache, KPF.mmap, KPF.uptodate)),
            ("mlocked page", page([.head, .anon, .swapBacked, .lru, .unevictable], mapcount: 1, mapping: 3),
             kpf(KPF.anon, KPF.swapBacked, KPF.lru, KPF.unevictable, KPF.mmap, KPF.uptodate)),
        ]
        for (name, p, want) in cases {
            XCTAssertEqual(MemMapInspector.flags(of: p, isZeroPage: false, head: nil), want, name)
        }
        XCTAssertEqual(MemMapInspector.flags(of: page(.head), isZeroPage: true, head: nil), kpf(KPF.zeroPage, KPF.reserved))
    }

    func testTailsShowTheirBlock() {
        let tail = Page()
        XCTAssertEqual(MemMapInspector.flags(of: tail, isZeroPage: false, head: (page([.head, .slab], order: 2), 2)),
                       kpf(KPF.compoundTail, KPF.slab))
        XCTAssertEqual(MemMapInspector.flags(of: tail, isZeroPage: false, head: (page(.buddy, order: 2), 2)), 0,
                       "a free block's tail shows nothing, as Linux")
        XCTAssertEqual(MemMapInspector.flags(of: tail, isZeroPage: false, head: nil), 0)
    }

    func testMappingsLeaveOutThePageCachesReference() {
        XCTAssertEqual(MemMapInspector.mappings(of: page([.head, .anon, .swapBacked], mapcount: 3)), 3)
        XCTAssertEqual(MemMapInspector.mappings(of: page([.head, .swapBacked], mapcount: 3, mapping: 2)), 2)
        XCTAssertEqual(MemMapInspector.mappings(of: page(.head, mapcount: 1, mapping: 2)), 0)
        XCTAssertEqual(MemMapInspector.mappings(of: page(.head, mapcount: 0, mapping: 2)), 0)
    }

    // MARK: mem_map walks

    /// mem_map for frames 0..<2048, RAM 1..<0x9f and 0x100..<2000, all of it free
    /// (no zero page: its frame number is a hole's).
    private func machine() -> (BuddyMachine, MemMapInspector) {
        let m = BuddyMachine(endPFN: 2048, ranges: [BuddyRange(start: 1, end: 0x9f), BuddyRange(start: 0x100, end: 2000)])
        let ram = [PhysRange(PhysAddr(pfn: 1), PhysAddr(pfn: 0x9f)), PhysRange(PhysAddr(pfn: 0x100), PhysAddr(pfn: 2000))]
        return (m, MemMapInspector(memMap: m.buddy.memMap, ram: ram, zeroPagePFN: 2047))
    }

    func testHolesAndFramesPastTheEnd() {
        let (_, inspector) = machine()
        XCTAssertEqual(inspector.endPFN, 2048)
        let partial = MemMapInspector(memMap: inspector.memMap, ram: [PhysRange(PhysAddr(0x1800), PhysAddr(0x9_fc00))],
                                      zeroPagePFN: 2047)
        XCTAssertEqual(partial.flags(1), KPF.bit(KPF.noPage), "a frame only partly RAM is a hole")
        XCTAssertEqual(partial.flags(0x9f), KPF.bit(KPF.noPage), "a frame only partly RAM is a hole")
        XCTAssertNotEqual(partial.flags(2), KPF.bit(KPF.noPage))
        for pfn: UInt64 in [0, 0x9f, 0xff, 2000, 2047, 5000] {
            XCTAssertEqual(inspector.flags(pfn), KPF.bit(KPF.noPage), "pfn \(pfn)")
            XCTAssertEqual(inspector.count(pfn), 0)
            XCTAssertEqual(inspector.order(pfn), kpageorderNotFree)
        }
    }

    func testFreeBlocksHeadsTailsAndOrders() {
        let (m, inspector) = machine()
        // 0x100..<0x400 is one order-8 block at 0x100, one order-9 at 0x200 (greedy carving).
        XCTAssertEqual(inspector.flags(0x200), KPF.bit(KPF.buddy))
        XCTAssertEqual(inspector.order(0x200), 9)
        XCTAssertEqual(inspector.flags(0x2ff), 0, "a free tail")
        XCTAssertEqual(inspector.order(0x2ff), 9, "every frame of a free block has its order")
        var sum: UInt64 = 0
        for pfn in 0..<inspector.endPFN where inspector.flags(pfn) & KPF.bit(KPF.buddy) != 0 {
            sum += 1 << inspector.order(pfn)
        }
        XCTAssertEqual(Int(sum), m.buddy.freePages)
        var freeFrames = 0
        for pfn in 0..<inspector.endPFN where inspector.order(pfn) <= 10 { freeFrames += 1 }
        XCTAssertEqual(freeFrames, m.buddy.freePages)
    }

    func testAllocatedBlocksAndMappedPages() throws {
        let (m, inspector) = machine()
        let block = try XCTUnwrap(m.buddy.allocate(order: 2))
        let pfn = block.pfn
        XCTAssertEqual(inspector.flags(pfn), KPF.bit(KPF.compoundHead))
        XCTAssertEqual(inspector.flags(pfn + 3), KPF.bit(KPF.compoundTail))
        XCTAssertEqual(inspector.order(pfn), kpageorderNotFree)
        XCTAssertEqual(inspector.order(pfn + 3), kpageorderNotFree)
        let single = try XCTUnwrap(m.buddy.allocate(order: 0)).pfn
        let descriptor = m.buddy.memMap.page(single)
        descriptor.pointee.flags.formUnion([.anon, .swapBacked])
        descriptor.pointee.mapcount = 2
        XCTAssertEqual(inspector.flags(single), kpf(KPF.anon, KPF.swapBacked, KPF.mmap, KPF.uptodate))
        XCTAssertEqual(inspector.count(single), 2)
        descriptor.pointee = Page(flags: .perCPUList)
        XCTAssertEqual(inspector.order(single), kpageorderPerCPU)
        XCTAssertEqual(inspector.flags(single), 0)
        let zero = try XCTUnwrap(m.buddy.allocate(order: 0)).pfn
        m.buddy.memMap.page(zero).pointee.mapcount = 5
        let withZeroPage = MemMapInspector(memMap: m.buddy.memMap, ram: inspector.ram, zeroPagePFN: zero)
        XCTAssertEqual(withZeroPage.flags(zero), kpf(KPF.zeroPage, KPF.reserved))
        XCTAssertEqual(withZeroPage.count(zero), 0, "the zero page's mappings are not counted")
    }

    func testFillWritesLittleEndianWordsAndStopsAtTheEnd() {
        let (_, inspector) = machine()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        XCTAssertEqual(inspector.fill(buffer, from: 2044) { $0 }, 32)
        XCTAssertEqual(buffer.load(fromByteOffset: 8, as: UInt64.self), UInt64(2045).littleEndian)
        XCTAssertEqual(inspector.fill(buffer, from: 2048) { $0 }, 0)
        XCTAssertEqual(inspector.fill(buffer, from: 9999) { $0 }, 0)
        XCTAssertEqual(inspector.fill(buffer, from: 0) { _ in 7 }, 64)
    }

    // MARK: zoneinfo

    func testWatermarksFollowLinux() {
        // A quarter of min when that is more than 0.1% of the zone...
        XCTAssertEqual(ZoneInfo.watermarks(min: 400, managed: 10_000).low, 500)
        XCTAssertEqual(ZoneInfo.watermarks(min: 400, managed: 10_000).high, 600)
        // (the host's DMA zone: min 33 of 3840 managed gives low 41, high 49)
        XCTAssertEqual(ZoneInfo.watermarks(min: 33, managed: 3840).low, 41)
        XCTAssertEqual(ZoneInfo.watermarks(min: 33, managed: 3840).high, 49)
        // ...else 0.1% of the zone.
        XCTAssertEqual(ZoneInfo.watermarks(min: 10, managed: 1_000_000).low, 1010)
    }

    func testZoneSpanRunsFromFirstToLastFrameOfRAM() {
        // QEMU's 256 MiB: RAM 0..0x9fbff and 1 MiB..0xffdefff.
        let ram = [PhysRange(PhysAddr(0), PhysAddr(0x9_fc00)), PhysRange(PhysAddr(0x10_0000), PhysAddr(0xffd_f000))]
        let dma = ZoneInfo.span(ram: ram, lowPFN: 0, highPFN: ZoneType.dma.endPFN)
        XCTAssertEqual(dma.startPFN, 0)
        XCTAssertEqual(dma.spanned, 0x1000)
        XCTAssertEqual(dma.present, 0x9f + 0xf00)            // the partial frame at 0x9f is left out
        let dma32 = ZoneInfo.span(ram: ram, lowPFN: ZoneType.dma.endPFN, highPFN: ZoneType.dma32.endPFN)
        XCTAssertEqual(dma32.startPFN, 0x1000)
        XCTAssertEqual(dma32.spanned, 0xffdf - 0x1000)
        XCTAssertEqual(dma32.present, 0xffdf - 0x1000)
        let normal = ZoneInfo.span(ram: ram, lowPFN: ZoneType.dma32.endPFN, highPFN: ZoneType.normal.endPFN)
        XCTAssertEqual(normal.spanned, 0)
        XCTAssertEqual(normal.startPFN, 0)
    }

    func testZoneinfoLayout() {
        let zone = ZoneInfo(node: 1, name: "DMA32", freePages: 61234, min: 300, low: 375, high: 450, spanned: 61440,
                            present: 61406, managed: 60123, startPFN: 4096,
                            perCPU: [(count: 5, high: 32, batch: 8), (count: 0, high: 32, batch: 8)])
        var text = ""
        zone.write(to: &text)
        XCTAssertEqual(text, """
            Node 1, zone    DMA32
              pages free     61234
                    boost    0
                    min      300
                    low      375
                    high     450
                    spanned  61440
                    present  61406
                    managed  60123
                    cma      0
                    protection: (0, 0, 0, 0, 0)
                  nr_free_pages 61234
              pagesets
                cpu: 0
                          count: 5
                          high:  32
                          batch: 8
                cpu: 1
                          count: 0
                          high:  32
                          batch: 8
              node_unreclaimable:  0
              start_pfn:           4096

            """)
        var empty = ""
        ZoneInfo(node: 0, name: "Normal", freePages: 0, min: 0, low: 0, high: 0, spanned: 0, present: 0, managed: 0, startPFN: 0,
                 perCPU: []).write(to: &empty)
        XCTAssertTrue(empty.hasPrefix("Node 0, zone   Normal\n  pages free     0\n"))
        XCTAssertTrue(empty.hasSuffix("        protection: (0, 0, 0, 0, 0)\n"), "an empty zone stops there, as Linux")
        // A node's first populated zone carries its counters (Linux 6.1: "      nr_inactive_anon 8676").
        var first = ""
        ZoneInfo(node: 1, name: "DMA32", freePages: 5, min: 1, low: 2, high: 3, spanned: 8, present: 8, managed: 8,
                 startPFN: 65536, perCPU: [], nodeStats: [("nr_inactive_anon", 8676), ("nr_mapped", 405)])
            .write(to: &first)
        XCTAssertTrue(first.hasPrefix("Node 1, zone    DMA32\n  per-node stats\n      nr_inactive_anon 8676\n"
                                      + "      nr_mapped    405\n  pages free     5\n"))
    }
}
