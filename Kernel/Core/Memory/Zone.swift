// A zone is a range of physical memory with its own free lists, so requests
// that need low addresses (DMA) are not starved by ordinary ones.

/// One zone's frames and free lists. Linux: struct zone
public struct Zone {
    /// Largest block order: 2^10 frames = 4 MiB. Linux: MAX_PAGE_ORDER (MAX_ORDER before 6.8)
    @inlinable public static var maxOrder: Int { 10 }

    public let type: ZoneType
    /// First frame handed to this zone. Linux: zone->zone_start_pfn
    public internal(set) var startPFN: UInt64 = 0
    /// One past the last frame handed to this zone. Linux: zone_end_pfn()
    public internal(set) var endPFN: UInt64 = 0
    /// Frames handed to the buddy allocator. Linux: zone_managed_pages()
    public internal(set) var managedPages = 0
    /// Free frames below which only `GFP.memalloc` requests are served: the
    /// reserve. Linux: zone->_watermark[WMARK_MIN] (min_wmark_pages())
    public internal(set) var watermarkMin = 0
    /// Free frames below which the allocator wakes kswapd. Linux: WMARK_LOW
    public internal(set) var watermarkLow = 0
    /// Free frames at which kswapd stops and sleeps again. Linux: WMARK_HIGH
    public internal(set) var watermarkHigh = 0
    /// Free lists for orders 0...maxOrder. Linux: zone->free_area[NR_PAGE_ORDERS]
    @usableFromInline var freeArea = InlineArray<11, FreeArea>(repeating: FreeArea())

    init(type: ZoneType) { self.type = type }

    /// Free blocks of `order`, the numbers /proc/buddyinfo shows. Linux: free_area[order].nr_free
    public func freeBlocks(order: Int) -> Int { freeArea[order].count }

    /// Frames on the free lists, kept as blocks come and go: the watermark check
    /// reads it on every allocation. Linux: zone_page_state(zone, NR_FREE_PAGES)
    public var freePages: Int { freePageCount }
    @usableFromInline var freePageCount = 0

    /// A request for 2^order frames may be served without eating into the
    /// reserve (or, `aboveLow`, without going below the low watermark).
    /// Linux: zone_watermark_ok() against WMARK_MIN or WMARK_LOW
    @inlinable public func watermarkOK(order: Int, flags: GFP, aboveLow: Bool = false) -> Bool {
        flags.contains(.memalloc) || freePageCount &- (1 &<< order) >= (aboveLow ? watermarkLow : watermarkMin)
    }

    /// Linux: populated_zone() (which counts present rather than managed frames)
    public var isPopulated: Bool { managedPages > 0 }

    /// Adds `frames` frames starting at `pfn` to the zone's span and managed count.
    mutating func manage(_ pfn: UInt64, frames: Int) {
        let end = pfn + UInt64(frames)
        if managedPages == 0 {
            startPFN = pfn
            endPFN = end
        } else {
            startPFN = min(startPFN, pfn)
            endPFN = max(endPFN, end)
        }
        managedPages += frames
    }
}
