// The physical page allocator: zones of free lists over mem_map. Boot code
// creates it with every frame reserved, then hands in the usable RAM; from
// then on frames move only through allocate and free.

/// Zoned buddy allocator of 2^order contiguous frames. Linux: mm/page_alloc.c
///
/// `Memory` is only used to zero frames for `GFP.zero`: the direct map in the
/// kernel, a buffer in tests.
public struct BuddyAllocator<Memory: PhysicalMemory> {
    public let memMap: MemMap
    @usableFromInline let memory: Memory
    /// Indexed by `ZoneType.rawValue`. Linux: pglist_data->node_zones
    @usableFromInline var zones: InlineArray<3, Zone>

    /// An allocator with no free memory yet; every frame of `memMap` is reserved.
    public init(memMap: MemMap, memory: Memory) {
        self.memMap = memMap
        self.memory = memory
        zones = InlineArray { Zone(type: ZoneType(rawValue: $0)!) }
    }

    /// Hands the whole frames inside [start, end) to the allocator, as the
    /// largest naturally aligned blocks that fit. Frames outside mem_map are
    /// skipped; ranges must not overlap earlier ones.
    /// Linux: memblock_free_all() → __free_pages_memory()
    public mutating func addFreeRange(_ start: PhysAddr, _ end: PhysAddr) {
        var pfn = max(start.alignedUp().pfn, memMap.basePFN)
        let endPFN = min(end.pfn, memMap.endPFN)
        while pfn < endPFN {
            var order = min(Zone.maxOrder, pfn.trailingZeroBitCount)
            while pfn + (1 << UInt64(order)) > endPFN { order -= 1 }
            releaseBootBlock(pfn, order: order)
            pfn += 1 << UInt64(order)
        }
    }

    /// Clears the reserved marks of one block and frees it. Linux: __free_pages_core()
    mutating func releaseBootBlock(_ pfn: UInt64, order: Int) {
        let frames = 1 << order
        let first = memMap.page(pfn)
        for i in 0..<frames {
            precondition(first[i].flags == .reserved, "free range overlaps an earlier one")
            first[i] = Page()
        }
        let zone = ZoneType(pfn: pfn).rawValue
        zones[zone].manage(pfn, frames: frames)
        zones[zone].freeOneBlock(pfn, order: order, memMap: memMap)
    }

    /// A snapshot of one zone's counters and free-list lengths.
    public func zone(_ type: ZoneType) -> Zone { zones[type.rawValue] }

    /// Frames handed to the allocator (MemTotal). Linux: totalram_pages()
    public var managedPages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].managedPages }
        return sum
    }

    /// Frames on the free lists (MemFree). Linux: global_zone_page_state(NR_FREE_PAGES)
    public var freePages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].freePages }
        return sum
    }

    /// Linux's default min_free_kbytes: sqrt(16 x lowmem in KiB), kept within
    /// [128 KiB, 256 MiB]. Linux: calculate_min_free_kbytes()
    public static func defaultMinFreeKilobytes(managedPages: Int) -> Int {
        let kilobytes = managedPages * Int(pageSize / 1024)
        var root = 0                       // integer square root, no floating point in the kernel
        while (root + 1) * (root + 1) <= kilobytes * 16 { root += 1 }
        return min(max(root, 128), 262_144)
    }

    /// Splits min_free_kbytes over the zones in proportion to their size: each
    /// zone's min watermark. Linux: __setup_per_zone_wmarks()
    public mutating func setMinFreeKilobytes(_ kilobytes: Int) {
        let reservePages = kilobytes / Int(pageSize / 1024)
        let total = managedPages
        guard total > 0 else { return }
        for type in ZoneType.allCases {
            zones[type.rawValue].watermarkMin = reservePages * zones[type.rawValue].managedPages / total
        }
    }

    /// The sum of the zones' min watermarks, in frames.
    public var reservePages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].watermarkMin }
        return sum
    }
}
