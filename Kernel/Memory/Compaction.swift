// Memory compaction, the kernel's side: runs Kernel/Core's CompactControl on
// the real zones, with LRU isolation and page migration (Migrate.swift) for
// moving pages. Two triggers, as on Linux:
//
//   compact_memory   a write of 1 to /proc/sys/vm/compact_memory compacts
//                    every zone, whole, in the writer's time (VMSysctl.swift).
//   direct           a request for more than one frame that fails, from a
//                    caller that may sleep (GFP.directReclaim), compacts the
//                    zones it may use until a block of its order is free,
//                    then tries again (PageAllocator.allocate). A quick pass
//                    first (blocks with a page that cannot move are skipped),
//                    then a thorough one; a zone where the thorough pass
//                    failed is left alone for the next 1, 2, 4 … 64 tries at
//                    that order (CompactionDeferral).
//
// Counters: compact_migrate_scanned, compact_free_scanned, compact_isolated
// for every run; compact_stall / compact_success / compact_fail for direct
// ones; pgmigrate_success / pgmigrate_fail per page (Migrate.swift).
//
// Compaction takes no lock across its run: the zone lock for each free block
// it takes, the LRU lock for each page it isolates, a page's own locks while
// it moves. It may run on several CPUs at once; isolation makes each page
// and each free block one run's. It never sleeps on a lock (every lock it
// takes on another process's behalf is a try-lock), and gives the CPU away
// between rounds (Scheduler.condResched).
// Linux: mm/compaction.c (compact_nodes(), try_to_compact_pages(),
// compact_zone_order()), mm/page_alloc.c (__alloc_pages_direct_compact())

enum Compaction {
    /// Each zone's back-off after failed direct compaction, by
    /// `ZoneType.rawValue`. `PageAllocator.zoneLock` held.
    /// Linux: zone->compact_considered, compact_defer_shift, compact_order_failed
    nonisolated(unsafe) private static var deferral = InlineArray<3, CompactionDeferral>(repeating: CompactionDeferral())

    /// /proc/sys/vm/compact_memory: every populated zone, whole.
    /// Linux: compact_nodes() → compact_node()
    static func compactAll() {
        for type in ZoneType.allCases where zone(type).isPopulated {
            _ = compact(type, order: -1, quick: false)
        }
    }

    /// A request for 2^order frames failed: compacts the zones `flags`
    /// allows, highest first, and takes the block as soon as one is free.
    /// nil when compaction could not make one. Only for callers that may
    /// sleep. Linux: __alloc_pages_direct_compact() → try_to_compact_pages()
    static func allocateAfterCompacting(order: Int, flags: GFP) -> PhysAddr? {
        Lockdep.mightSleep()
        VMStat.count(.compactStall)
        for pass in 0..<2 {
            let quick = pass == 0
            var zoneIndex = flags.highestZone.rawValue
            while zoneIndex >= 0 {
                let type = ZoneType(rawValue: zoneIndex)!
                zoneIndex -= 1
                guard zone(type).isPopulated,
                      !PageAllocator.zoneLock.withLock({ deferral[type.rawValue].isDeferred(order: order) }) else { continue }
                let result = compact(type, order: order, quick: quick)
                if result == .success, let block = PageAllocator.allocateFromZones(order: order, flags: flags) {
                    PageAllocator.zoneLock.withLock { deferral[type.rawValue].succeeded(order: order, allocated: true) }
                    VMStat.count(.compactSuccess)
                    return block
                }
                if !quick && result == .complete {
                    PageAllocator.zoneLock.withLock { deferral[type.rawValue].failed(order: order) }
                }
            }
        }
        VMStat.count(.compactFail)
        return nil
    }

    /// A snapshot of one zone's counters and lists.
    private static func zone(_ type: ZoneType) -> Zone {
        PageAllocator.zoneLock.withLock { PageAllocator.buddy.pointee.zone(type) }
    }

    /// One run over `type`, counted in /proc/vmstat. Linux: compact_zone()
    private static func compact(_ type: ZoneType, order: Int, quick: Bool) -> CompactResult {
        var control = CompactControl(zone: zone(type), order: order, memMap: PageAllocator.buddy.pointee.memMap,
                                     quick: quick)
        var host = KernelCompaction()
        let result = control.run(&host)
        VMStat.count(.compactMigrateScanned, by: UInt64(control.migrateScanned))
        VMStat.count(.compactFreeScanned, by: UInt64(control.freeScanned))
        VMStat.count(.compactIsolated, by: UInt64(control.isolated))
        return result
    }
}

/// What the compactor asks of the kernel. Linux: folio_isolate_lru(),
/// migrate_pages(), putback_movable_pages(), release_freepages()
private struct KernelCompaction: CompactionHost {
    mutating func withBuddy<R>(_ body: (inout BuddyAllocator<DirectMap>) -> R) -> R {
        PageAllocator.zoneLock.lock()
        defer { PageAllocator.zoneLock.unlock() }
        return body(&PageAllocator.buddy.pointee)
    }

    /// Pages Migrate would refuse anyway stay on their lists.
    mutating func isolate(_ pfn: UInt64) -> Bool {
        let frame = PhysAddr(pfn: pfn)
        let flags = PageState.flags(frame)
        guard !flags.contains(.swapCache), !flags.contains(.writeback) else { return false }
        return LRU.isolate(frame)
    }

    mutating func migrate(_ source: UInt64, to target: UInt64) -> Bool {
        Migrate.movePage(PhysAddr(pfn: source), to: PhysAddr(pfn: target))
    }

    mutating func putBack(_ pfn: UInt64) { LRU.putback(PhysAddr(pfn: pfn)) }

    /// Straight to the free lists, where it merges (not to a CPU's list).
    mutating func release(_ pfn: UInt64) { PageAllocator.freeToZones(PhysAddr(pfn: pfn), order: 0) }

    /// The old frames migration freed went to this CPU's list: to the free
    /// lists with them, then a chance for others to run.
    mutating func drain() {
        PageAllocator.drainThisCPUList()
        Scheduler.condResched()
    }
}
