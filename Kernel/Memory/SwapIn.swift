// Faults on pages that are not in memory: a swap PTE (the page is in a swap
// slot) or a migration PTE (the page is being moved to another frame).
//
//   MM.swapIn            the swap cache's page, or the slot read from the disk
//                        with its neighbours (read-ahead), mapped in place of
//                        the swap PTE; the PTE's reference to the slot goes.
//                        Linux: do_swap_page()
//   Swap.readAround      the aligned window of slots around the one faulted
//                        on, read into the swap cache: up to 2^pageCluster
//                        slots while faults use the pages read ahead, down
//                        to the one slot while they do not (Core's
//                        SwapReadahead). Linux: swap_cluster_readahead()
//                        with swapin_nr_pages() (page-cluster = 3)
//   MM.waitForMigration  sleep a tick and let the access run again.
//                        Linux: migration_entry_wait()
//
// A page that was the slot's last user and that nobody else holds is
// exclusive. A write fault on it, or any fault once swap is more than half
// full or in an mlocked region, takes it out of the swap cache: its slot is
// freed and it is mapped writable if the VMA allows (its contents now live
// only in memory). A read fault keeps it in the cache with its slot, mapped
// read-only: while nobody writes it, the copy in swap is good, and reclaim
// can drop the page again without writing it. Any other page is mapped
// read-only and stays in the cache for the other PTEs naming the slot. A
// later write copies it or, once nothing else uses the slot, takes it out of
// the cache and reuses it (`Swap.freeIfUnused`).
// Linux: do_swap_page() with should_try_to_free_swap()
//
// Reading a slot claims it first (the slot map's cache bit) and puts the
// page in the cache only once it holds the slot's contents: a second fault on
// the same slot meanwhile finds the claim, waits a tick and runs again.

extension MM {
    /// Linux: do_swap_page()
    /// `write`: the fault is a write (or swapoff's, which empties the area),
    /// so the page leaves the swap cache if it can.
    func swapIn(_ page: VirtAddr, vma: VMA, entry: SwapEntry, seen: PageTableEntry, write: Bool,
                how: inout FaultHow) -> FaultOutcome {
        let frame: PhysAddr
        if let cached = SwapCache.lookup(entry) {
            frame = cached
            how = .swapCache
            Swap.noteCacheHit(cached)
        } else {
            switch Swap.readAround(entry, on: NUMAPolicy.choice(for: vma, at: page)) {
            case .read(let read):
                frame = read
                VMStat.count(.majorFaults)
            case .busy:
                waitATick()                 // another fault is reading the slot
                return .resolved
            case .freed:
                return .resolved            // the PTE changed meanwhile (swapoff, munmap)
            case .noMemory:
                return .outOfMemory
            case .ioError:
                return .sigbus              // Linux: VM_FAULT_SIGBUS for a page that did not read
            }
        }
        // `frame` is in the swap cache (or was, before a swapoff took it out)
        // and holds a reference for this fault, which becomes the PTE's.
        pageTableLock.lock()
        guard pageTable.entry(at: page) == seen else {
            pageTableLock.unlock()
            MapCount.put(frame)
            return .resolved                // another thread mapped it, or the VMA went
        }
        let freeSwap = write || vma.flags.contains(.locked) || Swap.isHalfFull
        let (exclusive, cached) = Swap.releaseSlot(for: frame, entry: entry, freeSwap: freeSwap)
        // A page read from the slot is new to the reverse map; one still in
        // the cache from before keeps its anon_vma. Linux: do_swap_page()'s
        // folio_add_new_anon_rmap() / folio_add_anon_rmap_ptes()
        if !PageState.set(frame, anonymousPageFlags).contains(.anon) {
            VMStat.add(.anonPages, 1)
            RMap.addSwappedInPage(frame, self, at: page, exclusive: exclusive)
        }
        // Writable only out of the cache: a write to a page the cache still
        // holds would make the copy in swap stale.
        let flags = Self.pteFlags(for: vma.flags, writable: exclusive && !cached)
        let mapped = PageTableEntry(frame: frame, flags: flags.contains(.writable) ? flags.union(.dirty) : flags)
        do {
            try pageTable.replaceEntry(page, expecting: seen, with: mapped)
        } catch {
            Panic.now("do_swap_page: the swap PTE at \(Fmt.hex(page.value)) changed under the page-table lock")
        }
        rss.anon += 1                   // Linux: inc_mm_counter(vma->vm_mm, MM_ANONPAGES)
        swapEntries -= 1
        pageTableLock.unlock()
        return .resolved
    }

    /// A migration PTE: the page is being copied to a new frame, after which
    /// the migration puts the new frame in this PTE. Sleep one tick and let
    /// the access fault again. Linux: migration_entry_wait()
    func waitForMigration() -> FaultOutcome {
        waitATick()
        return .resolved
    }

    /// Sleeps one clock tick (holding mmap_lock for reading, as Linux's
    /// waits on a folio lock do).
    private func waitATick() {
        let deadline = Clock.monotonicNanoseconds + 1_000_000_000 / UInt64(HZ)
        while !Scheduler.sleep(until: deadline, unless: { Clock.monotonicNanoseconds >= deadline }) {}
    }
}

extension Swap {
    /// Slots read around the one faulted on: 2^pageCluster. Linux:
    /// /proc/sys/vm/page-cluster (default 3)
    static let pageCluster = 3

    /// How reading a slot for a fault went.
    enum ReadOutcome {
        /// The page, in the swap cache, with a reference for the caller.
        case read(PhysAddr)
        /// Another fault is reading the slot now.
        case busy
        /// The slot is free: the swap PTE that named it is gone.
        case freed
        case noMemory
        case ioError
    }

    /// Under `lock`: the window's state, and the pages read ahead that faults
    /// found since the last window was chosen. Linux: swapin_nr_pages()'s
    /// statics and swapin_readahead_hits
    nonisolated(unsafe) private static var readahead = SwapReadahead()
    nonisolated(unsafe) private static var readaheadHits = 0

    /// A fault found `frame` in the swap cache: if it was read ahead, that is
    /// a hit, and the next window may grow. Linux: swap_cache_get_folio()'s
    /// folio_test_clear_readahead()
    static func noteCacheHit(_ frame: PhysAddr) {
        guard PageState.clear(frame, .readahead).contains(.readahead) else { return }
        VMStat.count(.swapReadaheadHit)
        lock.withLock { readaheadHits += 1 }
    }

    /// Reads `entry`'s slot into the swap cache, and the other slots of the
    /// window around it that are in use and not cached yet (best effort: a
    /// neighbour that cannot be had is skipped). Each run of consecutive
    /// slots is one request to the disk. The pages come from where `choice`
    /// (the faulting VMA's memory policy) says.
    /// Linux: swap_cluster_readahead() → __read_swap_cache_async(), the
    /// reads merged under its blk_start_plug()
    static func readAround(_ entry: SwapEntry, on choice: NodeChoice?) -> ReadOutcome {
        let fault: Claim
        switch claim(entry, forFault: true, on: choice) {
        case .done(let outcome): return outcome
        case .claimed(let claimed): fault = claimed
        }
        let pages = lock.withLock { () -> Int in
            defer { readaheadHits = 0 }
            return readahead.window(for: entry.offset, hits: readaheadHits, maxPages: 1 << pageCluster)
        }
        let window = SwapReadahead.slots(around: entry.offset, pages: pages)
        return withUnsafeTemporaryAllocation(of: Claim.self, capacity: window.count) { claims in
            var count = 0
            var outOfMemory = false
            for offset in window {
                var next = fault
                if offset != entry.offset {
                    // No memory for one neighbour will not be better for the next.
                    guard !outOfMemory else { continue }
                    switch claim(SwapEntry(type: entry.type, offset: offset), forFault: false, on: choice) {
                    case .claimed(let claimed): next = claimed
                    case .done(let outcome):
                        if case .noMemory = outcome { outOfMemory = true }
                        continue
                    }
                }
                (claims.baseAddress! + count).initialize(to: next)
                count += 1
            }
            defer { claims.baseAddress!.deinitialize(count: count) }
            var faultRead = true
            var i = 0
            while i < count {
                var length = 1
                while i + length < count, claims[i + length].offset == claims[i].offset + UInt64(length) { length += 1 }
                let run = UnsafeMutableBufferPointer(rebasing: claims[i..<i + length])
                if !read(run) && run.contains(where: { $0.forFault }) { faultRead = false }
                i += length
            }
            return faultRead ? .read(fault.frame) : .ioError
        }
    }

    /// A slot claimed for reading (its cache bit set), and the fresh frame
    /// its page is to be read into.
    private struct Claim {
        let area: SwapArea
        let offset: UInt64
        let frame: PhysAddr
        /// The fault's own slot (else read ahead).
        let forFault: Bool
    }

    private enum Claimed {
        /// Nothing to read: what the fault gets (a page cached already,
        /// another reader, the slot freed, no memory).
        case done(ReadOutcome)
        case claimed(Claim)
    }

    /// Claims one slot and takes a frame for it. For the fault's own slot
    /// (`forFault`) a page already cached is returned with a reference; a
    /// neighbour already cached, or with no PTE naming it, is left alone
    /// (`.freed`). Linux: __read_swap_cache_async() up to swap_read_folio()
    private static func claim(_ entry: SwapEntry, forFault: Bool, on choice: NodeChoice?) -> Claimed {
        lock.lock()
        guard let area = area(entry.type), entry.offset < UInt64(area.map.slots),
              area.map.count(entry.offset) > 0 else {
            lock.unlock()
            return .done(.freed)
        }
        if let cached = area.cachedFrame(entry.offset) {
            let got = forFault && MapCount.tryGet(cached)
            lock.unlock()
            return .done(got ? .read(cached) : forFault ? .busy : .freed)
        }
        guard area.map.claimCache(entry.offset) else {
            lock.unlock()
            return .done(.busy)
        }
        lock.unlock()
        // The fault's own page may reclaim for its frame (swapoff's too, which
        // has no OOM killer to retry after); a read-ahead page only takes a
        // free one. Linux: the direct reclaim of __alloc_pages_slowpath()
        // for a GFP_HIGHUSER_MOVABLE page, __GFP_NORETRY for read-ahead
        guard let frame = PageAllocator.allocate(on: choice)
                ?? (forFault && Vmscan.tryToFreePages() > 0 ? PageAllocator.allocate(on: choice) : nil) else {
            unclaim(entry)
            return .done(.noMemory)
        }
        // Fresh: nobody sees it until it is in the cache.
        MapCount.initialize(frame, to: forFault ? 1 : 0)
        PageAllocator.mark(frame, forFault ? [.swapBacked] : [.swapBacked, .readahead])
        return .claimed(Claim(area: area, offset: entry.offset, frame: frame, forFault: forFault))
    }

    /// Reads a run of claimed, consecutive slots in one request and puts
    /// each page in the swap cache and on the LRU lists. If the disk fails,
    /// every page of the run is dropped and its claim given up: false.
    /// Linux: swap_read_folio() + end_swap_bio_read()
    private static func read(_ run: UnsafeMutableBufferPointer<Claim>) -> Bool {
        let area = run[0].area
        let failed = withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: run.count) { pages in
            for (k, claimed) in run.enumerated() {
                pages[k] = UnsafeMutableRawPointer(DirectMap.pointer(claimed.frame, as: UInt8.self))
            }
            do throws(Errno) {
                try area.transfer(run: run[0].offset, UnsafeBufferPointer(pages), write: false)
                return false
            } catch {
                return true
            }
        }
        for claimed in run {
            if failed {
                Log.error("Read-error on swap-device (\(area.deviceNumber.major):\(area.deviceNumber.minor):\(claimed.offset * 8))")
                unclaim(SwapEntry(type: area.type, offset: claimed.offset))
                PageAllocator.free(claimed.frame)
                continue
            }
            VMStat.count(.swapIns)
            VMStat.count(claimed.forFault ? .workingsetRefaultAnon : .swapReadahead)
            lock.lock()
            SwapCache.insertLocked(claimed.frame, area: area, offset: claimed.offset)
            lock.unlock()
            // On the anon lists, so that reclaim can take back a read-ahead page
            // nobody maps. Linux: folio_add_lru() in __read_swap_cache_async()
            LRU.add(claimed.frame)
        }
        return !failed
    }

    /// Gives up a claim on a slot whose page could not be read.
    private static func unclaim(_ entry: SwapEntry) {
        lock.lock()
        if let area = area(entry.type) { area.map.dropCache(entry.offset) }
        lock.unlock()
    }

    /// The fault mapping `frame` (a swap-cache page it holds) in place of a
    /// PTE naming `entry`: the PTE's reference to the slot goes. `exclusive`:
    /// that was the slot's last user and the fault holds the only reference
    /// besides the cache's. Then with `freeSwap` the page leaves the cache
    /// (freeing the slot); `cached` says whether it is still there.
    /// Linux: do_swap_page()'s swap_free() + should_try_to_free_swap() / folio_free_swap()
    static func releaseSlot(for frame: PhysAddr, entry: SwapEntry,
                            freeSwap: Bool) -> (exclusive: Bool, cached: Bool) {
        lock.lock()
        guard let area = area(entry.type) else { Panic.now("do_swap_page: \(entry) of an area that is gone") }
        area.map.put(entry.offset)
        let inCache = area.cachedFrame(entry.offset) == frame
        let exclusive: Bool
        var tookOut = false
        if inCache {
            exclusive = area.map.count(entry.offset) == 0 && MapCount.count(frame) == 2
            if exclusive && freeSwap {
                SwapCache.deleteLocked(frame, area: area, offset: entry.offset)
                tookOut = true
            }
        } else {
            // A page swapoff took out of the cache meanwhile is exclusive if
            // the fault's reference is its only one.
            exclusive = SwapCache.slot(of: frame) == nil && MapCount.count(frame) == 1
        }
        lock.unlock()
        if tookOut { MapCount.put(frame) }              // the cache's: the fault's is left
        return (exclusive, inCache && !tookOut)
    }

    /// Swap is more than half used: pages read back give up their slots
    /// rather than keep a copy in swap. Linux: vm_swap_full()
    static var isHalfFull: Bool {
        lock.withLock {
            var free = 0, total = 0
            for case let area? in areas {
                free += area.map.freePages
                total += area.map.usablePages
            }
            return free * 2 < total
        }
    }

    /// A write fault on a read-only swap-cache page: if no PTE names its slot
    /// any more, the page leaves the cache (its slot freed) so the write can
    /// reuse it instead of copying. True if it did. Not while reclaim has it
    /// isolated (off the LRU): reclaim uses its swap entry. Linux:
    /// folio_free_swap() in wp_can_reuse_anon_folio() (under the folio lock)
    static func freeIfUnused(_ frame: PhysAddr) -> Bool {
        lock.lock()
        guard PageState.flags(frame).contains(.lru), let (area, offset) = SwapCache.slot(of: frame),
              area.map.count(offset) == 0 else {
            lock.unlock()
            return false
        }
        SwapCache.deleteLocked(frame, area: area, offset: offset)
        lock.unlock()
        MapCount.put(frame)                             // never the last: a PTE maps it
        return true
    }
}

extension RMap {
    /// Records a page read back from swap as an anonymous page of `mm` at
    /// `address`. One exclusive to this mapping gets the mm's own anon_vma;
    /// one other mms may still map (their swap PTEs name the same slot) gets
    /// the oldest anon_vma of the mm's chain, whose list holds every mm
    /// forked from it, so that reclaim finds all of them.
    /// Linux: folio_add_new_anon_rmap() → __folio_set_anon() (anon_vma->root when !exclusive)
    static func addSwappedInPage(_ frame: PhysAddr, _ mm: MM, at address: VirtAddr, exclusive: Bool) {
        let own = prepare(mm)
        let anonVMA = exclusive ? own : lock.withLock { mm.anonChain.first ?? own }
        let page = PageAllocator.page(frame)
        page.pointee.mapping = anonVMA.id
        page.pointee.index = address.value >> pageShift
    }
}
