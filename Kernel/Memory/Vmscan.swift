// Page reclaim: finding memory to free when free memory runs low (seed 002).
//
//   kswapd        a kernel thread the allocator wakes when free memory falls
//                 below the low watermark; it reclaims until free memory is
//                 back at the high watermark, then sleeps (Linux: kswapd(),
//                 balance_pgdat())
//   direct        an allocation that failed reclaims by itself before the OOM
//                 killer is asked (Linux: try_to_free_pages())
//
// Both run `shrinkNode`: it decides how many pages of each LRU type to scan
// (Kernel/Core's ScanCounts: /proc/sys/vm/swappiness, and no anonymous pages
// without swap), refills the inactive lists from the active ones when they
// run short (shrinkActiveList: used pages lose their accessed bits and go
// down), and evicts from the inactive tails (shrinkInactiveList →
// shrinkPageList). For each inactive page the reverse map reads and clears
// the accessed bits of its PTEs, and Kernel/Core's PageReferences decides:
// activate, keep (the second chance) or reclaim. Reclaiming a page:
//
//   file page, clean     unmapped from every process, dropped from its
//                        page cache (it can be read again)
//   file page, dirty     left for the flusher, which is woken; the next pass
//                        finds it clean (Linux too leaves file write-back
//                        to the flusher, except kswapd in rare cases)
//   anonymous page       given a swap slot and put in the swap cache, every
//                        PTE replaced by the swap entry, written to swap,
//                        dropped from the swap cache
//
// The PTEs of a whole batch are changed first; one TLB flush per mm touched
// follows; only then is anything written or freed, so no CPU can still write
// through a stale translation (Linux: the TTU_BATCH_FLUSH batching,
// try_to_unmap_flush()). The slab shrinkers (dentries, inodes, clean buffers)
// run when page reclaim alone falls short.
// Linux: mm/vmscan.c

import Synchronization

enum Vmscan {
    /// What one reclaim run wants and has done. Linux: struct scan_control
    struct ScanControl {
        let isKswapd: Bool
        /// The node whose lists `shrinkNode` scans. Linux: the pgdat argument of shrink_node()
        var node: Int
        /// Pages to free before stopping. Linux: nr_to_reclaim
        var toReclaim: Int
        /// 12 down to 0: each list is scanned size >> priority at a time.
        /// Linux: sc->priority (DEF_PRIORITY = 12)
        var priority = Vmscan.defaultPriority
        var scanned = 0
        var reclaimed = 0

        init(isKswapd: Bool, node: Int, toReclaim: Int) {
            self.isKswapd = isKswapd
            self.node = node
            self.toReclaim = toReclaim
        }
    }

    /// Linux: DEF_PRIORITY
    static let defaultPriority = 12

    /// One pass over node `sc.node`'s LRU lists at `sc.priority`.
    /// Linux: shrink_node() → shrink_lruvec()
    static func shrinkNode(_ sc: inout ScanControl) {
        let node = sc.node
        let anon = LRU.count(.inactiveAnon, node: node) + LRU.count(.activeAnon, node: node)
        let file = LRU.count(.inactiveFile, node: node) + LRU.count(.activeFile, node: node)
        let counts = ScanCounts.compute(anonPages: anon, filePages: file, swappiness: VMSysctl.swappiness,
                                        haveSwap: Swap.hasSwap, priority: sc.priority,
                                        fileIsTiny: file < PageAllocator.node(node).pointee.highWatermarkPages)
        var left = (anon: counts.anon, file: counts.file)
        while (left.anon > 0 || left.file > 0) && sc.reclaimed < sc.toReclaim {
            for isFile in [true, false] {
                let share = isFile ? left.file : left.anon
                guard share > 0 else { continue }
                let chunk = min(share, ScanCounts.swapClusterMax)
                if isFile { left.file -= chunk } else { left.anon -= chunk }
                let inactive = LRUListKind(file: isFile, active: false)
                if inactiveIsLow(inactive: LRU.count(inactive, node: node), active: LRU.count(inactive.partner, node: node)) {
                    shrinkActiveList(inactive.partner, scan: chunk, &sc)
                }
                shrinkInactiveList(inactive, scan: chunk, &sc)
            }
            Scheduler.condResched()
        }
    }

    /// Moves the least recently used pages of an active list down to its
    /// inactive list, clearing their accessed bits on the way; mapped program
    /// text that was used stays active. Linux: shrink_active_list()
    private static func shrinkActiveList(_ kind: LRUListKind, scan: Int, _ sc: inout ScanControl) {
        withUnsafeTemporaryAllocation(of: PhysAddr.self, capacity: ScanCounts.swapClusterMax) { batch in
            let (scanned, taken) = LRU.isolateFromTail(kind, node: sc.node, scan: scan, into: batch)
            VMStat.count(.pgRefill, by: UInt64(scanned))
            var deactivated = 0
            for frame in batch[0..<taken] {
                let use = referenced(frame)
                if use.ptes > 0 && use.executable && kind.isFile {
                    continue                                      // stays active
                }
                PageState.clear(frame, .active)
                PageState.set(frame, .workingset)
                deactivated += 1
            }
            VMStat.count(.pgDeactivate, by: UInt64(deactivated))
            Trace.vmscanShrinkActive(node: sc.node, taken: taken, deactivated: deactivated, kind: kind, priority: sc.priority)
            LRU.putback(UnsafeMutableBufferPointer(rebasing: batch[0..<taken]))
        }
    }

    /// Takes pages from an inactive tail and reclaims what it can; the rest
    /// goes back (to the active list if it was used). Linux: shrink_inactive_list()
    private static func shrinkInactiveList(_ kind: LRUListKind, scan: Int, _ sc: inout ScanControl) {
        withUnsafeTemporaryAllocation(of: PhysAddr.self, capacity: ScanCounts.swapClusterMax) { batch in
            let (scanned, taken) = LRU.isolateFromTail(kind, node: sc.node, scan: scan, into: batch)
            guard taken > 0 else { return }
            sc.scanned += scanned
            VMStat.count(sc.isKswapd ? .pgScanKswapd : .pgScanDirect, by: UInt64(scanned))
            VMStat.count(kind.isFile ? .pgScanFile : .pgScanAnon, by: UInt64(scanned))
            var stats = ShrinkStats()
            let kept = shrinkPageList(UnsafeMutableBufferPointer(rebasing: batch[0..<taken]), &stats)
            sc.reclaimed += stats.reclaimed
            VMStat.count(sc.isKswapd ? .pgStealKswapd : .pgStealDirect, by: UInt64(stats.reclaimed))
            VMStat.count(kind.isFile ? .pgStealFile : .pgStealAnon, by: UInt64(stats.reclaimed))
            VMStat.count(.pgActivate, by: UInt64(stats.activated))
            Trace.vmscanShrinkInactive(node: sc.node, scanned: scanned, stats: stats, priority: sc.priority, kind: kind)
            if stats.dirty > 0 { Writeback.wakeFlusher(forReclaim: true) }
            LRU.putback(UnsafeMutableBufferPointer(rebasing: batch[0..<kept]))
        }
    }

    /// What one shrinkPageList did, for the counters and the trace line.
    /// Linux: struct reclaim_stat
    struct ShrinkStats {
        var reclaimed = 0
        var activated = 0
        var dirty = 0
        var writeback = 0
        var keptReferenced = 0
        var unmapFailed = 0
        var activatedAnon = 0
        var activatedFile = 0
    }

    /// What reclaim does next with a page of the batch.
    private enum Next { case keep, activate, write, free }

    /// Reclaims what it can of `batch` (isolated pages, each with the
    /// caller's reference); moves the pages to keep to the front and returns
    /// how many, for the caller to put back. Linux: shrink_folio_list()
    /// (Reclaim runs when memory is short: what it keeps aside lives on its
    /// stack, since a failed heap allocation in the kernel cannot be caught.)
    private static func shrinkPageList(_ batch: UnsafeMutableBufferPointer<PhysAddr>, _ stats: inout ShrinkStats) -> Int {
        withUnsafeTemporaryAllocation(of: Next.self, capacity: batch.count) { next in
            next.initialize(repeating: .keep)
            return shrinkPageList(batch, next, &stats)
        }
    }

    private static func shrinkPageList(_ batch: UnsafeMutableBufferPointer<PhysAddr>, _ next: UnsafeMutableBufferPointer<Next>,
                                       _ stats: inout ShrinkStats) -> Int {
        var flushes = TLBBatch()
        // 1. Decide, and unmap what is to go.
        for (i, frame) in batch.enumerated() {
            let flags = PageState.flags(frame)
            if flags.contains(.writeback) {
                stats.writeback += 1
                continue
            }
            let anon = flags.contains(.anon)
            // (A swap-cache page nobody has mapped yet, read ahead, is not anonymous yet.)
            guard anon || flags.contains(.swapCache) || PageAllocator.page(frame).pointee.isPageCache else { continue }   // truncated meanwhile
            let use = referenced(frame)
            let wasReferenced = PageState.clear(frame, .referenced).contains(.referenced)
            switch PageReferences.check(referencedPTEs: use.ptes, wasReferenced: wasReferenced, locked: use.locked,
                                        swapBacked: flags.contains(.swapBacked), executable: use.executable) {
            case .activate where use.locked:
                // mlocked: off the lists reclaim scans until munlock.
                // Linux: the mlock_vma_folio() of folio_referenced_one()
                PageState.set(frame, .unevictable)
                VMStat.count(.unevictableCulled)
                continue
            case .activate:
                next[i] = .activate
                continue
            case .keep:
                stats.keptReferenced += 1
                continue
            case .reclaimClean where flags.contains(.dirty):
                continue
            case .reclaim, .reclaimClean:
                break
            }
            if anon && !flags.contains(.swapCache) {
                // Room in swap first: without it the page cannot go anywhere.
                do throws(Errno) {
                    _ = try Swap.addToSwapCache(frame)
                } catch {
                    next[i] = .activate
                    continue
                }
                PageState.set(frame, .dirty)          // its contents are nowhere else yet
            }
            if MapCount.mappers(frame) > 0 && !tryToUnmap(frame, &flushes) {
                stats.unmapFailed += 1
                next[i] = .activate
                continue
            }
            next[i] = anon ? .write : .free
        }
        // 2. No CPU may still reach an unmapped page through its TLB.
        flushes.flush()
        // 3. Write the dirty anonymous pages to swap, all together: pages
        //    whose slots follow one another go to the disk as one request.
        withUnsafeTemporaryAllocation(of: (frame: PhysAddr, index: Int).self, capacity: batch.count) { dirty in
            var count = 0
            for (i, frame) in batch.enumerated() where next[i] == .write {
                next[i] = .free                              // clean already: nothing to write
                if PageState.clear(frame, .dirty).contains(.dirty) {
                    dirty[count] = (frame, i)
                    count += 1
                }
            }
            withUnsafeTemporaryAllocation(of: PhysAddr.self, capacity: max(count, 1)) { frames in
                for k in 0..<count { frames[k] = dirty[k].frame }
                Swap.writePages(UnsafeBufferPointer(rebasing: frames[0..<count])) { k, error in
                    switch error {
                    case nil:
                        break
                    case .ENOENT?:
                        next[dirty[k].index] = .keep         // out of the swap cache: the put below may free it
                    case _?:
                        PageState.set(dirty[k].frame, .dirty)
                        next[dirty[k].index] = .activate
                    }
                }
            }
        }
        // 4. Free what is clean and unused.
        var kept = 0
        for (i, frame) in batch.enumerated() {
            var action = next[i]
            if action == .free {
                if PageState.flags(frame).contains(.dirty) {
                    // A file page some mapping had dirtied: the flusher writes it first.
                    stats.dirty += 1
                    VMStat.count(.pgRotated)
                    action = .keep
                } else if evict(frame) {
                    stats.reclaimed += 1
                    MapCount.put(frame)                    // the last reference: the frame is free
                    continue
                } else {
                    action = .keep                         // used again meanwhile
                }
            }
            if action == .activate {
                PageState.set(frame, .active)
                stats.activated += 1
                if PageState.flags(frame).contains(.anon) { stats.activatedAnon += 1 } else { stats.activatedFile += 1 }
            }
            batch[kept] = frame
            kept += 1
        }
        return kept
    }

    /// Drops the cache's reference to a page nobody else uses now (the
    /// caller holds the only other one); false if someone took a reference
    /// meanwhile. Linux: __remove_mapping()
    private static func evict(_ frame: PhysAddr) -> Bool {
        let page = PageAllocator.page(frame).pointee
        if page.flags.contains(.swapCache) { return Swap.reclaimFromSwapCache(frame) }
        guard page.isPageCache, let space = PageCache.space(id: page.mapping) else { return false }
        return space.removeIfUnused(page.index, frame)
    }

    /// What the mappings of a page say about its use.
    struct Use {
        /// PTEs whose accessed bit was set (now cleared). Linux: folio_referenced()'s result
        var ptes = 0
        /// Some mapping is mlocked. Linux: VM_LOCKED in vm_flags
        var locked = false
        /// Some mapping may execute it. Linux: VM_EXEC in vm_flags
        var executable = false
    }

    /// Reads and clears the accessed bits of every PTE mapping `frame`.
    /// Linux: folio_referenced() → folio_referenced_one()
    static func referenced(_ frame: PhysAddr) -> Use {
        var use = Use()
        guard MapCount.mappers(frame) > 0 else { return use }
        RMap.walk(frame) { mm, vma, address in
            mm.pageTableLock.lock()
            let young = mm.pageTable.testAndClearAccessed(address, ifMapping: frame)
            mm.pageTableLock.unlock()
            guard let young else { return true }
            if vma.flags.contains(.locked) {
                use.locked = true
                return false
            }
            if young { use.ptes += 1 }
            if vma.flags.contains(.exec) { use.executable = true }
            return true
        }
        return use
    }

    /// Replaces every PTE mapping `frame`: by its swap entry for an
    /// anonymous page (in the swap cache by now), by nothing for a file page.
    /// A dirty bit found goes to the page. True when no mapping is left; the
    /// caller flushes `flushes` before it writes or frees the page.
    /// Linux: try_to_unmap() → try_to_unmap_one()
    static func tryToUnmap(_ frame: PhysAddr, _ flushes: inout TLBBatch) -> Bool {
        let page = PageAllocator.page(frame).pointee
        let anon = page.flags.contains(.anon)
        let swapPTE = anon ? SwapEntry(packed: page.private).pageTableEntry : PageTableEntry.none
        var dirtied = false
        RMap.walk(frame) { mm, vma, address in
            if vma.flags.contains(.locked) { return false }      // mlocked: stays resident
            mm.pageTableLock.lock()
            if let old = mm.pageTable.replaceLeaf(address, ifMapping: frame, with: swapPTE) {
                if anon {
                    Swap.duplicate(SwapEntry(packed: page.private))
                    mm.swapEntries += 1
                }
                mm.rss.add(RSSCounter(page.flags), -1)
                _ = MapCount.remove(frame)                 // never the last: the caller holds one
                if old.flags.contains(.dirty) { dirtied = true }
                flushes.add(mm)
            }
            mm.pageTableLock.unlock()
            return true
        }
        if dirtied {
            // The page's own dirty flag, or (a file page) its cache's
            // accounting; outside the page-table locks, which rank after the cache's.
            if anon {
                PageState.set(frame, .dirty)
            } else if let space = PageCache.space(id: page.mapping) {
                space.markDirty(frame)
            }
        }
        return MapCount.count(frame) == PageAllocator.page(frame).pointee.cacheReferences + 1
    }

    /// The mms whose PTEs a reclaim batch changed: each is flushed once,
    /// before any page of the batch is written or freed. Holding a Swift
    /// reference keeps the object; an mm torn down meanwhile has flushed
    /// itself. Up to eight mms, inline: reclaim runs when memory is short and
    /// allocates nothing. A batch that touched more (a page shared by many
    /// forked processes) flushes every CPU's whole TLB instead, as Linux does
    /// when its batch cannot say which CPUs to flush. `add` runs under an
    /// mm's page-table lock, so it never flushes itself.
    /// Linux: struct tlbflush_unmap_batch, try_to_unmap_flush()
    struct TLBBatch {
        private var mms = InlineArray<8, MM?>(repeating: nil)
        private var count = 0
        private var overflowed = false

        mutating func add(_ mm: MM) {
            for i in 0..<count where mms[i] === mm { return }
            guard count < mms.count else {
                overflowed = true
                return
            }
            mms[count] = mm
            count += 1
        }

        /// Linux: try_to_unmap_flush()
        mutating func flush() {
            if overflowed {
                TLB.flush(.all, on: .all)
            } else {
                for i in 0..<count { if let mm = mms[i] { mm.flush(VirtAddr(0), VirtAddr(mm.layout.taskSize)) } }
            }
            for i in 0..<count { mms[i] = nil }
            count = 0
            overflowed = false
        }
    }

    // MARK: - direct reclaim

    /// An allocation failed: reclaim here, harder at each priority, until a
    /// batch of pages is free. At each priority the nodes are shrunk in the
    /// order this CPU's node allocates from, nearest first; with `nodes`,
    /// only those (the allocation's policy allows no other). Returns how many
    /// pages were freed (0: nothing more to reclaim; the OOM killer is next).
    /// A caller holding a file system's lock passes `shrinkCaches: false`:
    /// the cache shrinkers take those locks. Linux: try_to_free_pages() →
    /// do_try_to_free_pages() → shrink_zones() over the zonelist (GFP_NOFS
    /// keeps the file systems' shrinkers out the same way)
    static func tryToFreePages(shrinkCaches: Bool = true, toReclaim: Int = ScanCounts.swapClusterMax,
                               nodes: NodeMask? = nil) -> Int {
        VMStat.count(.allocStall)
        Trace.vmscanDirectReclaimBegin(order: 0)
        let zonelist = PageAllocator.zonelist(from: NUMA.localNode)
        var sc = ScanControl(isKswapd: false, node: NUMA.localNode, toReclaim: toReclaim)
        while sc.reclaimed < sc.toReclaim {
            // Only the nodes the allocation may use: freeing others helps it not.
            // Linux: shrink_zones() over the zonelist filtered by the nodemask
            for node in zonelist where sc.reclaimed < sc.toReclaim && nodes?.contains(node) ?? true {
                sc.node = node
                shrinkNode(&sc)
            }
            if shrinkCaches && sc.reclaimed < sc.toReclaim && sc.priority <= Self.defaultPriority - 2 {
                sc.reclaimed += shrinkSlab()
            }
            guard sc.priority > 0 else { break }
            sc.priority -= 1
        }
        Trace.vmscanDirectReclaimEnd(reclaimed: sc.reclaimed)
        if sc.reclaimed > 0 { Kswapd.progressMade() }
        return sc.reclaimed
    }

    /// The caches outside the LRU lists give back what nobody uses: dentries,
    /// inodes and the file systems' clean buffers. Returns the frames freed.
    /// Linux: shrink_slab() over the registered shrinkers
    static func shrinkSlab() -> Int {
        let before = PageAllocator.freePages
        VMSysctl.dropSlab()
        VMSysctl.dropCleanBuffers()
        VMStat.count(.slabsScanned)
        return max(0, PageAllocator.freePages - before)
    }
}

// MARK: - kswapd

/// The reclaim threads, one per node with memory: kswapd0, kswapd1, ...
/// Linux: kswapd (mm/vmscan.c), pgdat->kswapd, pgdat->kswapd_wait
enum Kswapd {
    /// One node's daemon. Its fields are atomics, shared between the
    /// allocating CPUs (wake) and the thread.
    final class Daemon {
        let node: Int
        /// The thread, once it runs. Written once, by the thread itself.
        nonisolated(unsafe) var thread: Task? = nil
        /// A wake-up is pending: set by `wake`, cleared by kswapd when it
        /// starts a run, read inside its sleep's condition (no lost wake-up).
        let wanted = Atomic<Bool>(false)
        /// kswapd is balancing now: allocations below the low watermark do
        /// not wake it again.
        let running = Atomic<Bool>(false)
        /// Balancing runs in a row that freed nothing. At `maxFailures`
        /// kswapd is not woken again until some reclaim frees a page: with
        /// nothing left to reclaim it would only burn the CPU the OOM victim
        /// needs to exit. Linux: pgdat->kswapd_failures, MAX_RECLAIM_RETRIES
        let failures = Atomic<Int>(0)

        init(node: Int) { self.node = node }
    }

    /// Index = node id; written once at boot, before any task allocates.
    nonisolated(unsafe) private static var daemons: [Daemon] = []
    static let maxFailures = 16

    /// Some reclaim freed pages: every node's kswapd may be worth waking again.
    static func progressMade() {
        for daemon in daemons where daemon.failures.load(ordering: .relaxed) != 0 {
            daemon.failures.store(0, ordering: .relaxed)
        }
    }

    /// Starts kswapdN for every node with memory; a boot without them would
    /// reclaim only in allocating tasks, so failing to start one is a kernel
    /// bug. Each is a WRR kernel thread like the others, so a CPU kept busy
    /// by WRR tasks still gives it its share. Linux: kswapd_run()
    static func start() {
        daemons = (0..<PageAllocator.nodeCount).map { Daemon(node: $0) }
        for daemon in daemons where PageAllocator.node(daemon.node).pointee.managedPages > 0 {
            guard KernelThread.start("kswapd\(daemon.node)", { run(daemon) }) else {
                Panic.now("no memory for kswapd\(daemon.node)")
            }
        }
    }

    /// Node `node`'s free memory fell below its low watermark. Called by the
    /// allocator, so it only sets a flag and wakes a sleeping thread.
    /// Linux: wakeup_kswapd()
    static func wake(node: Int) {
        guard node < daemons.count else { return }
        let daemon = daemons[node]
        guard let thread = daemon.thread, !daemon.running.load(ordering: .relaxed),
              daemon.failures.load(ordering: .relaxed) < maxFailures,
              !daemon.wanted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Trace.vmscanWakeupKswapd(node: node, order: 0)
        Scheduler.wake(thread)
    }

    private static func run(_ daemon: Daemon) {
        daemon.thread = Scheduler.current
        while true {
            while !Scheduler.sleep(until: nil, unless: { daemon.wanted.load(ordering: .acquiring) }) {}
            daemon.running.store(true, ordering: .relaxed)
            daemon.wanted.store(false, ordering: .relaxed)
            Trace.vmscanKswapdWake(node: daemon.node, order: 0)
            balance(daemon)
            daemon.running.store(false, ordering: .relaxed)
            Trace.vmscanKswapdSleep(node: daemon.node)
        }
    }

    /// Reclaims until the node's free memory reaches its high watermark,
    /// harder each time a pass falls short; gives up at priority 0 (the OOM
    /// killer may then be needed, in an allocating task). Linux: balance_pgdat()
    private static func balance(_ daemon: Daemon) {
        VMStat.count(.pageOutRun)
        let node = daemon.node
        let allocator = PageAllocator.node(node)
        if PageAllocator.freePages(node: node) >= allocator.pointee.lowWatermarkPages { VMStat.count(.kswapdLowWmarkQuickly) }
        var priority = Vmscan.defaultPriority
        var freed = 0
        defer {
            if freed == 0 { daemon.failures.add(1, ordering: .relaxed) } else { daemon.failures.store(0, ordering: .relaxed) }
        }
        while PageAllocator.freePages(node: node) < allocator.pointee.highWatermarkPages {
            var sc = Vmscan.ScanControl(isKswapd: true, node: node,
                                        toReclaim: max(allocator.pointee.highWatermarkPages - PageAllocator.freePages(node: node),
                                                       ScanCounts.swapClusterMax))
            sc.priority = priority
            Vmscan.shrinkNode(&sc)
            if sc.reclaimed < sc.toReclaim {
                // The buffer cache and the dentry and inode caches are not on
                // the LRU lists: their shrinkers run whenever pages fall short.
                sc.reclaimed += Vmscan.shrinkSlab()
                freed += sc.reclaimed
                guard priority > 0 else { break }
                priority -= 1
            } else {
                freed += sc.reclaimed
            }
            Scheduler.condResched()
        }
    }
}
