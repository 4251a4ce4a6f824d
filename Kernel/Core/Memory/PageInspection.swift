// Page-level introspection, the pure half: what /proc/<pid>/pagemap,
// /proc/kpageflags, /proc/kpagecount, Keel's /proc/kpageorder and
// /proc/zoneinfo say, computed from page descriptors, page-table entries and
// zone counters. The kernel glue (Kernel/FS/Proc/PageInspectionFiles.swift)
// walks the real tables and mem_map and hands the values here.
// Linux: Documentation/admin-guide/mm/pagemap.rst, fs/proc/task_mmu.c
// (pagemap_read), fs/proc/page.c (kpageflags_read, stable_page_flags),
// mm/vmstat.c (zoneinfo_show_print)

// MARK: - /proc/<pid>/pagemap entries

/// One 64-bit pagemap entry: the page at one virtual page number.
/// Linux: pagemap_entry_t, the PM_* bits of fs/proc/task_mmu.c
public struct PagemapEntry: Equatable, Sendable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 0-54: the frame number, or the swap type (0-4) and offset (5-54)
    /// of a swapped-out page.
    public static let pfnMask: UInt64 = (1 << 55) - 1
    /// Linux: PM_SOFT_DIRTY
    public static let softDirty: UInt64 = 1 << 55
    /// The page is mapped exactly once. Linux: PM_MMAP_EXCLUSIVE
    public static let exclusive: UInt64 = 1 << 56
    /// Linux: PM_UFFD_WP
    public static let uffdWP: UInt64 = 1 << 57
    /// Linux: PM_GUARD_REGION
    public static let guardRegion: UInt64 = 1 << 58
    /// A page-cache page or shared anonymous (shmem) page. Linux: PM_FILE
    public static let file: UInt64 = 1 << 61
    /// The page is in a swap slot, or being migrated. Linux: PM_SWAP
    public static let swapped: UInt64 = 1 << 62
    /// Linux: PM_PRESENT
    public static let present: UInt64 = 1 << 63

    /// Nothing mapped (a hole between VMAs, or a page never touched). Linux: make_pme(0, 0)
    public static var none: PagemapEntry { PagemapEntry(rawValue: 0) }

    /// A resident page. `pfn` is hidden (0) when the reader may not see frame
    /// numbers; `exclusive` is page_mapcount == 1; `fileOrShared` is "not an
    /// anonymous page". The zero page is neither exclusive nor file, as Linux's
    /// vm_normal_page() finds no page for it. Linux: pte_to_pagemap_entry(), present case
    public static func present(pfn: UInt64, showPFN: Bool, exclusive: Bool, fileOrShared: Bool,
                               softDirty: Bool) -> PagemapEntry {
        var value = Self.present | (showPFN ? pfn & pfnMask : 0)
        if exclusive { value |= Self.exclusive }
        if fileOrShared { value |= file }
        if softDirty { value |= Self.softDirty }
        return PagemapEntry(rawValue: value)
    }

    /// A page that is not in memory: in a swap slot, or being migrated (a
    /// migration entry: its offset is the frame number, and `file` says whether
    /// the page is a file's). The type and offset are hidden (0) like a frame
    /// number. Linux: pte_to_pagemap_entry(), is_swap_pte() case
    /// (frame = swp_type | swp_offset << MAX_SWAPFILES_SHIFT)
    public static func swapped(_ entry: SwapEntry, showPFN: Bool, file: Bool) -> PagemapEntry {
        var value = Self.swapped
        if showPFN { value |= (UInt64(entry.type) | entry.offset << 5) & pfnMask }
        if file { value |= Self.file }
        return PagemapEntry(rawValue: value)
    }

    public var isPresent: Bool { rawValue & Self.present != 0 }
    public var pfn: UInt64 { rawValue & Self.pfnMask }

    /// The file offset range a read may cover: whole 8-byte entries at an
    /// 8-byte offset. Linux: pagemap_read()'s "if ((*ppos % PM_ENTRY_BYTES) ||
    /// (count % PM_ENTRY_BYTES)) return -EINVAL", and the same test in
    /// kpageflags_read() and kpagecount_read()
    public static func checkAligned(count: Int, offset: Int) -> Bool {
        offset >= 0 && offset % 8 == 0 && count % 8 == 0
    }

    /// Whether the reader sees frame numbers. Linux: pagemap_open() records
    /// file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN) of the opener's
    /// credentials (pm->show_pfn). Keel has no capabilities: uid 0 stands for
    /// CAP_SYS_ADMIN, and everyone in Keel is uid 0 today.
    public static func mayShowPFN(openerUID: UInt32) -> Bool { openerUID == 0 }
}

// MARK: - /proc/kpageflags bits

/// The bits of /proc/kpageflags. Linux: include/uapi/linux/kernel-page-flags.h
public enum KPF {
    public static let locked = 0, error = 1, referenced = 2, uptodate = 3, dirty = 4, lru = 5, active = 6
    public static let slab = 7, writeback = 8, reclaim = 9, buddy = 10, mmap = 11, anon = 12, swapCache = 13
    public static let swapBacked = 14, compoundHead = 15, compoundTail = 16, huge = 17, unevictable = 18
    public static let hwPoison = 19, noPage = 20, ksm = 21, thp = 22, offline = 23, zeroPage = 24, idle = 25
    public static let pageTable = 26
    /// Linux: KPF_RESERVED (a "kernel hacking" bit, shown with CONFIG_PROC_PAGE_MONITOR)
    public static let reserved = 32

    /// The word with bit `bit` set.
    @inlinable public static func bit(_ bit: Int) -> UInt64 { 1 << UInt64(bit) }
}

/// Value of /proc/kpageorder for a frame that is not free (Keel only).
public let kpageorderNotFree: UInt64 = .max
/// Bit of /proc/kpageorder marking a free frame parked on a CPU's list (Keel only).
public let kpageorderPerCPU: UInt64 = 0x100

// MARK: - reading mem_map for kpageflags, kpagecount, kpageorder

/// Reads the page descriptors of mem_map for the kpage* files.
///
/// No lock is taken, per frame or otherwise: a reader would otherwise stall
/// every allocation on every CPU for the length of a 64K-frame walk. Each
/// descriptor is copied as it is at that instant, so a frame being allocated or
/// freed meanwhile may show its old or its new state, or a mixture (flags from
/// before, order from after): stale, never unsafe. Every frame number this code
/// derives from a racy value (the head of a block, found from an order) is
/// clamped to Zone.maxOrder and checked against mem_map before its descriptor
/// is read, so no value read in a race can lead outside mem_map. Linux gives
/// the same racy snapshot (fs/proc/page.c reads page->flags and _mapcount with
/// no lock, and says so in stable_page_flags()).
public struct MemMapInspector {
    public let memMap: MemMap
    /// Usable RAM, sorted: frames of mem_map outside it are holes (no page).
    public let ram: [PhysRange]
    /// Linux: my_zero_pfn()
    public let zeroPagePFN: UInt64

    public init(memMap: MemMap, ram: [PhysRange], zeroPagePFN: UInt64) {
        self.memMap = memMap
        self.ram = ram
        self.zeroPagePFN = zeroPagePFN
    }

    /// Frames the files describe; reads past this end at 0 bytes. Linux: max_pfn
    public var endPFN: UInt64 { memMap.endPFN }

    /// The frame has a descriptor that stands for RAM: the whole frame is RAM
    /// (a partial frame at a range's edge is a hole, as the allocator and
    /// zoneinfo's present count see it). Linux: pfn_to_online_page() != NULL
    public func hasPage(_ pfn: UInt64) -> Bool {
        guard memMap.contains(pfn: pfn) else { return false }
        for range in ram where range.start.alignedUp().pfn <= pfn && pfn < range.end.pfn { return true }
        return false
    }

    /// /proc/kpageflags for one frame. Linux: stable_page_flags()
    public func flags(_ pfn: UInt64) -> UInt64 {
        guard hasPage(pfn) else { return KPF.bit(KPF.noPage) }
        let page = memMap.page(pfn).pointee
        if pfn == zeroPagePFN { return Self.flags(of: page, isZeroPage: true, head: nil) }
        return Self.flags(of: page, isZeroPage: false, head: page.flags.isEmpty ? blockHead(pfn) : nil)
    }

    /// /proc/kpagecount for one frame: the page-table entries mapping it.
    /// Keel's shared-memory object holds one count of its own on each of its
    /// pages (Kernel/Memory/Shmem.swift), which is not a mapping and is left out.
    /// The zero page's mappings are not counted, as in Linux. Linux: kpagecount_read()
    public func count(_ pfn: UInt64) -> UInt64 {
        guard hasPage(pfn), pfn != zeroPagePFN else { return 0 }
        return UInt64(Self.mappings(of: memMap.page(pfn).pointee))
    }

    /// /proc/kpageorder for one frame (Keel only): the order of the free block
    /// holding it, order 0 with `kpageorderPerCPU` for a frame on a CPU's list,
    /// `kpageorderNotFree` otherwise.
    public func order(_ pfn: UInt64) -> UInt64 {
        guard hasPage(pfn) else { return kpageorderNotFree }
        let page = memMap.page(pfn).pointee
        if page.flags.contains(.perCPUList) { return kpageorderPerCPU }
        if page.flags.contains(.buddy) { return UInt64(min(Int(page.private), Zone.maxOrder)) }
        guard page.flags.isEmpty, let head = blockHead(pfn), head.page.flags.contains(.buddy) else {
            return kpageorderNotFree
        }
        return UInt64(head.order)
    }

    /// The block (free or allocated) whose first frame lies below `pfn` and
    /// which reaches `pfn`: a frame with an empty descriptor is the tail of one,
    /// or a free frame in a block being split or merged right now.
    /// Linux: compound_head() for allocated blocks, the is_free_buddy_page() scan for free ones
    func blockHead(_ pfn: UInt64) -> (page: Page, order: Int)? {
        for order in 1...Zone.maxOrder {
            let head = pfn & ~((1 << UInt64(order)) - 1)
            guard head != pfn, memMap.contains(pfn: head) else { continue }
            let page = memMap.page(head).pointee
            guard page.flags.contains(.buddy) || page.flags.contains(.head) else { continue }
            let headOrder = min(Int(page.private), Zone.maxOrder)
            if head + (1 << UInt64(headOrder)) > pfn { return (page, headOrder) }
        }
        return nil
    }

    /// Page-table entries mapping a frame with descriptor `page`: its count
    /// less the page cache's or the swap cache's own reference. A read()
    /// copying from the page holds one more for the copy, which shows here for
    /// that moment. Linux: folio_mapcount()
    public static func mappings(of page: Page) -> Int32 {
        max(0, page.mapcount - page.cacheReferences)
    }

    /// The kpageflags word of one descriptor: the truth table from Keel's page
    /// state to Linux's KPF bits. `head` is the block an empty descriptor is the
    /// tail of (nil if none). A page-cache page is always uptodate (it enters
    /// the cache filled). Keel has no huge pages: those bits stay 0.
    /// Linux: stable_page_flags()
    public static func flags(of page: Page, isZeroPage: Bool, head: (page: Page, order: Int)?) -> UInt64 {
        // Linux's zero page lies in the kernel image: PG_reserved, and never mapped-counted.
        if isZeroPage { return KPF.bit(KPF.zeroPage) | KPF.bit(KPF.reserved) }
        let f = page.flags
        if f.contains(.reserved) { return KPF.bit(KPF.reserved) }
        if f.contains(.buddy) { return KPF.bit(KPF.buddy) }
        if f.contains(.perCPUList) { return 0 }             // free, but not PageBuddy (Linux: pcp lists)
        if f.isEmpty {
            // A tail frame: of an allocated higher-order block (compound), or of a free one (nothing, as Linux).
            guard let head, head.page.flags.contains(.head) else { return 0 }
            return KPF.bit(KPF.compoundTail) | kindBits(head.page.flags)
        }
        var value = kindBits(f)
        if f.contains(.head) && page.private > 0 { value |= KPF.bit(KPF.compoundHead) }
        if f.contains(.dirty) { value |= KPF.bit(KPF.dirty) }
        if f.contains(.writeback) { value |= KPF.bit(KPF.writeback) }
        // The reclaim state, one KPF bit per page flag. Linux: stable_page_flags()'s u |= kpf_copy_bit(...)
        let reclaimBits: [(PageFlags, Int)] = [(.lru, KPF.lru), (.active, KPF.active), (.referenced, KPF.referenced),
                                               (.swapCache, KPF.swapCache), (.unevictable, KPF.unevictable),
                                               (.reclaim, KPF.reclaim)]
        for (flag, bit) in reclaimBits where f.contains(flag) { value |= KPF.bit(bit) }
        let mapped = mappings(of: page) > 0
        if mapped { value |= KPF.bit(KPF.mmap) }
        if mapped || page.isPageCache || f.contains(.anon) || f.contains(.swapBacked) { value |= KPF.bit(KPF.uptodate) }
        return value
    }

    /// The bits that say what an allocated block is used for; a tail shows its head's.
    private static func kindBits(_ f: PageFlags) -> UInt64 {
        var value: UInt64 = 0
        if f.contains(.slab) { value |= KPF.bit(KPF.slab) }
        if f.contains(.pageTable) { value |= KPF.bit(KPF.pageTable) }
        if f.contains(.anon) { value |= KPF.bit(KPF.anon) }
        if f.contains(.swapBacked) { value |= KPF.bit(KPF.swapBacked) }
        return value
    }

    /// Fills `out` with one little-endian word per frame from `firstPFN` on,
    /// computed by `word`. Frames past `endPFN` are never asked for: the caller
    /// limits the count. Linux: the loops of kpageflags_read(), kpagecount_read()
    public func fill(_ out: UnsafeMutableRawBufferPointer, from firstPFN: UInt64, _ word: (UInt64) -> UInt64) -> Int {
        let words = min(out.count / 8, Int(clamping: endPFN &- min(firstPFN, endPFN)))
        for i in 0..<words { out.storeBytes(of: word(firstPFN + UInt64(i)).littleEndian, toByteOffset: i * 8, as: UInt64.self) }
        return words * 8
    }
}

// MARK: - /proc/zoneinfo

/// The numbers /proc/zoneinfo shows for one zone.
public struct ZoneInfo {
    /// The node the zone belongs to. Linux: zone->zone_pgdat->node_id
    public var node: Int
    public var name: String
    public var freePages: Int
    public var min: Int, low: Int, high: Int
    public var spanned: UInt64, present: UInt64, managed: Int
    public var startPFN: UInt64
    /// Per CPU: frames on its list, the list's high mark and batch.
    public var perCPU: [(count: Int, high: Int, batch: Int)]
    /// The node's own counters ("name value"), printed in the node's first
    /// populated zone only; nil in the others. Linux: the "per-node stats"
    /// block, node_stat_name() items
    public var nodeStats: [(name: String, value: Int)]?

    public init(node: Int, name: String, freePages: Int, min: Int, low: Int, high: Int, spanned: UInt64,
                present: UInt64, managed: Int, startPFN: UInt64, perCPU: [(count: Int, high: Int, batch: Int)],
                nodeStats: [(name: String, value: Int)]? = nil) {
        self.node = node
        self.nodeStats = nodeStats
        self.name = name
        self.freePages = freePages
        self.min = min
        self.low = low
        self.high = high
        self.spanned = spanned
        self.present = present
        self.managed = managed
        self.startPFN = startPFN
        self.perCPU = perCPU
    }

    /// A zone's span and present frames: from its first to its last frame of
    /// RAM inside [lowPFN, highPFN) (the zone's limits), and the RAM frames in
    /// that span; holes and reserved RAM (the kernel image, the first MiB)
    /// count in the span, reserved RAM in present too, so every frame of RAM
    /// falls in the span of its zone. An empty zone spans nothing.
    /// Linux: zone_spanned_pages_in_node(), zone_absent_pages_in_node()
    public static func span(ram: [PhysRange], lowPFN: UInt64, highPFN: UInt64) -> (startPFN: UInt64, spanned: UInt64, present: UInt64) {
        var start = UInt64.max, end: UInt64 = 0, present: UInt64 = 0
        for range in ram {
            let lo = Swift.max(range.start.alignedUp().pfn, lowPFN), hi = Swift.min(range.end.pfn, highPFN)
            guard lo < hi else { continue }
            start = Swift.min(start, lo)
            end = Swift.max(end, hi)
            present += hi - lo
        }
        return start < end ? (start, end - start, present) : (0, 0, 0)
    }

    /// The low and high watermarks Linux derives from min: each step is a
    /// quarter of min or 0.1% of the zone (watermark_scale_factor 10), whichever
    /// is more. Below min only the reserve's users allocate; kswapd wakes
    /// below low and sleeps again at high.
    /// Linux: __setup_per_zone_wmarks()
    public static func watermarks(min: Int, managed: Int) -> (low: Int, high: Int) {
        let step = Swift.max(min / 4, managed * 10 / 10000)
        return (min + step, min + 2 * step)
    }

    /// One zone's block in Linux 6.1's layout (the node and zone counters
    /// Keel does not keep, and the per-CPU "vm stats threshold", are left out;
    /// a parser reads "key value" lines). An unpopulated zone stops after
    /// protection, as in Linux. Linux: zoneinfo_show_print()
    public func write<Sink: TextSink>(to out: inout Sink) {
        out.write("Node " + String(node) + ", zone " + Fmt.pad(name, 8) + "\n")
        if let nodeStats {
            out.write("  per-node stats\n")
            // "\n      %-12s %lu"
            for (name, value) in nodeStats { out.write("      " + Fmt.padRight(name, 12) + " " + String(value) + "\n") }
        }
        out.write("  pages free     \(freePages)\n")
        out.write("        boost    0\n")
        out.write("        min      \(min)\n")
        out.write("        low      \(low)\n")
        out.write("        high     \(high)\n")
        out.write("        spanned  \(spanned)\n")
        out.write("        present  \(present)\n")
        out.write("        managed  \(managed)\n")
        out.write("        cma      0\n")
        out.write("        protection: (0, 0, 0, 0, 0)\n")
        guard managed > 0 else { return }
        out.write("      nr_free_pages \(freePages)\n")
        out.write("  pagesets\n")
        for (cpu, list) in perCPU.enumerated() {
            out.write("    cpu: \(cpu)\n")
            out.write("              count: \(list.count)\n")
            out.write("              high:  \(list.high)\n")
            out.write("              batch: \(list.batch)\n")
        }
        out.write("  node_unreclaimable:  0\n")
        out.write("  start_pfn:           \(startPFN)\n")
    }
}
