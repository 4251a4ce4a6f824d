// The swap cache: the frames that stand for swap slots while a page is both
// in memory and in its slot. A page enters it on its way out (reclaim gives
// it a slot, unmaps it and writes it) and on its way back in (a swap-in reads
// the slot into a new cache page); it leaves when reclaim frees the frame,
// when a swap-in finds it was the slot's last user, or when the slot is
// freed. While it is there every fault on the slot's swap PTEs finds it
// instead of reading the disk, so two processes sharing the page after fork
// share it again after a swap-in.
//
// A cache page has `.swapCache` set, its packed entry in `private`, and one
// reference (in `mapcount`) held by the cache. The index is its area's
// `cacheFrames`, under `Swap.lock`; references taken on a cache page by a
// lookup are taken under that lock too, so `reclaimFromSwapCache`'s count
// check cannot race with one.
// Linux: mm/swap_state.c (add_to_swap_cache, __delete_from_swap_cache,
// swap_cache_get_folio), mm/vmscan.c __remove_mapping() for the swap case

enum SwapCache {
    /// Puts `frame` at slot `offset` of `area` (the slot's cache bit is set,
    /// its cache entry empty) and takes the cache's reference. Swap.lock held.
    static func insertLocked(_ frame: PhysAddr, area: SwapArea, offset: UInt64) {
        precondition(Swap.lock.isLocked, "swap cache changed without swap_lock")
        precondition(area.cachedFrame(offset) == nil && area.map.hasCachePage(offset), "swap cache slot taken")
        area.cacheFrames[Int(offset)] = UInt32(frame.value >> pageShift)
        let page = PageAllocator.page(frame)
        page.pointee.private = SwapEntry(type: area.type, offset: offset).packed
        page.pointee.flags.insert(.swapCache)     // TODO(merge): PageState.set once the lead's lands
        MapCount.add(frame)
        VMStat.add(.swapCached, 1)
    }

    /// Takes `frame` out of slot `offset` of `area` and clears the slot's
    /// cache bit (which frees the slot if no PTE names it); the caller drops
    /// the cache's reference, after Swap.lock. Linux: __delete_from_swap_cache()
    /// + put_swap_folio()
    static func deleteLocked(_ frame: PhysAddr, area: SwapArea, offset: UInt64) {
        precondition(Swap.lock.isLocked, "swap cache changed without swap_lock")
        precondition(area.cachedFrame(offset) == frame, "swap cache slot holds another page")
        area.cacheFrames[Int(offset)] = 0
        area.map.dropCache(offset)
        PageAllocator.page(frame).pointee.flags.remove(.swapCache)     // TODO(merge): PageState.clear
        PageAllocator.page(frame).pointee.private = 0
        VMStat.add(.swapCached, -1)
    }

    /// The cache page for `entry`, with a reference for the caller, or nil.
    /// Linux: swap_cache_get_folio()
    static func lookup(_ entry: SwapEntry) -> PhysAddr? {
        Swap.lock.lock()
        defer { Swap.lock.unlock() }
        guard let area = Swap.area(entry.type), let frame = area.cachedFrame(entry.offset),
              MapCount.tryGet(frame) else { return nil }
        return frame
    }

    /// The slot and area of a cache page. Swap.lock held.
    static func slot(of frame: PhysAddr) -> (area: SwapArea, offset: UInt64)? {
        let page = PageAllocator.page(frame).pointee
        guard page.flags.contains(.swapCache) else { return nil }
        let entry = SwapEntry(packed: page.private)
        guard let area = Swap.area(entry.type), area.cachedFrame(entry.offset) == frame else { return nil }
        return (area, entry.offset)
    }
}

extension Swap {
    /// Gives the anonymous page `frame` (which the caller holds) a slot and
    /// puts it in the swap cache; the page's PTEs can then be replaced by the
    /// returned entry (one `duplicate` each). ENOSPC when no area has room.
    /// Linux: folio_alloc_swap() + add_to_swap_cache()
    static func addToSwapCache(_ frame: PhysAddr) throws(Errno) -> SwapEntry {
        lock.lock()
        defer { lock.unlock() }
        precondition(!PageAllocator.page(frame).pointee.flags.contains(.swapCache), "page is in the swap cache already")
        let entry = try allocateSlot()
        guard let area = area(entry.type) else { Panic.now("swap: a slot of an area that is gone") }
        SwapCache.insertLocked(frame, area: area, offset: entry.offset)
        return entry
    }

    /// Takes the page out of the swap cache and drops the cache's reference
    /// (which frees the page if it was the last) and its hold on the slot
    /// (which frees the slot if no PTE names it). Linux: delete_from_swap_cache()
    static func removeFromSwapCache(_ frame: PhysAddr) {
        lock.lock()
        guard let (area, offset) = SwapCache.slot(of: frame) else {
            Panic.now("delete_from_swap_cache: \(Fmt.hex(frame.value)) is not in the swap cache")
        }
        SwapCache.deleteLocked(frame, area: area, offset: offset)
        lock.unlock()
        MapCount.put(frame)
    }

    /// Reclaim's last step for a swap-cache page: if only the cache and the
    /// caller hold it and it is clean (its slot has its contents), it leaves
    /// the cache and true is returned (the caller's put frees it); else false
    /// and nothing changes. Linux: __remove_mapping() (folio_ref_freeze(2))
    static func reclaimFromSwapCache(_ frame: PhysAddr) -> Bool {
        lock.lock()
        guard MapCount.count(frame) == 2, !PageAllocator.page(frame).pointee.flags.contains(.dirty),
              let (area, offset) = SwapCache.slot(of: frame) else {
            lock.unlock()
            return false
        }
        SwapCache.deleteLocked(frame, area: area, offset: offset)
        lock.unlock()
        MapCount.put(frame)             // the cache's; the caller's is the last
        return true
    }
}
