import XCTest
@testable import KeelCore

/// A machine whose movable pages are "on an LRU list" (flag .lru) and hold a
/// token in their first and last words: migration copies both, so a token
/// found anywhere but its page's current frame is a lost or torn page.
final class CompactionTestHost: CompactionHost {
    let machine: BuddyMachine
    /// Movable pages by current frame: their token.
    var movable: [UInt64: UInt64] = [:]
    /// The same frames in a seed-determined order (a dictionary's is not), for picking victims.
    var frames: [UInt64] = []
    private var position: [UInt64: Int] = [:]
    /// Pages isolated and not yet migrated or put back.
    var isolated: Set<UInt64> = []
    /// Target frames given back unused, and drains asked for.
    var released = 0, drains = 0
    /// Percent of isolations and migrations that fail, as a busy page would.
    var failurePercent = 0
    var rng = SplitMix64(seed: 7)

    init(_ machine: BuddyMachine) { self.machine = machine }

    func withBuddy<R>(_ body: (inout BuddyAllocator<BuddyTestMemory>) -> R) -> R { body(&machine.buddy) }

    /// Allocates a frame and makes it a movable page with `token`.
    func addMovable(token: UInt64) -> UInt64? {
        guard let frame = machine.buddy.allocate(order: 0) else { return nil }
        machine.buddy.memMap.page(at: frame).pointee.flags.insert([.lru, .anon])
        machine.memory.write64(frame, token)
        machine.memory.write64(frame + 4088, ~token)
        movable[frame.pfn] = token
        position[frame.pfn] = frames.count
        frames.append(frame.pfn)
        return frame.pfn
    }

    func freeMovable(_ pfn: UInt64) throws {
        movable[pfn] = nil
        if let i = position.removeValue(forKey: pfn) {
            let last = frames.removeLast()
            if i < frames.count {
                frames[i] = last
                position[last] = i
            }
        }
        machine.buddy.memMap.page(pfn).pointee.flags = .head
        try machine.buddy.free(PhysAddr(pfn: pfn), order: 0)
    }

    private func fails() -> Bool { failurePercent > 0 && rng.below(100) < failurePercent }

    func isolate(_ pfn: UInt64) -> Bool {
        let page = machine.buddy.memMap.page(pfn)
        XCTAssertTrue(page.pointee.flags.contains(.lru), "isolating \(pfn), not on an LRU list")
        XCTAssertNotNil(movable[pfn])
        if fails() { return false }
        page.pointee.flags.remove(.lru)
        isolated.insert(pfn)
        return true
    }

    func migrate(_ source: UInt64, to target: UInt64) -> Bool {
        XCTAssertTrue(isolated.contains(source), "migrating \(source), not isolated")
        let t = machine.buddy.memMap.page(target)
        XCTAssertEqual(t.pointee.flags, .head, "target \(target) is not a free frame handed out")
        XCTAssertEqual(t.pointee.private, 0)
        XCTAssertNil(movable[target])
        if fails() { return false }
        let from = PhysAddr(pfn: source), to = PhysAddr(pfn: target)
        machine.memory.write64(to, machine.memory.read64(from))
        machine.memory.write64(to + 4088, machine.memory.read64(from + 4088))
        t.pointee.flags = machine.buddy.memMap.page(source).pointee.flags.union(.lru)
        movable[target] = movable[source]
        position[target] = position.removeValue(forKey: source)
        frames[position[target]!] = target
        isolated.remove(source)
        XCTAssertNoThrow(try freeMovable(source))
        return true
    }

    func putBack(_ pfn: UInt64) {
        XCTAssertTrue(isolated.remove(pfn) != nil, "putting back \(pfn), not isolated")
        machine.buddy.memMap.page(pfn).pointee.flags.insert(.lru)
    }

    func release(_ pfn: UInt64) {
        released += 1
        XCTAssertNoThrow(try machine.buddy.free(PhysAddr(pfn: pfn), order: 0))
    }

    func drain() { drains += 1 }

    /// Every movable page still holds its token in both words.
    func checkContents(file: StaticString = #filePath, line: UInt = #line) {
        for (pfn, token) in movable {
            XCTAssertEqual(machine.memory.read64(PhysAddr(pfn: pfn)), token, "page \(pfn)", file: file, line: line)
            XCTAssertEqual(machine.memory.read64(PhysAddr(pfn: pfn) + 4088), ~token, "page \(pfn)", file: file, line: line)
            XCTAssertTrue(machine.buddy.memMap.page(pfn).pointee.flags.contains(.lru), file: file, line: line)
        }
        XCTAssertTrue(isolated.isEmpty, "pages left isolated: \(isolated)", file: file, line: line)
    }

    var liveMovable: [BuddyLive] { movable.keys.map { BuddyLive(pfn: $0, order: 0) } }

    /// Free frames in blocks of at least `order`, in `zone`.
    func freeFrames(atLeast order: Int, in zone: ZoneType) -> Int {
        (order...10).reduce(0) { $0 + (machine.buddy.zone(zone).freeBlocks(order: $1) << $1) }
    }
}

final class CompactionTests: XCTestCase {
    /// 16 MiB of DMA zone, every frame allocated as a movable page, then every
    /// other one freed: 2048 free frames and not one free pair.
    private func checkerboard() throws -> CompactionTestHost {
        let host = CompactionTestHost(BuddyMachine(endPFN: 4096, ranges: [BuddyRange(start: 0, end: 4096)]))
        var pages: [UInt64] = []
        for token in 0..<UInt64(4096) { pages.append(try XCTUnwrap(host.addMovable(token: 0x5eed_0000 + token))) }
        for pfn in pages where pfn % 2 == 1 { try host.freeMovable(pfn) }
        XCTAssertEqual(host.machine.freeBlockCounts()[0], [2048, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        return host
    }

    // MARK: the allocator's part

    func testIsolateFreeBlockHandsOutEachFrameAndKeepsTheReserve() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        let a = try XCTUnwrap(m.buddy.allocate(order: 3))          // 0-7; free: 8-15, 16-31, … 512-1023
        XCTAssertNil(m.buddy.isolateFreeBlock(at: a.pfn), "an allocated block is not free")
        XCTAssertNil(m.buddy.isolateFreeBlock(at: 9), "a frame inside a free block does not start one")
        XCTAssertEqual(m.buddy.isolateFreeBlock(at: 16), 16)
        XCTAssertEqual(m.buddy.freePages, 1024 - 8 - 16)
        var live = [BuddyLive(pfn: a.pfn, order: 3)]
        for pfn in UInt64(16)..<32 {
            XCTAssertEqual(m.buddy.memMap.page(pfn).pointee.flags, .head)
            live.append(BuddyLive(pfn: pfn, order: 0))
        }
        m.checkInvariants(live: live)
        // Each frame frees as a single frame, and they merge back.
        for pfn in UInt64(16)..<32 { try m.buddy.free(PhysAddr(pfn: pfn), order: 0) }
        try m.buddy.free(a, order: 3)
        XCTAssertEqual(m.freeBlockCounts(), m.expectedFullyCoalesced())
        m.checkInvariants(live: [])
        // Not below the min watermark.
        m.buddy.setMinFreeKilobytes(4 * 200)
        let low = try XCTUnwrap(m.buddy.allocate(order: 8))    // 0-255; free: 256-511, 512-1023
        XCTAssertEqual(m.buddy.isolateFreeBlock(at: 512), 512, "768 - 512 = 256 stay free, above 200")
        XCTAssertNil(m.buddy.isolateFreeBlock(at: 256), "0 would stay free, below 200")
        m.checkInvariants(live: [BuddyLive(pfn: low.pfn, order: 8)] + (UInt64(512)..<1024).map { BuddyLive(pfn: $0, order: 0) })
    }

    func testFragmentationIndexFollowsLinux() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        XCTAssertEqual(m.buddy.fragmentationIndex(order: 4, in: .dma), -1000, "a large block is free")
        var frames: [PhysAddr] = []
        while let f = m.buddy.allocate(order: 0) { frames.append(f) }
        XCTAssertEqual(m.buddy.fragmentationIndex(order: 4, in: .dma), 0, "nothing free: lack of memory")
        for f in frames where f.pfn % 64 == 0 { try m.buddy.free(f, order: 0) }
        // 16 single frames free, 16 wanted: 1000 - (1000 + 16 * 1000 / 16) / 16 = 875
        XCTAssertEqual(m.buddy.fragmentationIndex(order: 4, in: .dma), 875)
        XCTAssertEqual(m.buddy.fragmentationIndex(order: 0, in: .dma), -1000)
        // 1000 - (1000 + 16000 / 2) / 16 = 438: more a lack of memory than fragmentation
        XCTAssertEqual(m.buddy.fragmentationIndex(order: 1, in: .dma), 438)
    }

    func testCompactionIsSuitableOnlyForFragmentationAboveTheWatermark() throws {
        let host = try checkerboard()
        let buddy = host.machine.buddy
        XCTAssertTrue(buddy.compactionSuitable(order: 9, in: .dma))
        XCTAssertFalse(buddy.canAllocate(order: 1, from: .dma))
        XCTAssertTrue(buddy.canAllocate(order: 0, from: .dma))
        // Raise the watermark above what is free: compaction cannot help.
        host.machine.buddy.setMinFreeKilobytes(4 * 2040)
        XCTAssertFalse(host.machine.buddy.compactionSuitable(order: 2, in: .dma))
        var control = CompactControl(zone: host.machine.buddy.zone(.dma), order: 2, memMap: buddy.memMap)
        var h = host
        XCTAssertEqual(control.run(&h), .skipped)
        XCTAssertEqual(control.migrated, 0)
    }

    // MARK: compact_memory: the whole zone

    func testCompactingTheWholeZoneBringsBackPageblocks() throws {
        var host = try checkerboard()
        let before = host.machine.buddy.freePages
        var control = CompactControl(zone: host.machine.buddy.zone(.dma), order: -1, memMap: host.machine.buddy.memMap)
        XCTAssertEqual(control.run(&host), .complete)
        XCTAssertTrue(control.scannersMet)
        host.checkContents()
        host.machine.checkInvariants(live: host.liveMovable)
        XCTAssertEqual(host.machine.buddy.freePages, before, "compaction moves pages, it frees none")
        XCTAssertEqual(host.movable.count, 2048)
        // 2048 free frames were all single; now at least 3 of the 4 pageblocks' worth are whole.
        XCTAssertGreaterThanOrEqual(host.freeFrames(atLeast: 9, in: .dma), 3 * 512)
        XCTAssertGreaterThanOrEqual(control.migrated, 3 * 256)
        XCTAssertEqual(control.migrateFailed, 0)
        XCTAssertGreaterThan(control.migrateScanned, 0)
        XCTAssertGreaterThan(control.freeScanned, 0)
        XCTAssertEqual(control.isolated, 2 * control.migrated + host.released, "sources plus targets")
        // Movable pages now sit high in the zone: below the meeting point there are none.
        let meeting = control.migratePFN
        XCTAssertTrue(host.movable.keys.allSatisfy { $0 >= Pageblock.start(meeting) })
    }

    func testCompactingTwiceFindsNothingMoreToDo() throws {
        var host = try checkerboard()
        var first = CompactControl(zone: host.machine.buddy.zone(.dma), order: -1, memMap: host.machine.buddy.memMap)
        _ = first.run(&host)
        let counts = host.machine.freeBlockCounts()
        var second = CompactControl(zone: host.machine.buddy.zone(.dma), order: -1, memMap: host.machine.buddy.memMap)
        XCTAssertEqual(second.run(&host), .complete)
        XCTAssertGreaterThanOrEqual(host.machine.freeBlockCounts()[0][9] + 2 * host.machine.freeBlockCounts()[0][10],
                                    counts[0][9] + 2 * counts[0][10], "a second run loses no pageblock")
        host.checkContents()
        host.machine.checkInvariants(live: host.liveMovable)
    }

    // MARK: direct compaction: one order

    func testDirectCompactionStopsOnceTheOrderIsFree() throws {
        var host = try checkerboard()
        XCTAssertNil(host.machine.buddy.allocate(order: 4))
        var control = CompactControl(zone: host.machine.buddy.zone(.dma), order: 4, memMap: host.machine.buddy.memMap)
        XCTAssertEqual(control.run(&host), .success)
        XCTAssertFalse(control.scannersMet, "stopped long before the whole zone was done")
        XCTAssertLessThanOrEqual(control.migrated, 256, "one pageblock's worth at most")
        XCTAssertGreaterThanOrEqual(control.migrated, 8)
        host.checkContents()
        let block = try XCTUnwrap(host.machine.buddy.allocate(order: 4))
        host.machine.checkInvariants(live: host.liveMovable + [BuddyLive(pfn: block.pfn, order: 4)])
        // Already satisfied: nothing to do.
        var again = CompactControl(zone: host.machine.buddy.zone(.dma), order: 3, memMap: host.machine.buddy.memMap)
        XCTAssertEqual(again.run(&host), .success)
        XCTAssertEqual(again.migrateScanned, 0)
    }

    func testUnmovablePagesStayPutAndTheirBlocksAreSkipped() throws {
        let host = CompactionTestHost(BuddyMachine(endPFN: 4096, ranges: [BuddyRange(start: 0, end: 4096)]))
        var unmovable: [BuddyLive] = []
        for token in 0..<UInt64(4096) {
            let pfn = try XCTUnwrap(host.addMovable(token: token))
            if pfn % 128 == 5 {
                try host.freeMovable(pfn)
                let frame = try XCTUnwrap(host.machine.buddy.allocate(order: 0))
                XCTAssertEqual(frame.pfn, pfn)
                host.machine.buddy.memMap.page(pfn).pointee.flags = [.head, .slab]
                unmovable.append(BuddyLive(pfn: pfn, order: 0))
            }
        }
        for pfn in host.frames.filter({ $0 % 2 == 0 }) { try host.freeMovable(pfn) }
        var h = host
        // An order-7 block can never be free: every 128 frames hold a slab page.
        var control = CompactControl(zone: host.machine.buddy.zone(.dma), order: 7, memMap: host.machine.buddy.memMap, quick: true)
        XCTAssertEqual(control.run(&h), .complete)
        XCTAssertEqual(control.migrated, 0, "every order-7 block was skipped at its slab page before migrating")
        var thorough = CompactControl(zone: host.machine.buddy.zone(.dma), order: 7, memMap: host.machine.buddy.memMap)
        XCTAssertEqual(thorough.run(&h), .complete)
        XCTAssertGreaterThan(thorough.migrated, 0, "without skipping, pages move though no order-7 block can form")
        host.checkContents()
        host.checkContents()
        for u in unmovable { XCTAssertEqual(host.machine.buddy.memMap.page(u.pfn).pointee.flags, [.head, .slab]) }
        host.machine.checkInvariants(live: host.liveMovable + unmovable)
        // Order 6 can be made: the half of each 128 without the slab page.
        var six = CompactControl(zone: host.machine.buddy.zone(.dma), order: 6, memMap: host.machine.buddy.memMap, quick: true)
        XCTAssertEqual(six.run(&h), .success)
        XCTAssertNotNil(host.machine.buddy.allocate(order: 6))
        host.checkContents()
    }

    // MARK: randomized

    func testRandomizedCompactionLosesNothing() throws {
        for seed: UInt64 in [1, 2, 3, 0xc0ffee, 0x5eed] {
            try runRandomized(seed: seed, unmovable: true)
            try runRandomized(seed: seed, unmovable: false)
        }
    }

    /// Random movable pages (and, with `unmovable`, kernel blocks of orders 0-2),
    /// random frees, failures injected into isolation and migration, then
    /// compaction: every zone for the whole machine, or one order at a time.
    private func runRandomized(seed: UInt64, unmovable: Bool) throws {
        var host = CompactionTestHost(BuddyMachine.threeZones())
        let m = host.machine
        var rng = SplitMix64(seed: seed)
        host.rng = SplitMix64(seed: ~seed)
        host.failurePercent = Int(rng.below(20))
        var kernel: [BuddyLive] = []
        var token = seed << 32
        // Fill the machine, then free about half of it at random: the free
        // memory ends up scattered between pages still in use.
        while true {
            if unmovable && rng.below(10) == 0 {
                let order = rng.below(3)
                guard let b = m.buddy.allocate(order: order) else { break }
                m.buddy.memMap.page(at: b).pointee.flags.insert(.slab)
                kernel.append(BuddyLive(pfn: b.pfn, order: order))
            } else {
                token += 1
                guard host.addMovable(token: token) != nil else { break }
            }
        }
        for _ in 0..<(host.frames.count * (30 + rng.below(40)) / 100) {
            try host.freeMovable(host.frames[rng.below(host.frames.count)])
        }
        let free = m.buddy.freePages
        var whole: [Int] = []
        for zone in ZoneType.allCases { whole.append(host.freeFrames(atLeast: 9, in: zone)) }
        let pages = host.movable.count
        let direct = rng.below(2) == 0
        var migrated = 0
        for zone in ZoneType.allCases where m.buddy.zone(zone).isPopulated {
            let order = direct ? 1 + rng.below(9) : -1
            var control = CompactControl(zone: m.buddy.zone(zone), order: order, memMap: m.buddy.memMap, quick: direct)
            var result = control.run(&host)
            migrated += control.migrated
            if direct && result != .success && result != .skipped {
                host.checkContents()
                control = CompactControl(zone: m.buddy.zone(zone), order: order, memMap: m.buddy.memMap)
                result = control.run(&host)
                migrated += control.migrated
            }
            if direct {
                XCTAssertTrue([.success, .complete, .skipped].contains(result), "seed \(seed): \(result)")
                if result == .success { XCTAssertTrue(m.buddy.hasFreeBlock(order: control.order, in: zone)) }
            } else {
                XCTAssertEqual(result, .complete, "seed \(seed)")
            }
            host.checkContents()
            m.checkInvariants(live: host.liveMovable + kernel)
        }
        XCTAssertEqual(host.movable.count, pages, "seed \(seed): pages lost")
        XCTAssertEqual(m.buddy.freePages, free, "seed \(seed): free frames changed")
        if !direct { XCTAssertGreaterThan(migrated, 100, "seed \(seed): the machine was fragmented") }
        if !unmovable && !direct {
            for zone in ZoneType.allCases {
                XCTAssertGreaterThanOrEqual(host.freeFrames(atLeast: 9, in: zone), whole[zone.rawValue],
                                            "seed \(seed): \(zone) lost whole pageblocks")
            }
        }
        // Everything freed at the end merges fully: compaction left no stray state.
        for pfn in host.frames { try host.freeMovable(pfn) }
        for k in kernel {
            m.buddy.memMap.page(k.pfn).pointee.flags.remove(.slab)
            try m.buddy.free(PhysAddr(pfn: k.pfn), order: k.order)
        }
        m.checkInvariants(live: [])
        XCTAssertEqual(m.freeBlockCounts(), m.expectedFullyCoalesced(), "seed \(seed): not fully coalesced")
    }

    // MARK: deferral

    func testDeferralBacksOffExponentiallyAndResetsOnSuccess() {
        var d = CompactionDeferral()
        XCTAssertFalse(d.isDeferred(order: 4))
        d.failed(order: 4)                                  // shift 1: skip 1 of 2
        XCTAssertFalse(d.isDeferred(order: 3), "lower orders are not deferred")
        XCTAssertTrue(d.isDeferred(order: 4))
        XCTAssertFalse(d.isDeferred(order: 5))
        d.failed(order: 4)                                  // shift 2: skip 3 of 4
        XCTAssertEqual((0..<4).map { _ in d.isDeferred(order: 4) }, [true, true, true, false])
        for _ in 0..<10 { d.failed(order: 4) }
        XCTAssertEqual(d.shift, CompactionDeferral.maxShift)
        XCTAssertEqual((0..<64).filter { _ in !d.isDeferred(order: 4) }.count, 1)
        d.succeeded(order: 4, allocated: true)
        XCTAssertEqual(d.shift, 0)
        XCTAssertEqual(d.orderFailed, 5)
        XCTAssertFalse(d.isDeferred(order: 4))
    }
}
