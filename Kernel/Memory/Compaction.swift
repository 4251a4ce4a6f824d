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
// Compaction works within one node's zone at a time (a page never moves to
// another node here: that is migration by policy, MemPolicy). It takes no
// lock across its run: the node's zone lock for each free block
// it takes, the LRU lock for each page it isolates, a page's own locks while
// it moves. It may run on several CPUs at once; isolation makes each page
// and each free block one run's. It never sleeps on a lock (every lock it
// takes on another process's behalf is a try-lock), and gives the CPU away
// between rounds (Scheduler.condResched).
// Linux: mm/compaction.c (compact_nodes(), try_to_compact_pages(),
// compact_zone_order()), mm/page_alloc.c (__alloc_pages_direct_compact())

enum Compaction {
    /// Each zone's back-off after failed direct compaction: node by node,
    /// `ZoneType.rawValue` within. Node n's entries belong to
    /// `PageAllocator.lock(n)`. Set up once at boot.
    /// Linux: zone->compact_considered, compact_defer_shift, compact_order_failed
    nonisolated(unsafe) private static var deferral: UnsafeMutablePointer<InlineArray<3, CompactionDeferral>>? = nil

    /// Called once at boot, after the node allocators are installed.
    static func setUp() {
        let slots = UnsafeMutablePointer<InlineArray<3, CompactionDeferral>>.allocate(capacity: PageAllocator.nodeCount)
        slots.initialize(repeating: InlineArray(repeating: CompactionDeferral()), count: PageAllocator.nodeCount)
        deferral = slots
    }

    /// /proc/sys/vm/compact_memory: every populated zone of every node, whole.
    /// Linux: compact_nodes() → compact_node()
    static func compactAll() {
        for node in 0..<PageAllocator.nodeCount {
            for type in ZoneType.allCases where zone(node, type).isPopulated {
                _ = compact(node, type, order: -1, quick: false)
            }
        }
    }

    /// A request for 2^order frames failed: compacts the zones `flags`
    /// allows, highest first, in the nodes `choice` allows, nearest first,
    /// and takes the block as soon as one is free. nil when compaction could
    /// not make one. Only for callers that may sleep.
    /// Linux: __alloc_pages_direct_compact() → try_to_compact_pages()
    static func allocateAfterCompacting(order: Int, flags: GFP, _ choice: NodeChoice) -> PhysAddr? {
        Lockdep.mightSleep()
        VMStat.count(.compactStall)
        for pass in 0..<2 {
            let quick = pass == 0
            for node in PageAllocator.zonelist(from: choice.preferred) where choice.allowed?.contains(node) != false {
                var zoneIndex = flags.highestZone.rawValue
                while zoneIndex >= 0 {
                    let type = ZoneType(rawValue: zoneIndex)!
                    zoneIndex -= 1
                    guard zone(node, type).isPopulated,
                          !withDeferral(node, { $0[type.rawValue].isDeferred(order: order) }) else { continue }
                    let result = compact(node, type, order: order, quick: quick)
                    if result == .success, let block = PageAllocator.allocate(order: order, flags: flags, fromNode: node) {
                        withDeferral(node) { $0[type.rawValue].succeeded(order: order, allocated: true) }
                        NUMA.countAllocation(on: node, choice)
                        VMStat.count(.compactSuccess)
                        return block
                    }
                    if !quick && result == .complete {
                        withDeferral(node) { $0[type.rawValue].failed(order: order) }
                    }
                }
            }
        }
        VMStat.count(.compactFail)
        return nil
    }

    /// Node `node`'s back-off entries, under its lock.
    private static func withDeferral<R>(_ node: Int, _ body: (inout InlineArray<3, CompactionDeferral>) -> R) -> R {
        PageAllocator.lock(node).withLock { body(&deferral.unsafelyUnwrapped[node]) }
    }

    /// A snapshot of one zone's counters and lists.
    private static func zone(_ node: Int, _ type: ZoneType) -> Zone {
        PageAllocator.lock(node).withLock { PageAllocator.node(node).pointee.zone(type) }
    }

    /// One run over zone `type` of node `node`, counted in /proc/vmstat. Linux: compact_zone()
    private static func compact(_ node: Int, _ type: ZoneType, order: Int, quick: Bool) -> CompactResult {
        var control = CompactControl(zone: zone(node, type), order: order, memMap: PageAllocator.node(node).pointee.memMap,
                                     quick: quick)
        var host = KernelCompaction(node: node)
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
    /// The node whose zone is compacted.
    let node: Int

    mutating func withBuddy<R>(_ body: (inout BuddyAllocator<DirectMap>) -> R) -> R {
        PageAllocator.lock(node).lock()
        defer { PageAllocator.lock(node).unlock() }
        return body(&PageAllocator.node(node).pointee)
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
