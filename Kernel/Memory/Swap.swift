// Swap areas and their slots: where anonymous pages go when memory is short.
//
// Each swapon'd area (a disk, or later a file) has a type (its index, 0..<29),
// a priority, a slot map (Kernel/Core/Memory/SwapMap.swift: per-slot
// reference counts with the SWAP_HAS_CACHE bit, cluster allocation) and its
// part of the swap cache (SwapCache.swift): the frame that stands for a slot
// while the page is both in memory and on the disk.
//
//   Swap.allocateSlot()   a free slot of the best area    Linux: folio_alloc_swap()
//   Swap.duplicate()      one more PTE names the slot     Linux: swap_duplicate()
//   Swap.free()           one PTE fewer; the last frees   Linux: free_swap_and_cache()
//                         the slot and its cache page
//   Swap.hasSwap          a free slot exists somewhere    Linux: get_nr_swap_pages() > 0
//
// Areas are used highest priority first; areas of equal priority take turns,
// one slot each, which stripes swap over several disks as Linux does.
// swapon without SWAP_FLAG_PREFER gives -2, -3, ... (Linux: least_priority).
//
// Locking: `Swap.lock` (a spinlock: swap-outs and swap-ins run on any CPU)
// protects the table of areas, every area's slot map and swap-cache index,
// `leastPriority` and the rotor. It is taken inside mm->page_table_lock and
// before the page allocator's and the LRU's locks; nothing sleeps under it
// (disk I/O happens outside, on a slot or page the caller holds).
// `Swap.swaponLock` (a sleeping lock) serializes swapon and swapoff.
// Linux: mm/swapfile.c (swap_lock, si->lock, swapon_mutex)

/// One swap area. Linux: struct swap_info_struct
final class SwapArea {
    /// Its index in `Swap.areas` and the type of its entries. Linux: si->type
    let type: Int
    /// Linux: si->bdev
    let device: any BlockDevice
    /// The disk's device number (a swap file's: its file system's disk).
    let deviceNumber: DeviceNumber
    /// A swap file (nil: the whole disk is the area), which swapon made
    /// unwritable until swapoff, and where its pages lie on the disk.
    /// Linux: si->swap_file, S_SWAPFILE, si->swap_extent_root
    let file: (inode: Inode, extents: SwapExtents)?
    /// The path given to swapon, for /proc/swaps. Linux: d_path(si->swap_file)
    let path: String
    /// Linux: si->prio
    var priority: Int
    /// Protected by Swap.lock. Linux: si->swap_map, si->cluster_info, si->inuse_pages
    var map: SwapMap
    /// The swap cache of this area: per slot, the frame number of the page
    /// standing for it (0: none). Protected by Swap.lock. Linux: the swap
    /// address_space's xarray (swapper_spaces)
    let cacheFrames: UnsafeMutableBufferPointer<UInt32>
    /// Slots may be handed out; cleared when swapoff begins. Linux: SWP_WRITEOK
    var writeOK = true
    /// The vmalloc'd memory of `map` and `cacheFrames`.
    private let storage: UnsafeMutableRawPointer

    init(type: Int, device: any BlockDevice, deviceNumber: DeviceNumber, file: (inode: Inode, extents: SwapExtents)?,
         path: String, priority: Int, map: SwapMap, cacheFrames: UnsafeMutableBufferPointer<UInt32>,
         storage: UnsafeMutableRawPointer) {
        self.type = type
        self.device = device
        self.deviceNumber = deviceNumber
        self.file = file
        self.path = path
        self.priority = priority
        self.map = map
        self.cacheFrames = cacheFrames
        self.storage = storage
    }

    /// Gives the slot map's memory back; the area is out of `Swap.areas`.
    func release() { Vmalloc.free(storage) }

    /// The cache page standing for slot `offset`, if any. Swap.lock held.
    func cachedFrame(_ offset: UInt64) -> PhysAddr? {
        let pfn = cacheFrames[Int(offset)]
        return pfn == 0 ? nil : PhysAddr(UInt64(pfn) << pageShift)
    }

    /// Reads (or writes) slot `offset` into (from) the page at `buffer`: on a
    /// disk the slot's eight sectors, in a swap file its blocks, in as many
    /// pieces as they lie in. The area's fields read here never change.
    /// Linux: swap_folio_sector() / map_swap_entry() + the bio of swap_read_folio(), __swap_writepage()
    func transfer(_ offset: UInt64, _ buffer: UnsafeMutableRawPointer, write: Bool) throws(Errno) {
        try Swap.transfer(device, file?.extents, offset, buffer, write: write)
    }

    /// Slots `offset`, `offset` + 1, ... into (from) `pages`: on a disk one
    /// request for the run (BlockDevice.transferPages); in a swap file, whose
    /// blocks may lie anywhere, slot by slot.
    func transfer(run offset: UInt64, _ pages: UnsafeBufferPointer<UnsafeMutableRawPointer>, write: Bool) throws(Errno) {
        guard file == nil else {
            for (i, page) in pages.enumerated() { try transfer(offset + UInt64(i), page, write: write) }
            return
        }
        try device.transferPages(pages, sector: offset * (pageSize / 512), write: write)
    }
}

extension Swap {
    /// `SwapArea.transfer` for `device` and, for a swap file, its `extents`
    /// (swapon reads the header with it before the area exists).
    static func transfer(_ device: any BlockDevice, _ extents: SwapExtents?, _ offset: UInt64,
                         _ buffer: UnsafeMutableRawPointer, write: Bool) throws(Errno) {
        func piece(_ sector: UInt64, _ at: Int, _ bytes: Int) throws(Errno) {
            if write {
                try device.write(sector: sector, from: UnsafeRawBufferPointer(start: buffer + at, count: bytes))
            } else {
                try device.read(sector: sector, into: UnsafeMutableRawBufferPointer(start: buffer + at, count: bytes))
            }
        }
        guard let extents else { return try piece(offset * (pageSize / 512), 0, Int(pageSize)) }
        var done = 0
        try extents.forEachPiece(ofPage: offset) { (sector, bytes) throws(Errno) in
            try piece(sector, done, bytes)
            done += bytes
        }
    }
}

enum Swap {
    /// The table of areas, their maps and caches. See the file comment. Linux: swap_lock + si->lock
    static let lock = SpinLock(LockClass("swap_lock"), disablesInterrupts: false)
    /// swapon and swapoff one at a time. Linux: swapon_mutex
    static let swaponLock = SleepLock(LockClass("swapon_mutex", sleeping: true))
    /// Indexed by type; nil for a free type. Linux: swap_info[]
    nonisolated(unsafe) static var areas: [SwapArea?] = []
    /// The priority the next swapon without SWAP_FLAG_PREFER gets, less one.
    /// Linux: least_priority
    nonisolated(unsafe) static var leastPriority = -1
    /// The type that gave the last slot, so areas of equal priority take turns.
    /// Linux: plist_requeue() of swap_avail_heads
    nonisolated(unsafe) private static var lastAllocated = -1

    /// The area of `type`, Swap.lock held.
    static func area(_ type: Int) -> SwapArea? {
        precondition(lock.isLocked, "swap area looked up without swap_lock")
        return type >= 0 && type < areas.count ? areas[type] : nil
    }

    /// Some area takes new pages. Linux: get_nr_swap_pages() > 0
    static var hasSwap: Bool {
        lock.withLock { areas.contains { $0.map { $0.writeOK && $0.map.freePages > 0 } ?? false } }
    }

    /// No area takes new pages.
    static var isFull: Bool { !hasSwap }

    /// A free slot, its cache bit set, from the highest-priority area with
    /// room (areas of one priority in turn). ENOSPC when every area is full or
    /// none is on. Swap.lock held. Linux: folio_alloc_swap() → get_swap_pages()
    static func allocateSlot() throws(Errno) -> SwapEntry {
        precondition(lock.isLocked, "swap slot allocated without swap_lock")
        let candidates = areas.lazy.compactMap { $0 }.map {
            SwapPriority.Candidate(type: $0.type, priority: $0.priority, hasRoom: $0.writeOK && $0.map.freePages > 0)
        }
        guard let type = SwapPriority.choose(candidates, after: lastAllocated), let area = area(type),
              let offset = area.map.allocate(cpu: PerCPU.cpu) else { throw .ENOSPC }
        lastAllocated = area.type
        return SwapEntry(type: area.type, offset: offset)
    }

    /// One more PTE names `entry`'s slot (a swap-out replacing one more
    /// mapping, a fork copying a swap PTE). The caller holds a reference to
    /// the slot (a PTE or the cache page), so it is in use. Linux: swap_duplicate()
    static func duplicate(_ entry: SwapEntry) {
        lock.lock()
        defer { lock.unlock() }
        guard let area = area(entry.type), area.map.duplicate(entry.offset) else {
            Panic.now("swap_duplicate: \(entry) names a free slot")
        }
    }

    /// A swap PTE naming `entry` went away (munmap, exit). The last reference
    /// frees the slot; a cache page nobody maps any more goes with it.
    /// Linux: free_swap_and_cache()
    static func free(_ entry: SwapEntry) {
        var unusedPage: PhysAddr? = nil
        lock.lock()
        if let area = area(entry.type) {
            area.map.put(entry.offset)
            // Only the cache holds the page now: nothing will ever look it up
            // again, so it leaves the cache and is freed. (A page some PTE
            // maps, or that reclaim holds, stays until they let it go.)
            if area.map.count(entry.offset) == 0, let frame = area.cachedFrame(entry.offset),
               MapCount.count(frame) == 1 {
                SwapCache.deleteLocked(frame, area: area, offset: entry.offset)
                unusedPage = frame
            }
        }
        lock.unlock()
        if let unusedPage { MapCount.put(unusedPage) }
    }

    /// PTEs naming `entry`'s slot now (0 for a free slot or a gone area),
    /// for smaps' SwapPss. Linux: swp_swapcount()
    static func references(_ entry: SwapEntry) -> Int {
        lock.withLock { area(entry.type).map { $0.map.count(entry.offset) } ?? 0 }
    }

    /// Totals for /proc/meminfo: (SwapTotal, SwapFree) in pages.
    /// Linux: si_swapinfo() (total_swap_pages, nr_swap_pages)
    static var totals: (total: Int, free: Int) {
        lock.withLock {
            var total = 0, free = 0
            for case let area? in areas {
                // An area being switched off counts only the pages it still
                // holds, as both total and free (they are about to come back).
                // Linux: si_swapinfo()'s nr_to_be_unused
                total += area.writeOK ? area.map.usablePages : area.map.inUsePages
                free += area.writeOK ? area.map.freePages : area.map.inUsePages
            }
            return (total, free)
        }
    }
}
