import XCTest
@testable import KeelCore

final class BuddyTests: XCTestCase {
    // MARK: descriptors and mem_map

    func testPageDescriptorIs32Bytes() {
        XCTAssertLessThanOrEqual(MemoryLayout<Page>.size, 32)
        XCTAssertEqual(MemoryLayout<Page>.stride, 32)
        XCTAssertEqual(MemMap.bytesNeeded(frames: 1024), 32 * 1024)
    }

    func testMemMapTranslatesBetweenFramesDescriptorsAndAddresses() {
        let m = BuddyMachine(basePFN: 0x100, endPFN: 0x200, ranges: [])
        let memMap = m.buddy.memMap
        XCTAssertTrue(memMap.contains(pfn: 0x100))
        XCTAssertTrue(memMap.contains(pfn: 0x1ff))
        XCTAssertFalse(memMap.contains(pfn: 0xff))
        XCTAssertFalse(memMap.contains(pfn: 0x200))
        let page = memMap.page(at: PhysAddr(0x123456))
        XCTAssertEqual(page, m.storage + 0x23)
        XCTAssertEqual(memMap.pfn(of: page), 0x123)
        XCTAssertEqual(memMap.physAddr(of: page), PhysAddr(0x123000))
        for pfn in 0x100..<UInt64(0x200) { XCTAssertEqual(memMap.page(pfn).pointee.flags, .reserved) }
        XCTAssertEqual(m.buddy.managedPages, 0)
        XCTAssertEqual(m.buddyInfo, "")
    }

    // MARK: building

    func testBuildCarvesLargestNaturallyAlignedBlocks() {
        let m = BuddyMachine(endPFN: 2048, ranges: [BuddyRange(start: 3, end: 1033)])
        // 3 | 4-7 | 8-15 | … | 512-1023 | 1024-1031 | 1032
        XCTAssertEqual(m.freeBlockCounts()[0], [2, 0, 1, 2, 1, 1, 1, 1, 1, 1, 0])
        XCTAssertEqual(m.buddy.managedPages, 1030)
        XCTAssertEqual(m.buddy.freePages, 1030)
        XCTAssertEqual(m.buddy.zone(.dma).startPFN, 3)
        XCTAssertEqual(m.buddy.zone(.dma).endPFN, 1033)
        for pfn: UInt64 in [0, 1, 2, 1033, 2047] { XCTAssertEqual(m.buddy.memMap.page(pfn).pointee.flags, .reserved) }
        m.checkInvariants(live: [])
    }

    func testPartialFramesAndFramesOutsideMemMapStayOut() {
        let m = BuddyMachine(basePFN: 16, endPFN: 32, ranges: [])
        m.buddy.addFreeRange(PhysAddr(0x1_0800), PhysAddr(0x40_0000))  // starts mid-frame 16, runs past mem_map
        m.buddy.addFreeRange(PhysAddr(0), PhysAddr(0x1_0000))          // wholly below mem_map
        XCTAssertEqual(m.buddy.managedPages, 15)
        XCTAssertEqual(m.buddy.memMap.page(16).pointee.flags, .reserved)
        XCTAssertEqual(m.freeBlockCounts()[0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    }

    func testAdjacentRangesCoalesce() {
        let m = BuddyMachine(endPFN: 2048, ranges: [BuddyRange(start: 0, end: 700), BuddyRange(start: 700, end: 2048)])
        XCTAssertEqual(m.freeBlockCounts()[0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
        m.checkInvariants(live: [])
    }

    func testZonesSplitAtSixteenMiBAndFourGiB() {
        let m = BuddyMachine.threeZones()
        let dma = m.buddy.zone(.dma), dma32 = m.buddy.zone(.dma32), normal = m.buddy.zone(.normal)
        XCTAssertEqual(dma.managedPages, 0x9e + (0x1000 - 0x103))
        XCTAssertEqual(dma32.managedPages, 0x200 + 1537)
        XCTAssertEqual(normal.managedPages, 2053)
        XCTAssertEqual(dma.startPFN, 1)
        XCTAssertEqual(dma.endPFN, 0x1000)
        XCTAssertEqual(dma32.startPFN, 0x1000)
        XCTAssertEqual(dma32.endPFN, 0x10_0000)
        XCTAssertEqual(normal.startPFN, 0x10_0000)
        XCTAssertEqual(normal.endPFN, 0x10_0000 + 2053)
        XCTAssertEqual(m.freeBlockCounts(), m.expectedFullyCoalesced())
        XCTAssertEqual(ZoneType(pfn: 0xfff), .dma)
        XCTAssertEqual(ZoneType(pfn: 0x1000), .dma32)
        XCTAssertEqual(ZoneType(pfn: 0x10_0000), .normal)
        m.checkInvariants(live: [])
    }

    // MARK: /proc/buddyinfo

    func testBuddyInfoMatchesLinuxFormat() {
        let m = BuddyMachine(endPFN: 0x1000 + 1024, ranges: [
            BuddyRange(start: 0x1000 - 1024 - 3, end: 0x1000 + 1024),
        ])
        XCTAssertEqual(m.buddyInfo,
            "Node 0, zone      DMA      1      1      0      0      0      0      0      0      0      0      1 \n" +
            "Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0      1 \n")
        // The counts from a real /proc/buddyinfo line print identically.
        let real = [216, 343, 179, 74, 27, 8, 4, 2, 1, 1, 0]
        for (order, n) in real.enumerated() { m.buddy.zones[2].freeArea[order].count = n }
        m.buddy.zones[2].managedPages = 1
        XCTAssertTrue(m.buddyInfo.hasSuffix(
            "\nNode 0, zone   Normal    216    343    179     74     27      8      4      2      1      1      0 \n"))
    }

    // MARK: allocation and freeing

    func testSplitThenCoalesceRestoresMaxOrderBlock() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        let block = try XCTUnwrap(m.buddy.allocate(order: 0))
        XCTAssertEqual(block, PhysAddr(0))
        XCTAssertEqual(m.freeBlockCounts()[0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
        let page = m.buddy.memMap.page(0).pointee
        XCTAssertEqual(page.flags, .head)
        XCTAssertEqual(page.mapcount, 0)
        XCTAssertEqual(page.private, 0)
        m.checkInvariants(live: [BuddyLive(pfn: 0, order: 0)])
        try m.buddy.free(block, order: 0)
        XCTAssertEqual(m.freeBlockCounts()[0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(m.buddy.memMap.page(0).pointee.mapcount, 0)
        m.checkInvariants(live: [])
    }

    func testFreeResetsDescriptorsOfTheWholeBlock() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        let block = try XCTUnwrap(m.buddy.allocate(order: 2))
        let first = m.buddy.memMap.page(at: block)
        first.pointee.flags.insert(.slab)
        first.pointee.mapping = 7
        (first + 3).pointee.flags = [.dirty, .lru]
        (first + 3).pointee.lruNext = 99
        try m.buddy.free(block, order: 2)
        m.checkInvariants(live: [])
        let again = try XCTUnwrap(m.buddy.allocate(order: 2))
        XCTAssertEqual(again, block)
        XCTAssertEqual(first.pointee.flags, .head)
        XCTAssertEqual(first.pointee.mapping, 0)
        XCTAssertEqual((first + 3).pointee.flags, [])
        XCTAssertEqual((first + 3).pointee.lruNext, Page.noFrame)
    }

    func testRejectsOrdersOutsideZeroToTen() {
        let m = BuddyMachine(endPFN: 4096, ranges: [BuddyRange(start: 0, end: 4096)])
        XCTAssertNil(m.buddy.allocate(order: -1))
        XCTAssertNil(m.buddy.allocate(order: 11))
        XCTAssertNotNil(m.buddy.allocate(order: 10))
    }

    func testZoneFallbackFollowsTheZonelist() throws {
        let m = BuddyMachine.threeZones()
        var live: [BuddyLive] = []
        func take(_ flags: GFP) -> ZoneType? {
            guard let a = m.buddy.allocate(order: 0, flags: flags) else { return nil }
            live.append(BuddyLive(pfn: a.pfn, order: 0))
            return ZoneType(pfn: a.pfn)
        }
        // GFP_KERNEL: Normal until it is empty, then DMA32, then DMA.
        for _ in 0..<m.buddy.zone(.normal).managedPages { XCTAssertEqual(take(.kernel), .normal) }
        XCTAssertEqual(take(.kernel), .dma32)
        XCTAssertEqual(take(.dma), .dma)
        for _ in 1..<m.buddy.zone(.dma32).managedPages { XCTAssertEqual(take(.dma32), .dma32) }
        XCTAssertEqual(take(.dma32), .dma)
        XCTAssertEqual(take(.kernel), .dma)
        while let zone = take(.kernel) { XCTAssertEqual(zone, .dma) }
        XCTAssertEqual(live.count, m.buddy.managedPages)
        XCTAssertEqual(m.buddy.freePages, 0)
        XCTAssertNil(take(.dma))
        m.checkInvariants(live: live)
        // Returning one Normal frame does not make it available to DMA requests.
        try m.buddy.free(PhysAddr(pfn: live[0].pfn), order: 0)
        XCTAssertNil(take(.dma))
        XCTAssertNil(take(.dma32))
        XCTAssertEqual(take(.kernel), .normal)
    }

    func testZeroFlagZeroesEveryFrameOfTheBlock() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        let dirty = try XCTUnwrap(m.buddy.allocate(order: 3))
        XCTAssertEqual(m.memory.zeroedFrames, 0)
        for i in 0..<UInt64(8) { m.memory.write64(dirty + i * 4096 + 8, 42) }
        try m.buddy.free(dirty, order: 3)
        let block = try XCTUnwrap(m.buddy.allocate(order: 3, flags: .zero))
        XCTAssertEqual(block, dirty)
        XCTAssertEqual(m.memory.zeroedFrames, 8)
        for i in 0..<UInt64(8) { XCTAssertTrue(m.memory.isZero(pfn: block.pfn + i)) }
        XCTAssertFalse(m.memory.isZero(pfn: block.pfn + 8))
    }

    func testReservedFramesAreNeverHandedOut() throws {
        let m = BuddyMachine.threeZones()
        var live: [BuddyLive] = []
        for order in [3, 0] {
            while let a = m.buddy.allocate(order: order) {
                XCTAssertTrue(m.inRanges(a.pfn) && m.inRanges(a.pfn + (1 << order) - 1))
                live.append(BuddyLive(pfn: a.pfn, order: order))
            }
        }
        m.checkInvariants(live: live)
        XCTAssertEqual(live.reduce(0) { $0 + (1 << $1.order) }, m.buddy.managedPages)
        for pfn in 0..<UInt64(m.buddy.memMap.frameCount) where !m.inRanges(pfn) {
            XCTAssertEqual(m.buddy.memMap.page(pfn).pointee.flags, .reserved)
        }
        for b in live.reversed() { try m.buddy.free(PhysAddr(pfn: b.pfn), order: b.order) }
        XCTAssertEqual(m.freeBlockCounts(), m.expectedFullyCoalesced())
    }

    // MARK: bad frees

    func testDoubleFreeIsDetected() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        let a = try XCTUnwrap(m.buddy.allocate(order: 1))
        let b = try XCTUnwrap(m.buddy.allocate(order: 1))
        let c = try XCTUnwrap(m.buddy.allocate(order: 0))
        try m.buddy.free(a, order: 1)
        // a is still the head of a free block.
        XCTAssertThrowsError(try m.buddy.free(a, order: 1)) { XCTAssertEqual($0 as? BuddyError, .doubleFree(pfn: a.pfn, order: 1)) }
        try m.buddy.free(b, order: 1)
        // b has merged with a: it is now inside a larger free block.
        XCTAssertThrowsError(try m.buddy.free(b, order: 1)) { XCTAssertEqual($0 as? BuddyError, .doubleFree(pfn: b.pfn, order: 1)) }
        let before = m.freeBlockCounts()
        XCTAssertThrowsError(try m.buddy.free(a, order: 0)) { XCTAssertEqual($0 as? BuddyError, .doubleFree(pfn: a.pfn, order: 0)) }
        XCTAssertEqual(m.freeBlockCounts(), before)
        m.checkInvariants(live: [BuddyLive(pfn: c.pfn, order: 0)])
    }

    func testWrongOrderIsDetectedAndChangesNothing() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        let a = try XCTUnwrap(m.buddy.allocate(order: 2))
        let before = m.freeBlockCounts()
        do {
            try m.buddy.free(a, order: 1)
            XCTFail("freed with the wrong order")
        } catch {
            XCTAssertEqual(error, .wrongOrder(pfn: a.pfn, expected: 2, given: 1))
        }
        XCTAssertThrowsError(try m.buddy.free(a, order: 3)) {
            XCTAssertEqual($0 as? BuddyError, .wrongOrder(pfn: a.pfn, expected: 2, given: 3))
        }
        XCTAssertEqual(m.freeBlockCounts(), before)
        m.checkInvariants(live: [BuddyLive(pfn: a.pfn, order: 2)])
        try m.buddy.free(a, order: 2)
        m.checkInvariants(live: [])
    }

    func testFreesOfFramesNotOwnedAreRejected() throws {
        let m = BuddyMachine(basePFN: 0, endPFN: 2048, ranges: [BuddyRange(start: 1024, end: 2048)])
        let a = try XCTUnwrap(m.buddy.allocate(order: 2))
        func rejects(_ addr: PhysAddr, _ order: Int, _ expected: BuddyError, line: UInt = #line) {
            XCTAssertThrowsError(try m.buddy.free(addr, order: order), line: line) {
                XCTAssertEqual($0 as? BuddyError, expected, line: line)
            }
        }
        rejects(PhysAddr(pfn: 5), 0, .notOwned(pfn: 5))                          // reserved
        rejects(PhysAddr(pfn: 4096), 0, .notOwned(pfn: 4096))                    // beyond mem_map
        rejects(PhysAddr(pfn: a.pfn + 2), 1, .notOwned(pfn: a.pfn + 2))          // inside a live block
        rejects(PhysAddr(pfn: a.pfn + 1), 1, .misaligned(pfn: a.pfn + 1, order: 1))
        rejects(a + 8, 2, .misaligned(pfn: a.pfn, order: 2))                     // not page aligned
        rejects(PhysAddr(pfn: a.pfn + 1), 11, .misaligned(pfn: a.pfn + 1, order: 11))
        m.checkInvariants(live: [BuddyLive(pfn: a.pfn, order: 2)])
    }

    func testFrameAllocatorConformance() {
        func roundTrip<A: FrameAllocator>(_ allocator: inout A) -> PhysAddr? {
            guard let frame = allocator.allocateFrame() else { return nil }
            allocator.freeFrame(frame)
            return frame
        }
        let m = BuddyMachine(endPFN: 16, ranges: [BuddyRange(start: 8, end: 16)])
        XCTAssertEqual(roundTrip(&m.buddy), PhysAddr(pfn: 8))
        XCTAssertEqual(m.freeBlockCounts()[0], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    }

    // MARK: randomized

    func testRandomizedAllocFreeKeepsInvariants() throws {
        for seed: UInt64 in [1, 2, 3, 0xb0dd1e] {
            try runRandomized(seed: seed, operations: 3000)
        }
    }

    private func runRandomized(seed: UInt64, operations: Int) throws {
        let m = BuddyMachine.threeZones()
        var rng = SplitMix64(seed: seed)
        var live: [BuddyLive] = []
        var owner = [Bool](repeating: false, count: m.buddy.memMap.frameCount)
        let flagChoices: [GFP] = [.kernel, .kernel, .dma32, .dma, .zero, [.dma32, .zero]]
        for step in 0..<operations {
            // Lean toward allocation for the first half, toward freeing after it.
            let allocating = live.isEmpty || rng.below(100) < (step < operations / 2 ? 65 : 35)
            if allocating {
                let order = rng.below(4) == 0 ? rng.below(11) : rng.below(3)
                let flags = flagChoices[rng.below(flagChoices.count)]
                // The zone the zonelist must pick: the highest allowed one with a block large enough.
                let expectedZone = (0...flags.highestZone.rawValue).reversed().first { z in
                    (order...10).contains { m.buddy.zone(ZoneType(rawValue: z)!).freeBlocks(order: $0) > 0 }
                }
                guard let block = m.buddy.allocate(order: order, flags: flags) else {
                    XCTAssertNil(expectedZone, "seed \(seed) step \(step): allocation failed with memory free")
                    continue
                }
                let pfn = block.pfn
                XCTAssertEqual(ZoneType(pfn: pfn).rawValue, expectedZone, "seed \(seed) step \(step)")
                XCTAssertEqual(pfn % (1 << order), 0)
                for f in pfn..<pfn + (1 << order) {
                    XCTAssertFalse(owner[Int(f)], "seed \(seed) step \(step): frame \(f) handed out twice")
                    XCTAssertTrue(m.inRanges(f), "seed \(seed) step \(step): reserved frame \(f) handed out")
                    owner[Int(f)] = true
                    if flags.contains(.zero) { XCTAssertTrue(m.memory.isZero(pfn: f)) }
                    m.memory.write64(PhysAddr(pfn: f), step == 0 ? 1 : UInt64(step))  // dirty it for the next user
                }
                live.append(BuddyLive(pfn: pfn, order: order))
            } else {
                let b = live.remove(at: rng.below(live.count))
                try m.buddy.free(PhysAddr(pfn: b.pfn), order: b.order)
                for f in b.pfn..<b.pfn + (1 << b.order) { owner[Int(f)] = false }
            }
            if step % 50 == 0 { m.checkInvariants(live: live) }
        }
        m.checkInvariants(live: live)
        rng = SplitMix64(seed: ~seed)
        while !live.isEmpty {
            let b = live.remove(at: rng.below(live.count))
            try m.buddy.free(PhysAddr(pfn: b.pfn), order: b.order)
        }
        m.checkInvariants(live: [])
        XCTAssertEqual(m.buddy.freePages, m.buddy.managedPages)
        XCTAssertEqual(m.freeBlockCounts(), m.expectedFullyCoalesced(), "seed \(seed): not fully coalesced")
    }

    // MARK: watermarks and the reserve

    func testDefaultMinFreeKilobytesFollowsLinux() {
        typealias B = BuddyAllocator<BuddyTestMemory>
        // 128 MiB: sqrt(131072 * 16) = 1448 KiB; 16 MiB: sqrt(16384 * 16) = 512; tiny: at least 128
        XCTAssertEqual(B.defaultMinFreeKilobytes(managedPages: 32768), 1448)
        XCTAssertEqual(B.defaultMinFreeKilobytes(managedPages: 4096), 512)
        XCTAssertEqual(B.defaultMinFreeKilobytes(managedPages: 16), 128)
        XCTAssertEqual(B.defaultMinFreeKilobytes(managedPages: 1 << 30), 262_144)   // 4 TiB: capped
    }

    func testOrdinaryRequestsStopAtTheMinWatermarkAndMemallocUsesTheReserve() throws {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        m.buddy.setMinFreeKilobytes(64 * 4)                    // 64 frames
        XCTAssertEqual(m.buddy.reservePages, 64)
        XCTAssertEqual(m.buddy.zone(.dma).watermarkMin, 64)
        var taken: [PhysAddr] = []
        while let frame = m.buddy.allocate(order: 0) { taken.append(frame) }
        XCTAssertEqual(taken.count, 1024 - 64, "ordinary requests leave the reserve alone")
        XCTAssertEqual(m.buddy.freePages, 64)
        XCTAssertNil(m.buddy.allocate(order: 0, flags: .zero))
        var reserve: [PhysAddr] = []
        while let frame = m.buddy.allocate(order: 0, flags: .memalloc) { reserve.append(frame) }
        XCTAssertEqual(reserve.count, 64, "memalloc requests may empty the zone")
        for frame in taken + reserve { try m.buddy.free(frame, order: 0) }
        XCTAssertEqual(m.buddy.freePages, 1024)
        m.checkInvariants(live: [])
    }

    func testAHighOrderRequestMayNotCrossTheWatermark() {
        let m = BuddyMachine(endPFN: 1024, ranges: [BuddyRange(start: 0, end: 1024)])
        m.buddy.setMinFreeKilobytes(4 * 1000)                  // 1000 frames: an order-5 block would cross it
        XCTAssertNil(m.buddy.allocate(order: 5))
        XCTAssertNotNil(m.buddy.allocate(order: 4))            // 1024 - 16 = 1008 >= 1000
        XCTAssertNotNil(m.buddy.allocate(order: 5, flags: .memalloc))
    }
}
