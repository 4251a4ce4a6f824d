// Memory compaction: sliding in-use pages together so that free memory forms
// large blocks again. Long-running systems fragment: after many allocations
// and frees, plenty of memory may be free, yet in single frames scattered
// between pages in use, so a request for 2^order contiguous frames fails.
// Compaction moves movable pages (a process's anonymous pages, file pages:
// anything on an LRU list, whose users reach it only through page tables and
// the page cache, which migration can rewrite) out of the way.
//
// Two scanners walk one zone towards each other, a pageblock (512 frames,
// 2 MiB) at a time:
//
//   zone start                                                  zone end
//   | migrate scanner -->                        <-- free scanner |
//     takes movable pages off their               takes free blocks
//     LRU lists (sources)                         off the free lists (targets)
//
// Each round isolates up to 32 sources, finds as many target frames, and has
// the kernel migrate each source into a target; a migrated source's frame is
// freed, low in the zone, where it merges with its free buddies. Compaction
// stops when the scanners meet (the whole zone was done) or, for an
// allocation that failed, as soon as a free block of the requested order
// exists. This file is the algorithm (Linux: mm/compaction.c); the kernel's
// side, isolating from the LRU and migrating a page, is
// Kernel/Memory/Compaction.swift and Kernel/Memory/Migrate.swift.
//
// The scanners read page descriptors without a lock, as Linux's do: what they
// see is a hint that the locked step (taking a free block under the zone
// lock, isolating from the LRU under its lock) checks again.

// MARK: - pageblocks

/// The unit the scanners move by: 2^9 frames, a huge page's worth.
/// Linux: pageblock_order (HPAGE_PMD_ORDER on x86-64), pageblock_nr_pages
public enum Pageblock {
    @inlinable public static var order: Int { 9 }
    @inlinable public static var frames: UInt64 { 1 << 9 }
    /// Linux: pageblock_start_pfn()
    @inlinable public static func start(_ pfn: UInt64) -> UInt64 { pfn & ~(frames - 1) }
    /// Linux: pageblock_end_pfn()
    @inlinable public static func end(_ pfn: UInt64) -> UInt64 { start(pfn) + frames }
}

// MARK: - what the buddy allocator does for compaction

extension BuddyAllocator {
    /// If frame `pfn` starts a free block, takes the whole block off its free
    /// list and hands out each of its frames as an allocated single frame (as
    /// `allocate(order: 0)` returns one); returns how many. nil if `pfn`
    /// starts no free block, or if taking it would sink the zone below its
    /// min watermark: compaction must not eat the reserve.
    /// Linux: __isolate_free_page() + split_map_pages()
    public mutating func isolateFreeBlock(at pfn: UInt64) -> Int? {
        guard memMap.contains(pfn: pfn) else { return nil }
        return zones[ZoneType(pfn: pfn).rawValue].isolateFreeBlock(at: pfn, memMap: memMap)
    }

    /// A request for 2^order frames would be served from `zone` now: a block
    /// that large is free, and taking it keeps the zone above its min
    /// watermark. Linux: zone_watermark_ok() (compact_zone()'s first check)
    public func canAllocate(order: Int, from zone: ZoneType) -> Bool {
        zones[zone.rawValue].watermarkOK(order: order, flags: .kernel) && hasFreeBlock(order: order, in: zone)
    }

    /// A free block of `order` or larger is on `zone`'s lists.
    /// Linux: the free_area loop of __compact_finished()
    public func hasFreeBlock(order: Int, in zone: ZoneType) -> Bool {
        guard order >= 0 else { return false }
        for o in order...Zone.maxOrder where zones[zone.rawValue].freeArea[o].count > 0 { return true }
        return false
    }

    /// Why a request for 2^order frames would fail, on a scale of -1000 to
    /// 1000: 0 means for lack of memory (compaction cannot help, reclaim
    /// must), towards 1000 for fragmentation (plenty free, in small pieces);
    /// -1000 when a large enough block is free. Linux: fragmentation_index()
    /// → __fragmentation_index() (the /sys/kernel/debug/extfrag numbers x1000)
    public func fragmentationIndex(order: Int, in zone: ZoneType) -> Int {
        var blocks = 0, suitable = 0
        for o in 0...Zone.maxOrder {
            let n = zones[zone.rawValue].freeArea[o].count
            blocks += n
            if o >= order { suitable += n << (o - order) }
        }
        guard blocks > 0 else { return 0 }
        guard suitable == 0 else { return -1000 }
        let freePages = zones[zone.rawValue].freePageCount
        return 1000 - (1000 + freePages * 1000 / (1 << order)) / blocks
    }

    /// Compaction of `zone` for 2^order frames is worth running: once done,
    /// free memory would still be above the watermark with room for the
    /// migration targets, and the failure is fragmentation, not a lack of
    /// memory (fragmentation index above `extfragThreshold`, for orders above
    /// 3). Linux: compaction_suitable() → __compaction_suitable() (low
    /// watermark for costly orders, min otherwise, plus compact_gap())
    public func compactionSuitable(order: Int, in zone: ZoneType) -> Bool {
        let min = zones[zone.rawValue].watermarkMin
        let low = ZoneInfo.watermarks(min: min, managed: zones[zone.rawValue].managedPages).low
        let mark = (order > Self.costlyOrder ? low : min) + (2 << order)
        guard zones[zone.rawValue].freePageCount > mark else { return false }
        if order > Self.costlyOrder {
            let index = fragmentationIndex(order: order, in: zone)
            if index >= 0 && index <= Self.extfragThreshold { return false }
        }
        return true
    }

    /// Orders above this are costly: worth compacting only when the failure is
    /// fragmentation. Linux: PAGE_ALLOC_COSTLY_ORDER
    @inlinable public static var costlyOrder: Int { 3 }
    /// Linux: sysctl_extfrag_threshold's default (/proc/sys/vm/extfrag_threshold)
    @inlinable public static var extfragThreshold: Int { 500 }
}

extension Zone {
    /// `BuddyAllocator.isolateFreeBlock` inside the zone (one access to the
    /// zone, not a copy of it per field: the kernel's stacks are small).
    mutating func isolateFreeBlock(at pfn: UInt64, memMap: MemMap) -> Int? {
        let first = memMap.uncheckedPage(pfn)
        guard first.pointee.flags.contains(.buddy) else { return nil }
        let order = Int(first.pointee.private)
        guard order <= Zone.maxOrder, freePageCount - (1 << order) >= watermarkMin else { return nil }
        freeArea[order].remove(pfn, in: memMap)
        freePageCount -= 1 << order
        for i in 0..<(1 << order) { first[i] = Page(flags: .head) }     // private 0: order 0
        return 1 << order
    }
}

// MARK: - the kernel's side

/// What compaction asks of the kernel (or of a test's simulated machine):
/// the allocator under its lock, and moving one page.
/// Linux: folio_isolate_lru(), migrate_pages() with compaction_alloc() /
/// compaction_free(), putback_movable_pages(), drain_local_pages()
public protocol CompactionHost {
    associatedtype Memory: PhysicalMemory
    /// Runs `body` on the buddy allocator with its lock held. Linux: zone->lock
    mutating func withBuddy<R>(_ body: (inout BuddyAllocator<Memory>) -> R) -> R
    /// Takes the page at `pfn`, seen on an LRU list, off its list for
    /// migration (with a reference); false if it is being freed or is not
    /// movable after all. Linux: folio_isolate_lru()
    mutating func isolate(_ pfn: UInt64) -> Bool
    /// Moves isolated page `source` into `target` (a frame from
    /// `isolateFreeBlock`): its contents, state and every reference to it.
    /// True when done: `target` is the page now, on the LRU list, and
    /// `source` is free. False when the page could not move (an unexpected
    /// reference, a busy lock): nothing changed, both are still the caller's.
    /// Linux: migrate_folio_unmap() + migrate_folio_move()
    mutating func migrate(_ source: UInt64, to target: UInt64) -> Bool
    /// Puts an isolated page that did not move back on its LRU list.
    /// Linux: putback_movable_pages()
    mutating func putBack(_ pfn: UInt64)
    /// Frees a target frame that compaction did not use. Linux: release_freepages()
    mutating func release(_ pfn: UInt64)
    /// Sends frames the migrations freed, which may wait on this CPU's list
    /// of single frames, to the free lists where they merge.
    /// Linux: drain_local_pages() (lru_add_drain_cpu_zone())
    mutating func drain()
}

// MARK: - one zone's compaction

/// How a compaction run ended. Linux: enum compact_result
public enum CompactResult: Equatable, Sendable {
    /// Not started: the zone has too little free memory, or the failure is
    /// not fragmentation. Linux: COMPACT_SKIPPED
    case skipped
    /// A free block of the requested order exists now. Linux: COMPACT_SUCCESS
    case success
    /// The scanners met: the whole zone was compacted. Linux: COMPACT_COMPLETE
    case complete
    /// Stopped early: no target frame could be taken above the watermark.
    /// Linux: COMPACT_CONTENDED (migrate_pages() failing with -ENOMEM)
    case noTargets
}

/// A run of free frames the free scanner took, [start, end).
struct FreeRun {
    var start: UInt64
    var end: UInt64
}

/// One compaction run over one zone: the two scanners' positions, the pages
/// and frames they isolated, and what they counted. Linux: struct compact_control
public struct CompactControl {
    /// Pages isolated and migrated per round. Linux: COMPACT_CLUSTER_MAX
    @inlinable public static var clusterMax: Int { 32 }

    public let zone: ZoneType
    /// The order the failed allocation asked for; -1: the whole zone, as
    /// /proc/sys/vm/compact_memory asks. Linux: cc->order
    public let order: Int
    let memMap: MemMap
    let zoneStart: UInt64
    let zoneEnd: UInt64
    /// Next frame the migrate scanner looks at. Linux: cc->migrate_pfn
    public private(set) var migratePFN: UInt64
    /// Next frame the free scanner looks at, in the pageblock it is in.
    /// Linux: cc->free_pfn
    public private(set) var freePFN: UInt64

    /// Isolated pages waiting to move, `clusterMax` slots while `run` runs
    /// (on the heap: an inline array here was copied whole at each store,
    /// a kilobyte at a time on a 16 KiB kernel stack). Linux: cc->migratepages
    var sources = UnsafeMutableBufferPointer<UInt64>(start: nil, count: 0)
    var sourceCount = 0
    /// Free frames waiting to be targets, in runs; as many slots. Linux: cc->freepages
    var targets = UnsafeMutableBufferPointer<FreeRun>(start: nil, count: 0)
    var targetRuns = 0

    /// Frames the migrate scanner looked at. Linux: compact_migrate_scanned
    public private(set) var migrateScanned = 0
    /// Frames the free scanner looked at. Linux: compact_free_scanned
    public private(set) var freeScanned = 0
    /// Pages isolated for migration plus free frames isolated as targets.
    /// Linux: compact_isolated
    public private(set) var isolated = 0
    /// Pages moved. Linux: pgmigrate_success (for compaction's share)
    public private(set) var migrated = 0
    /// Pages that could not be moved and went back. Linux: pgmigrate_fail
    public private(set) var migrateFailed = 0

    /// A run over `zone` (a snapshot of the allocator's zone) for 2^order
    /// frames, or the whole zone for order -1; `quick` skips blocks with a
    /// page that cannot move (for order > 0). The scanners start at the
    /// zone's two ends. Linux: compact_zone()'s setup with cc->whole_zone
    public init(zone: Zone, order: Int, memMap: MemMap, quick: Bool = false) {
        self.zone = zone.type
        self.order = order
        skipsOnFailure = quick && order > 0
        self.memMap = memMap
        zoneStart = zone.startPFN
        zoneEnd = zone.endPFN
        migratePFN = zone.startPFN
        freePFN = zone.endPFN > zone.startPFN ? Pageblock.start(zone.endPFN - 1) : zone.startPFN
    }

    /// Skip the rest of an order-aligned block as soon as one of its frames
    /// cannot move: the block could not become free this time anyway. The
    /// quick first try of direct compaction; a page that was only busy for a
    /// moment makes it give up on its block, which the thorough second try
    /// does not. Linux: isolate_migratepages_block()'s skip_on_failure
    /// (MIGRATE_ASYNC direct compaction)
    public let skipsOnFailure: Bool

    /// Linux: compact_scanners_met()
    public var scannersMet: Bool { freePFN >> UInt64(Pageblock.order) <= migratePFN >> UInt64(Pageblock.order) }

    /// Compacts until the scanners meet or, for an allocation, until a block
    /// of `order` is free. Every isolated page is migrated or put back, and
    /// every target frame not used is released, before it returns.
    /// Linux: compact_zone()
    public mutating func run<Host: CompactionHost>(_ host: inout Host) -> CompactResult {
        if order >= 0, let answer = startingAnswer(&host) { return answer }
        sources = .allocate(capacity: Self.clusterMax)
        targets = .allocate(capacity: Self.clusterMax)
        defer {
            sources.deallocate()
            targets.deallocate()
            sources = UnsafeMutableBufferPointer(start: nil, count: 0)
            targets = UnsafeMutableBufferPointer(start: nil, count: 0)
        }
        var result = CompactResult.complete
        while true {
            if let done = finished(&host) {
                result = done
                break
            }
            isolateMigratePages(&host)
            guard sourceCount > 0 else { continue }
            let targetsLeft = migrateSources(&host)
            host.drain()
            if !targetsLeft && !scannersMet {
                result = .noTargets
                break
            }
        }
        for i in 0..<sourceCount { host.putBack(sources[i]) }
        sourceCount = 0
        while let frame = takeTarget() { host.release(frame) }
        host.drain()
        return result
    }

    /// For an allocation: .success if its block is free already, .skipped if
    /// compaction would not help; nil to run. (The scanner steps are kept
    /// out of line: inlined into `run`, their temporaries would add up on a
    /// 16 KiB kernel stack.) Linux: compact_zone()'s zone_watermark_ok() and
    /// compaction_suitable() checks
    @inline(never)
    mutating func startingAnswer<Host: CompactionHost>(_ host: inout Host) -> CompactResult? {
        host.withBuddy { [zone, order] buddy in
            if buddy.canAllocate(order: order, from: zone) { return .success }
            return buddy.compactionSuitable(order: order, in: zone) ? nil : .skipped
        }
    }

    /// Linux: compact_finished() → __compact_finished()
    @inline(never)
    mutating func finished<Host: CompactionHost>(_ host: inout Host) -> CompactResult? {
        if scannersMet { return .complete }
        if order < 0 { return nil }
        // Finish the pageblock being scanned first: its pages are isolated
        // already, and leaving now would waste that work. Linux: the same
        guard migratePFN % Pageblock.frames == 0 else { return nil }
        let ready = host.withBuddy { [zone, order] in $0.hasFreeBlock(order: order, in: zone) }
        return ready ? .success : nil
    }

    // MARK: the migrate scanner

    /// Scans forward from `migratePFN` to the end of its pageblock, or until
    /// `clusterMax` pages are isolated, isolating the pages on LRU lists.
    /// Stays below the free scanner's pageblock.
    /// Linux: isolate_migratepages() → isolate_migratepages_block()
    @inline(never)
    mutating func isolateMigratePages<Host: CompactionHost>(_ host: inout Host) {
        let blockEnd = Pageblock.end(migratePFN)
        guard blockEnd <= freePFN else { return }
        let end = min(blockEnd, zoneEnd)
        let orderFrames: UInt64 = skipsOnFailure ? 1 << UInt64(order) : 0
        var pfn = migratePFN
        var nextSkip = skipsOnFailure ? (pfn | (orderFrames - 1)) + 1 : 0
        var isolatedInBlock = 0
        while pfn < end {
            if skipsOnFailure && pfn >= nextSkip {
                // A whole order-aligned block is isolated: migrate it now.
                if isolatedInBlock > 0 { break }
                nextSkip = (pfn | (orderFrames - 1)) + 1
            }
            let page = memMap.page(pfn).pointee
            var frames: UInt64 = 1
            var movable = false
            if page.flags.contains(.buddy) {
                movable = true                              // free already
                frames = Self.blockFrames(page.private)
            } else if page.flags.contains(.lru) {
                if host.isolate(pfn) {
                    movable = true
                    sources[sourceCount] = pfn
                    sourceCount += 1
                    isolatedInBlock += 1
                }
            } else if page.flags.contains(.head) {
                frames = Self.blockFrames(page.private)     // a kernel block: step over it
            }
            migrateScanned += Int(frames)
            pfn += frames
            if !movable && skipsOnFailure {
                // Linux: isolate_fail with skip_on_failure
                for _ in 0..<isolatedInBlock {
                    sourceCount -= 1
                    host.putBack(sources[sourceCount])
                }
                isolatedInBlock = 0
                if pfn < nextSkip {
                    migrateScanned += Int(nextSkip - pfn)
                    pfn = nextSkip
                }
                nextSkip = pfn + orderFrames
                continue
            }
            if sourceCount == Self.clusterMax { break }
        }
        isolated += sourceCount
        migratePFN = pfn
    }

    /// Frames in a block of the order a racily read descriptor claims (1 if
    /// the value makes no sense: the page changed under the scanner).
    static func blockFrames(_ order: UInt32) -> UInt64 {
        order <= UInt32(Zone.maxOrder) ? 1 << UInt64(order) : 1
    }

    // MARK: the free scanner

    /// Scans backwards from `freePFN`, pageblock by pageblock, taking free
    /// blocks until there are targets for every isolated source, never at or
    /// below the migrate scanner's pageblock. Linux: isolate_freepages()
    @inline(never)
    mutating func isolateFreePages<Host: CompactionHost>(_ host: inout Host, wanted: Int) {
        let low = Pageblock.end(migratePFN)
        var blockStart = Pageblock.start(freePFN)
        var scanFrom = freePFN
        while blockStart >= low {
            let blockEnd = min(blockStart + Pageblock.frames, zoneEnd)
            if isSuitableTarget(blockStart) {
                scanFrom = isolateFreeBlocks(&host, from: scanFrom, to: blockEnd, wanted: wanted)
                if targetFrames >= wanted {
                    // Done with this block: continue below it next time.
                    if scanFrom >= blockEnd { scanFrom = blockStart - Pageblock.frames }
                    break
                }
            }
            blockStart -= Pageblock.frames                // (low is at least one pageblock up)
            scanFrom = blockStart
        }
        freePFN = scanFrom
    }

    /// A pageblock that is one free block already is left whole: splitting
    /// it for targets would undo what compaction is for.
    /// Linux: suitable_migration_target()
    func isSuitableTarget(_ blockStart: UInt64) -> Bool {
        let page = memMap.page(blockStart).pointee
        return !(page.flags.contains(.buddy) && Int(page.private) >= Pageblock.order)
    }

    /// Takes the free blocks in [from, to) until `wanted` target frames are
    /// held; returns where it stopped. Linux: isolate_freepages_block()
    mutating func isolateFreeBlocks<Host: CompactionHost>(_ host: inout Host, from: UInt64, to end: UInt64,
                                                         wanted: Int) -> UInt64 {
        var pfn = from
        while pfn < end {
            let page = memMap.page(pfn).pointee
            if page.flags.contains(.buddy) {
                guard let frames = host.withBuddy({ $0.isolateFreeBlock(at: pfn) }) else {
                    // Gone meanwhile, or the zone is at its watermark: leave this block.
                    freeScanned += 1
                    return end
                }
                targets[targetRuns] = FreeRun(start: pfn, end: pfn + UInt64(frames))
                targetRuns += 1
                freeScanned += frames
                isolated += frames
                pfn += UInt64(frames)
                if targetFrames >= wanted { return pfn }
            } else {
                let frames = page.flags.contains(.head) ? Self.blockFrames(page.private) : 1
                freeScanned += Int(frames)
                pfn += frames
            }
        }
        return pfn
    }

    /// Target frames held.
    var targetFrames: Int {
        var n = 0
        for i in 0..<targetRuns { n += Int(targets[i].end - targets[i].start) }
        return n
    }

    /// The next target frame, or nil when none is held.
    mutating func takeTarget() -> UInt64? {
        guard targetRuns > 0 else { return nil }
        let frame = targets[targetRuns - 1].start
        targets[targetRuns - 1].start += 1
        if targets[targetRuns - 1].start == targets[targetRuns - 1].end { targetRuns -= 1 }
        return frame
    }

    /// A target the migration did not use, back where `takeTarget` took it
    /// (so the runs never outgrow their room). Linux: compaction_free()
    mutating func returnTarget(_ frame: UInt64) {
        if targetRuns > 0 && targets[targetRuns - 1].start == frame + 1 {
            targets[targetRuns - 1].start = frame
        } else {
            targets[targetRuns] = FreeRun(start: frame, end: frame + 1)
            targetRuns += 1
        }
    }

    // MARK: migration

    /// Migrates every isolated source into a target, isolating targets as
    /// needed; a source that does not move goes back to its LRU list. False
    /// when targets ran out (the remaining sources went back).
    /// Linux: migrate_pages() with compaction_alloc()
    @inline(never)
    mutating func migrateSources<Host: CompactionHost>(_ host: inout Host) -> Bool {
        var i = 0
        defer { sourceCount = 0 }
        while i < sourceCount {
            if targetRuns == 0 { isolateFreePages(&host, wanted: sourceCount - i) }
            guard let target = takeTarget() else {
                for j in i..<sourceCount { host.putBack(sources[j]) }
                return false
            }
            if host.migrate(sources[i], to: target) {
                migrated += 1
            } else {
                migrateFailed += 1
                host.putBack(sources[i])
                returnTarget(target)
            }
            i += 1
        }
        return true
    }
}

// MARK: - deferring after failures

/// Backs off direct compaction of a zone after it failed: the next 1, 2, 4 …
/// 64 attempts at that order or above are skipped, until one succeeds.
/// Linux: zone->compact_considered, compact_defer_shift, compact_order_failed;
/// defer_compaction(), compaction_deferred(), compaction_defer_reset()
public struct CompactionDeferral: Sendable {
    /// Linux: COMPACT_MAX_DEFER_SHIFT
    @inlinable public static var maxShift: Int { 6 }
    public private(set) var considered = 0
    public private(set) var shift = 0
    /// The lowest order that failed since the last success. Linux: compact_order_failed
    public private(set) var orderFailed = Zone.maxOrder + 1

    public init() {}

    /// True to skip compacting for `order` this time. Linux: compaction_deferred()
    public mutating func isDeferred(order: Int) -> Bool {
        guard order >= orderFailed else { return false }
        let limit = 1 << shift
        considered += 1
        if considered >= limit {
            considered = limit
            return false
        }
        return true
    }

    /// A run for `order` ended without a free block. Linux: defer_compaction()
    public mutating func failed(order: Int) {
        considered = 0
        shift = min(shift + 1, Self.maxShift)
        orderFailed = min(orderFailed, order)
    }

    /// A run for `order` made its block (`allocated`: and the allocation got
    /// it). Linux: compaction_defer_reset()
    public mutating func succeeded(order: Int, allocated: Bool) {
        if allocated {
            considered = 0
            shift = 0
        }
        orderFailed = max(orderFailed, order + 1)
    }
}
