// The slab layer against a posix_memalign page backend: list transitions, the CPU
// slab (SLUB's fast path), allocation order, constructors, cache lifetime, kmalloc
// size classes and alignment, large blocks, refused frees, debug red zones and
// poison, slabinfo, and a seeded random mix that must give every page back.
import Glibc
import XCTest
@testable import KeelCore

nonisolated(unsafe) private var slabConstructorCalls = 0

final class SlabTests: XCTestCase {
    private typealias Slab = SlabAllocator<SlabHostBackend>
    private let ledger = SlabPageLedger()

    private func makeSlab(flags: SlabFlags = [], cpus: Int = 1) throws -> Slab {
        try Slab(backend: SlabHostBackend(ledger: ledger), flags: flags, cpus: cpus)
    }

    /// Shuts the allocator down and checks every page came back, once.
    private func finish(_ slab: Slab, file: StaticString = #filePath, line: UInt = #line) throws {
        _ = try slab.shutdown()
        XCTAssertEqual(ledger.outstandingPages, 0, "pages leaked", file: file, line: line)
        XCTAssertEqual(ledger.badFrees, 0, "bad freePages calls", file: file, line: line)
    }

    /// `body` must throw exactly `expected`.
    private func expectError(_ expected: SlabError, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error as? SlabError, expected, file: file, line: line)
        }
    }

    private func cacheNames(_ slab: Slab) -> [String] {
        var names: [String] = []
        slab.forEachCache { names.append("\($0.name)") }
        return names
    }

    /// The slab holding `object`, by aligning down to the cache's slab size.
    private func slabBase(_ object: UnsafeMutableRawPointer, _ cache: KmemCacheRef) -> UInt {
        UInt(bitPattern: object) & ~UInt(cache.info.pagesPerSlab * 4096 - 1)
    }

    // MARK: caches and slabs

    func testCacheGeometryFollowsCalculateOrder() throws {
        let slab = try makeSlab()
        let small = try slab.createCache("small", size: 64)
        XCTAssertEqual(small.info.pagesPerSlab, 1)
        XCTAssertEqual(small.info.objectsPerSlab, 63, "one slot lost to header and bitmap")
        let mid = try slab.createCache("mid", size: 3000)
        XCTAssertEqual(mid.info.pagesPerSlab, 4, "order 2 is the first with ≥ 4 objects and ≤ 1/8 unused")
        XCTAssertEqual(mid.info.objectsPerSlab, 5)
        let huge = try slab.createCache("huge", size: 100_000)
        XCTAssertEqual(huge.info.pagesPerSlab, 32)
        XCTAssertEqual(huge.info.objectsPerSlab, 1)
        let line = try slab.createCache("line", size: 24, flags: .hwcacheAlign)
        XCTAssertEqual(line.info.slotSize, 64)
        let aligned = try slab.createCache("aligned", size: 100, align: 256)
        var objects: [UnsafeMutableRawPointer] = []
        for _ in 0..<40 { objects.append(try slab.alloc(aligned)) }
        XCTAssertTrue(objects.allSatisfy { Int(bitPattern: $0) % 256 == 0 })
        for object in objects { try slab.free(aligned, object) }

        for size in [8, 64, 96, 192, 4096, 8192] {
            XCTAssertEqual(slab.kmallocCache(size: size)?.info.pagesPerSlab, 16, "kmalloc slabs share one order")
        }
        XCTAssertEqual(slab.kmallocCache(size: 4096)?.info.objectsPerSlab, 15)
        XCTAssertEqual(slab.kmallocCache(size: 8192)?.info.objectsPerSlab, 7)

        expectError(.invalidCache(name: "bad")) { _ = try slab.createCache("bad", size: 0) }
        expectError(.invalidCache(name: "bad")) { _ = try slab.createCache("bad", size: 8, align: 24) }
        expectError(.invalidCache(name: "bad")) { _ = try slab.createCache("bad", size: 5 << 20) }
        for cache in [small, mid, huge, line, aligned] { try slab.destroyCache(cache) }
        try finish(slab)
    }

    func testObjectIndexByReciprocalIsExact() throws {
        for (size, align) in [(24, 8), (96, 8), (100, 8), (3000, 8), (4096, 4096), (100_000, 8)] {
            let layout = try XCTUnwrap(SlabLayout(objectSize: size, align: align, flags: [],
                                                  hasConstructor: false, order: nil))
            let base = UnsafeMutableRawPointer(bitPattern: 0x7f00_0000_0000)!
            for offset in Swift.stride(from: -8, to: layout.slabBytes - layout.firstObject, by: 8) {
                let expected = offset >= 0 && offset % layout.stride == 0 && offset / layout.stride < layout.objectsPerSlab
                    ? offset / layout.stride : nil
                let found = layout.index(of: base + layout.firstObject + offset, slabBase: base)
                if found != expected { XCTFail("size \(size) offset \(offset): \(String(describing: found))"); break }
            }
        }
    }

    func testListTransitionsFullPartialEmpty() throws {
        let slab = try makeSlab()
        let cache = try slab.createCache("transitions", size: 256)
        let perSlab = cache.info.objectsPerSlab
        func lists() -> [Int] { [cache.info.fullSlabs, cache.info.partialSlabs, cache.info.emptySlabs] }

        var objects = [try slab.alloc(cache)]
        XCTAssertEqual(lists(), [0, 1, 0])
        for _ in 1..<perSlab { objects.append(try slab.alloc(cache)) }
        XCTAssertEqual(lists(), [1, 0, 0])
        objects.append(try slab.alloc(cache))
        XCTAssertEqual(lists(), [1, 1, 0])
        let pagesWithTwoSlabs = ledger.outstandingPages

        try slab.free(cache, objects.removeLast())
        XCTAssertEqual(lists(), [1, 0, 1], "an empty slab is kept for the next burst")
        XCTAssertEqual(ledger.outstandingPages, pagesWithTwoSlabs)
        try slab.free(cache, objects.removeFirst())
        XCTAssertEqual(lists(), [0, 1, 1])
        XCTAssertEqual(cache.info.activeObjects, perSlab - 1)
        for object in objects { try slab.free(cache, object) }
        XCTAssertEqual(lists(), [0, 0, 2])
        XCTAssertEqual(cache.emptySlabLimit, 16, "64 KiB of one-page slabs")
        XCTAssertEqual(ledger.outstandingPages, pagesWithTwoSlabs)
        XCTAssertEqual(cache.info.activeObjects, 0)
        try slab.destroyCache(cache)
        try finish(slab)
    }

    func testAllocationTakesPartialThenEmptyThenNewSlab() throws {
        let slab = try makeSlab()
        let cache = try slab.createCache("order", size: 512)
        let perSlab = cache.info.objectsPerSlab
        var objects: [UnsafeMutableRawPointer] = []
        for _ in 0..<(3 * perSlab) { objects.append(try slab.alloc(cache)) }
        let slabs = Set(objects.map { slabBase($0, cache) })
        XCTAssertEqual(slabs.count, 3)
        // Empty the middle slab: the last one is the CPU slab, which always serves first
        // (see testCPUSlabServesFirstAndShrinkHandsItBack).
        let emptied = slabBase(objects[perSlab], cache)
        for object in objects where slabBase(object, cache) == emptied { try slab.free(cache, object) }
        let hole = objects[1]
        try slab.free(cache, hole)
        XCTAssertEqual([cache.info.fullSlabs, cache.info.partialSlabs, cache.info.emptySlabs], [1, 1, 1])
        let pages = ledger.outstandingPages

        let first = try slab.alloc(cache)
        XCTAssertEqual(first, hole, "the partial slab is used first")
        var refill = [try slab.alloc(cache)]
        XCTAssertEqual(slabBase(refill[0], cache), emptied, "then the empty slab")
        for _ in 1..<perSlab { refill.append(try slab.alloc(cache)) }
        XCTAssertTrue(refill.allSatisfy { slabBase($0, cache) == emptied })
        XCTAssertEqual(ledger.outstandingPages, pages)
        let fresh = try slab.alloc(cache)
        XCTAssertFalse(slabs.contains(slabBase(fresh, cache)), "only then a new slab")
        XCTAssertEqual(ledger.outstandingPages, pages + cache.info.pagesPerSlab)

        let live = objects.filter { slabBase($0, cache) != emptied } + refill + [fresh]
        XCTAssertEqual(Set(live).count, 3 * perSlab + 1)
        for object in live { try slab.free(cache, object) }
        try slab.destroyCache(cache)
        try finish(slab)
    }

    func testConstructorRunsOncePerObjectWhenItsSlabIsCreated() throws {
        for flags in [SlabFlags(), .debug] {   // the fast path, and the checked slow path
            let slab = try makeSlab(flags: flags)
            slabConstructorCalls = 0
            let cache = try slab.createCache("ctor", size: 48, constructor: { object in
                slabConstructorCalls += 1
                object.storeBytes(of: 0xC0FFEE, as: UInt64.self)
            })
            XCTAssertEqual(cache.flags, flags.subtracting(.poison), "poison would destroy constructed state")
            XCTAssertEqual(slabConstructorCalls, 0, "no slab yet")
            let perSlab = cache.info.objectsPerSlab

            let first = try slab.alloc(cache)
            XCTAssertEqual(slabConstructorCalls, perSlab)
            XCTAssertEqual(first.load(as: UInt64.self), 0xC0FFEE)
            first.storeBytes(of: 42, toByteOffset: 8, as: UInt64.self)
            try slab.free(cache, first)
            let again = try slab.alloc(cache)
            XCTAssertEqual(again, first)
            XCTAssertEqual(again.load(as: UInt64.self), 0xC0FFEE, "the free list must not overwrite the object")
            XCTAssertEqual(again.load(fromByteOffset: 8, as: UInt64.self), 42)
            XCTAssertEqual(slabConstructorCalls, perSlab, "allocation does not construct")

            var objects = [again]
            for _ in 1..<perSlab { objects.append(try slab.alloc(cache)) }
            XCTAssertEqual(slabConstructorCalls, perSlab)
            objects.append(try slab.alloc(cache))
            XCTAssertEqual(slabConstructorCalls, 2 * perSlab, "a new slab constructs all its objects")
            XCTAssertTrue(objects.allSatisfy { $0.load(as: UInt64.self) == 0xC0FFEE })
            for object in objects { try slab.free(cache, object) }
            try slab.destroyCache(cache)
            try finish(slab)
        }
    }

    func testDestroyIsRefusedWhileObjectsAreLive() throws {
        let slab = try makeSlab()
        let baseline = ledger.outstandingPages
        let cache = try slab.createCache("busy", size: 100)
        let a = try slab.alloc(cache)
        let b = try slab.alloc(cache)
        expectError(.cacheBusy(cache: "busy", liveObjects: 2)) { _ = try slab.destroyCache(cache) }
        try slab.free(cache, a)
        expectError(.cacheBusy(cache: "busy", liveObjects: 1)) { _ = try slab.destroyCache(cache) }
        expectError(.cacheBusy(cache: "busy", liveObjects: 1)) { _ = try slab.shutdown() }
        try slab.free(cache, b)
        try slab.destroyCache(cache)
        XCTAssertFalse(cacheNames(slab).contains("busy"))
        slab.shrinkAll()
        XCTAssertEqual(ledger.outstandingPages, baseline)
        expectError(.permanentCache("kmalloc-64")) { _ = try slab.destroyCache(slab.kmallocCache(size: 64)!) }
        try finish(slab)
    }

    func testEmptySlabsBeyondTheLimitGoBackAndShrinkFreesTheRest() throws {
        let slab = try makeSlab()
        for (name, size) in [("one-page", 1000), ("sixteen-page", 40_000)] as [(StaticString, Int)] {
            let cache = try slab.createCache(name, size: size)
            let baseline = ledger.outstandingPages
            let perSlab = cache.info.objectsPerSlab, pagesPerSlab = cache.info.pagesPerSlab
            let limit = cache.emptySlabLimit
            XCTAssertEqual(limit, max(1, 16 / pagesPerSlab))
            var objects: [UnsafeMutableRawPointer] = []
            for _ in 0..<((limit + 3) * perSlab) { objects.append(try slab.alloc(cache)) }
            XCTAssertEqual(ledger.outstandingPages, baseline + (limit + 3) * pagesPerSlab)
            for object in objects { try slab.free(cache, object) }
            // The last slab is the CPU slab: frees into it never give it back, so it stays
            // on top of the limit (SLUB decides in deactivate_slab(), at a slab switch or shrink).
            XCTAssertEqual(cache.info.emptySlabs, limit + 1)
            XCTAssertEqual(ledger.outstandingPages, baseline + (limit + 1) * pagesPerSlab)
            slab.shrink(cache)
            XCTAssertEqual(cache.info.totalSlabs, 0)
            XCTAssertEqual(ledger.outstandingPages, baseline)
            try slab.destroyCache(cache)
        }
        try finish(slab)
    }

    // MARK: the CPU slab (SLUB's fast path)

    func testCPUSlabServesFirstAndShrinkHandsItBack() throws {
        let slab = try makeSlab()
        let cache = try slab.createCache("cpu", size: 256)
        let perSlab = cache.info.objectsPerSlab, pagesPerSlab = cache.info.pagesPerSlab
        func lists() -> [Int] { [cache.info.fullSlabs, cache.info.partialSlabs, cache.info.emptySlabs] }

        var objects: [UnsafeMutableRawPointer] = []
        for _ in 0...perSlab { objects.append(try slab.alloc(cache)) }
        let cpuObject = objects.removeLast()   // alone in the second slab, the CPU slab
        let hole = objects[3]
        try slab.free(cache, hole)
        try slab.free(cache, cpuObject)
        XCTAssertEqual(lists(), [0, 1, 1], "the CPU slab counts by its live objects")
        XCTAssertEqual(cache.info.activeObjects, perSlab - 1)
        XCTAssertEqual(try slab.alloc(cache), cpuObject, "the CPU slab serves first, even empty, partial slab or not")
        try slab.free(cache, cpuObject)

        let pages = ledger.outstandingPages
        slab.shrink(cache)
        XCTAssertEqual(lists(), [0, 1, 0], "shrink hands the CPU slab back, then frees it as empty")
        XCTAssertEqual(ledger.outstandingPages, pages - pagesPerSlab)
        XCTAssertEqual(try slab.alloc(cache), hole, "without a CPU slab, the partial slab comes first")
        XCTAssertEqual(lists(), [1, 0, 0])

        // The CPU slab is full: allocation must switch slabs, and when no page is left the
        // failed switch shows in no counter.
        let before = cache.info
        ledger.pageLimit = ledger.outstandingPages
        expectError(.outOfMemory(cache: "cpu")) { _ = try slab.alloc(cache) }
        XCTAssertEqual(cache.info, before)
        ledger.pageLimit = .max
        let next = try slab.alloc(cache)
        XCTAssertEqual(lists(), [1, 1, 0])

        for object in objects + [next] { try slab.free(cache, object) }
        XCTAssertEqual(cache.info.activeObjects, 0)
        try slab.destroyCache(cache)
        try finish(slab)
    }

    func testDoubleFreeIsRefusedAnywhereOnTheFreeList() throws {
        for flags in [SlabFlags(), .debug] {
            let slab = try makeSlab(flags: flags)
            let a = try slab.kmalloc(64)
            let b = try slab.kmalloc(64)
            let c = try slab.kmalloc(64)
            try slab.kfree(a)
            try slab.kfree(b)   // free list: b → a
            let before = slab.kmallocCache(size: 64)!.info
            expectError(.invalidFree(cache: "kmalloc-64", object: a, reason: .doubleFree)) { _ = try slab.kfree(a) }
            expectError(.invalidFree(cache: "kmalloc-64", object: b, reason: .doubleFree)) { _ = try slab.kfree(b) }
            XCTAssertEqual(slab.kmallocCache(size: 64)!.info, before)
            XCTAssertEqual(try slab.kmalloc(64), b)
            XCTAssertEqual(try slab.kmalloc(64), a, "reached through b's free pointer, checked, still free")
            for object in [a, b, c] { try slab.kfree(object) }
            expectError(.invalidFree(cache: "kmalloc-64", object: c, reason: .doubleFree)) { _ = try slab.kfree(c) }
            try finish(slab)
        }
    }

    func testCacheListIsNewestFirst() throws {
        let slab = try makeSlab()
        let kmalloc = [8192, 4096, 2048, 1024, 512, 256, 192, 128, 96, 64, 32, 16, 8].map { "kmalloc-\($0)" }
        XCTAssertEqual(cacheNames(slab), kmalloc + ["kmem_cache"])
        let first = try slab.createCache("first", size: 10)
        let second = try slab.createCache("second", size: 10)
        XCTAssertEqual(cacheNames(slab), ["second", "first"] + kmalloc + ["kmem_cache"])
        try slab.destroyCache(first)
        XCTAssertEqual(cacheNames(slab), ["second"] + kmalloc + ["kmem_cache"])
        try slab.destroyCache(second)
        try finish(slab)
    }

    func testOutOfMemoryIsReportedAndChangesNothing() throws {
        ledger.pageLimit = 0
        expectError(.outOfMemory(cache: "kmem_cache")) { _ = try Slab(backend: SlabHostBackend(ledger: ledger)) }
        ledger.pageLimit = 1   // room for the boot page, not for a slab of cache descriptors
        expectError(.outOfMemory(cache: "kmem_cache")) { _ = try Slab(backend: SlabHostBackend(ledger: ledger)) }
        XCTAssertEqual(ledger.outstandingPages, 0)
        XCTAssertEqual(ledger.badFrees, 0)

        ledger.pageLimit = .max
        let slab = try makeSlab()
        ledger.pageLimit = ledger.outstandingPages
        let before = slab.kmallocCache(size: 64)!.info
        expectError(.outOfMemory(cache: "kmalloc-64")) { _ = try slab.kmalloc(64) }
        expectError(.outOfMemory(cache: "kmalloc")) { _ = try slab.kmalloc(10_000) }
        XCTAssertEqual(slab.kmallocCache(size: 64)!.info, before)
        ledger.pageLimit = .max
        try slab.kfree(try slab.kmalloc(64))
        try finish(slab)
    }

    // MARK: kmalloc

    func testKmallocSizeClasses() throws {
        let slab = try makeSlab()
        let expected = [(0, 8), (1, 8), (8, 8), (9, 16), (16, 16), (17, 32), (33, 64), (64, 64), (65, 96), (96, 96),
                        (97, 128), (128, 128), (129, 192), (192, 192), (193, 256), (257, 512), (513, 1024),
                        (1025, 2048), (2049, 4096), (4097, 8192), (8192, 8192)]
        for (size, objectSize) in expected {
            XCTAssertEqual(slab.kmallocCache(size: size)?.objectSize, objectSize, "size \(size)")
            let object = try slab.kmalloc(size)
            XCTAssertEqual(try slab.ksize(object), objectSize, "size \(size)")
            try slab.kfree(object)
        }
        XCTAssertEqual("\(slab.kmallocCache(size: 65)!.name)", "kmalloc-96")
        let classes = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192]
        let mismatches = (1...8192).filter { size in
            KmallocSizes.size(ofIndex: KmallocSizes.index(size)) != classes.first(where: { $0 >= size })
        }
        XCTAssertEqual(mismatches, [], "every size maps to the smallest class that holds it")

        XCTAssertNil(slab.kmallocCache(size: 8193))
        let pages = ledger.outstandingPages
        let large = try slab.kmalloc(8193)
        XCTAssertEqual(Int(bitPattern: large) % 4096, 0)
        XCTAssertEqual(ledger.outstandingPages, pages + 4, "header page + 3 pages, rounded to order 2")
        XCTAssertEqual(try slab.ksize(large), 3 * 4096)
        try slab.kfree(large)
        XCTAssertEqual(ledger.outstandingPages, pages)
        try slab.kfree(nil)
        try finish(slab)
    }

    func testKmallocHonoursAlignment() throws {
        for flags in [SlabFlags(), .debug] {
            let slab = try makeSlab(flags: flags)
            for shift in 3...13 {
                var objects: [UnsafeMutableRawPointer] = []
                for _ in 0..<20 { objects.append(try slab.kmalloc(1 << shift)) }
                XCTAssertTrue(objects.allSatisfy { Int(bitPattern: $0) % (1 << shift) == 0 }, "kmalloc-\(1 << shift)")
                for object in objects { try slab.kfree(object) }
            }
            for alignment in (0...16).map({ 1 << $0 }) {
                for size in [0, 1, 24, 80, 100, 150, 1000, 5000, 8192, 9000, 20000] {
                    let object = try slab.kmalloc(size: size, alignment: alignment)
                    XCTAssertEqual(Int(bitPattern: object) % alignment, 0, "size \(size) alignment \(alignment)")
                    XCTAssertGreaterThanOrEqual(try slab.ksize(object), size)
                    memset(object, 0xab, size)
                    try slab.kfree(object)
                }
            }
            expectError(.invalidRequest(size: 8, alignment: 24)) { _ = try slab.kmalloc(size: 8, alignment: 24) }
            expectError(.invalidRequest(size: -1, alignment: 1)) { _ = try slab.kmalloc(-1) }
            try finish(slab)
        }
    }

    func testLargeKmallocUsesWholePagesAndKfreeReturnsThem() throws {
        let slab = try makeSlab()
        let baseline = ledger.outstandingPages
        let object = try slab.kmalloc(100_000, flags: .zero)
        XCTAssertEqual(ledger.outstandingPages, baseline + 32, "4096 + 100000 bytes round up to order 5")
        XCTAssertEqual(try slab.ksize(object), 31 * 4096)
        XCTAssertTrue(UnsafeRawBufferPointer(start: object, count: 100_000).allSatisfy { $0 == 0 })
        memset(object, 0x77, 31 * 4096)
        expectError(.cacheBusy(cache: "kmalloc", liveObjects: 1)) { _ = try slab.shutdown() }
        try slab.kfree(object)
        XCTAssertEqual(ledger.outstandingPages, baseline)
        expectError(.outOfMemory(cache: "kmalloc")) { _ = try slab.kmalloc(4 << 20) }
        try finish(slab)
    }

    func testZeroFlagClearsObjects() throws {
        for flags in [SlabFlags(), .debug] {
            let slab = try makeSlab(flags: flags)
            let dirty = try slab.kmalloc(200)
            memset(dirty, 0xff, 200)
            try slab.kfree(dirty)
            let zeroed = try slab.kmalloc(200, flags: .zero)
            XCTAssertTrue(UnsafeRawBufferPointer(start: zeroed, count: try slab.ksize(zeroed)).allSatisfy { $0 == 0 })
            try slab.kfree(zeroed)
            let cache = try slab.createCache("zeroed", size: 72)
            let object = try slab.alloc(cache, flags: .zero)
            XCTAssertTrue(UnsafeRawBufferPointer(start: object, count: 72).allSatisfy { $0 == 0 })
            try slab.free(cache, object)
            try slab.destroyCache(cache)
            try finish(slab)
        }
    }

    // MARK: refused frees

    func testInvalidFreesAreRefusedAndChangeNothing() throws {
        let slab = try makeSlab()
        let k32 = try slab.kmalloc(32)   // first object of a fresh kmalloc-32 slab, in its first page
        let p = try slab.kmalloc(64)
        let q = try slab.kmalloc(64)
        try slab.kfree(p)
        let before = slab.kmallocCache(size: 64)!.info
        expectError(.invalidFree(cache: "kmalloc-64", object: p, reason: .doubleFree)) { _ = try slab.kfree(p) }
        expectError(.invalidFree(cache: "kmalloc-64", object: q + 8, reason: .notObjectStart)) { _ = try slab.kfree(q + 8) }
        XCTAssertEqual(slab.kmallocCache(size: 64)!.info, before)

        let a = try slab.createCache("a", size: 40)
        let b = try slab.createCache("b", size: 40)
        let fromB = try slab.alloc(b)
        expectError(.invalidFree(cache: "a", object: fromB, reason: .wrongCache(owner: "b"))) { _ = try slab.free(a, fromB) }
        expectError(.invalidFree(cache: "a", object: k32, reason: .wrongCache(owner: "kmalloc-32"))) {
            _ = try slab.free(a, k32)
        }
        let big = try slab.createCache("big", size: 40_000)
        XCTAssertEqual(big.info.pagesPerSlab, 16, "64 KiB slabs, like kmalloc's")
        let fromBig = try slab.alloc(big)
        expectError(.invalidFree(cache: "kmalloc", object: fromBig, reason: .wrongCache(owner: "big"))) {
            _ = try slab.kfree(fromBig)
        }

        var memory: UnsafeMutableRawPointer? = nil
        XCTAssertEqual(posix_memalign(&memory, 65536, 65536), 0)
        let foreign = memory! + 128
        memset(memory!, 0, 65536)
        expectError(.invalidFree(cache: "kmalloc", object: foreign, reason: .notSlabMemory)) { _ = try slab.kfree(foreign) }
        expectError(.invalidFree(cache: "a", object: foreign, reason: .notSlabMemory)) { _ = try slab.free(a, foreign) }
        free(memory)
        XCTAssertEqual(b.info.activeObjects, 1)
        XCTAssertEqual(a.info.activeObjects, 0)

        try slab.kfree(q)
        try slab.kfree(k32)
        try slab.free(b, fromB)
        try slab.free(big, fromBig)
        for cache in [a, b, big] { try slab.destroyCache(cache) }
        try finish(slab)
    }

    // MARK: debug

    func testPoisonCatchesUseAfterFree() throws {
        let slab = try makeSlab(flags: .debug)
        XCTAssertEqual(slab.kmallocCache(size: 64)!.flags.intersection(.debug), .debug)
        let object = try slab.kmalloc(64)
        let bytes = object.assumingMemoryBound(to: UInt8.self)
        XCTAssertEqual([bytes[-1], bytes[64]], [0xcc, 0xcc], "red zones of a live object")
        try slab.kfree(object)
        XCTAssertTrue((0..<63).allSatisfy { bytes[$0] == 0x6b })
        XCTAssertEqual(bytes[63], 0xa5)
        XCTAssertEqual([bytes[-1], bytes[64]], [0xbb, 0xbb], "red zones of a free object")

        bytes[10] = 0   // use after free
        expectError(.corruption(cache: "kmalloc-64", object: object, check: .poison)) { _ = try slab.kmalloc(64) }
        bytes[10] = 0x6b
        let again = try slab.kmalloc(64)
        XCTAssertEqual(again, object)
        try slab.kfree(again)
        try finish(slab)
    }

    func testRedZonesCatchOverrunsAndUnderruns() throws {
        let slab = try makeSlab(flags: .debug)
        let object = try slab.kmalloc(64)
        let bytes = object.assumingMemoryBound(to: UInt8.self)
        bytes[64] = 0
        expectError(.corruption(cache: "kmalloc-64", object: object, check: .rightRedZone)) { _ = try slab.kfree(object) }
        XCTAssertEqual(slab.kmallocCache(size: 64)!.info.activeObjects, 1, "a refused free changes nothing")
        bytes[64] = 0xcc
        bytes[-1] = 0
        expectError(.corruption(cache: "kmalloc-64", object: object, check: .leftRedZone)) { _ = try slab.kfree(object) }
        bytes[-1] = 0xcc
        try slab.kfree(object)

        // Damage to a free object's red zone shows when it is next handed out.
        let cache = try slab.createCache("neighbours", size: 40)
        let first = try slab.alloc(cache)
        let second = try slab.alloc(cache)
        try slab.free(cache, second)
        let redZone = (second - 1).assumingMemoryBound(to: UInt8.self)
        redZone.pointee = 0
        expectError(.corruption(cache: "neighbours", object: second, check: .leftRedZone)) { _ = try slab.alloc(cache) }
        redZone.pointee = 0xbb
        XCTAssertEqual(try slab.alloc(cache), second)
        try slab.free(cache, first)
        try slab.free(cache, second)
        try slab.destroyCache(cache)
        try finish(slab)
    }

    func testCorruptFreeListIsReported() throws {
        let slab = try makeSlab()
        let object = try slab.kmalloc(64)
        let next = try slab.kmalloc(64)
        try slab.kfree(next)
        try slab.kfree(object)   // free list: object → next → ...
        object.storeBytes(of: next + 3, as: UnsafeMutableRawPointer.self)   // use after free hits the free pointer
        XCTAssertEqual(try slab.kmalloc(64), object)
        expectError(.corruption(cache: "kmalloc-64", object: next + 3, check: .freelist)) { _ = try slab.kmalloc(64) }
        try slab.kfree(object)
        object.storeBytes(of: next, as: UnsafeMutableRawPointer.self)   // repair
        try finish(slab)
    }

    func testErrorReportsNameCacheObjectAndCheck() {
        let object = UnsafeMutableRawPointer(bitPattern: 0x7f00_0012_3440)!
        func line(_ error: SlabError) -> String {
            var text = ""
            error.report(to: &text)
            return text
        }
        XCTAssertEqual(line(.corruption(cache: "kmalloc-64", object: object, check: .rightRedZone)),
                       "slab error: kmalloc-64: object 0x7f0000123440: Right Redzone overwritten\n")
        XCTAssertEqual(line(.invalidFree(cache: "a", object: object, reason: .wrongCache(owner: "b"))),
                       "slab error: a: invalid free of 0x7f0000123440: object belongs to b\n")
        XCTAssertEqual(line(.cacheBusy(cache: "busy", liveObjects: 2)),
                       "slab error: busy: 2 objects remaining on destroy\n")
    }

    // MARK: slabinfo

    /// The kernel counts rows into a buffer under its slab lock, without
    /// allocating, and prints them after: the same text, and a buffer too
    /// small for every cache says how many there are instead of dropping some.
    func testSlabinfoRowsMatchThePrinter() throws {
        let slab = try makeSlab()
        _ = try slab.createCache("rows_test", size: 48)
        _ = try slab.kmalloc(200)
        var caches = 0
        slab.forEachCache { _ in caches += 1 }

        let rows = UnsafeMutableBufferPointer<SlabinfoRow>.allocate(capacity: caches)
        defer { rows.deallocate() }
        XCTAssertEqual(slab.slabinfoRows(into: rows), caches)
        var fromRows = ""
        Slab.writeSlabinfo(UnsafeBufferPointer(rows), to: &fromRows)
        var printed = ""
        slab.printSlabinfo(to: &printed)
        XCTAssertEqual(fromRows, printed)

        let small = UnsafeMutableBufferPointer<SlabinfoRow>.allocate(capacity: 2)
        defer { small.deallocate() }
        XCTAssertEqual(slab.slabinfoRows(into: small), caches, "the total, not the 2 that fit")
        XCTAssertEqual("\(small[0].name)", "\(rows[0].name)")
    }

    func testSlabinfoMatchesCounters() throws {
        let slab = try makeSlab()
        let named = try slab.createCache("a_rather_long_cache_name", size: 100)
        var held = [try slab.alloc(named), try slab.alloc(named)]
        for size in [64, 64, 64, 100, 3000] { held.append(try slab.kmalloc(size)) }
        var text = ""
        slab.printSlabinfo(to: &text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "slabinfo - version: 2.1")
        XCTAssertEqual(lines[1], "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
                       + " : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>")
        XCTAssertEqual(lines.last, "", "every line ends in a newline")

        var caches: [(String, SlabCacheInfo)] = []
        slab.forEachCache { caches.append(("\($0.name)", $0.info)) }
        let body = Array(lines[2..<(lines.count - 1)])
        XCTAssertEqual(body.count, caches.count)
        for (line, (name, info)) in zip(body, caches) {
            let parts = line.split(separator: ":").map { $0.split(separator: " ").map(String.init) }
            XCTAssertEqual(parts.count, 3, line)
            XCTAssertEqual(parts[0].first, name)
            XCTAssertEqual(parts[0].dropFirst().compactMap { Int($0) },
                           [info.activeObjects, info.totalObjects, info.slotSize, info.objectsPerSlab, info.pagesPerSlab])
            XCTAssertEqual(parts[1], ["tunables", "0", "0", "0"])
            XCTAssertEqual(parts[2], ["slabdata", String(info.activeSlabs), String(info.totalSlabs), "0"])
        }

        func right(_ value: Int, _ width: Int) -> String {
            let s = String(value)
            return String(repeating: " ", count: max(0, width - s.count)) + s
        }
        let k64 = slab.kmallocCache(size: 64)!.info
        XCTAssertEqual(k64.activeObjects, 3)
        let expected = "kmalloc-64       " + " " + right(3, 6) + " " + right(k64.totalObjects, 6) + " " + right(64, 6)
            + " " + right(k64.objectsPerSlab, 4) + " " + right(16, 4) + " : tunables    0    0    0"
            + " : slabdata      1      1      0"
        XCTAssertTrue(body.contains(expected), "exact %-17s %6lu … layout")
        XCTAssertTrue(body.contains { $0.hasPrefix("a_rather_long_cache_name      2 ") }, "long names are not cut")

        try slab.free(named, held.removeFirst())
        try slab.free(named, held.removeFirst())
        for object in held { try slab.kfree(object) }
        try slab.destroyCache(named)
        try finish(slab)
    }

    // MARK: randomized

    func testRandomizedKmallocMixReturnsEveryPage() throws {
        try randomizedMix(seed: 0x5eed_51ab, operations: 40_000, flags: [])
    }

    func testRandomizedKmallocMixWithDebugChecks() throws {
        try randomizedMix(seed: 0xdeb0_51ab, operations: 8_000, flags: .debug)
    }

    /// The same mix with every kmalloc on one of 4 CPUs' slots and every kfree from
    /// wherever the object lives: the lists and counters still add up, and every
    /// page comes back.
    func testRandomizedKmallocMixOverFourCPUs() throws {
        try randomizedMix(seed: 0xc0de_51ab, operations: 20_000, flags: [], cpus: 4)
    }

    // MARK: per-CPU slots

    /// Two CPUs allocating from one cache each get a slab of their own (Linux:
    /// kmem_cache_cpu), and a free from anywhere goes back to the slot that has
    /// the object's slab: the next allocation there returns it.
    func testEachCPUAllocatesFromItsOwnSlab() throws {
        let slab = try makeSlab(cpus: 4)
        let cache = try slab.createCache("percpu", size: 64)
        let onZero = try slab.alloc(cache, cpu: 0)
        let onTwo = try slab.alloc(cache, cpu: 2)
        XCTAssertNotEqual(slabBase(onZero, cache), slabBase(onTwo, cache), "CPU 2 froze a slab of its own")
        XCTAssertEqual(slabBase(try slab.alloc(cache, cpu: 2), cache), slabBase(onTwo, cache))
        XCTAssertEqual(cache.info.activeObjects, 3, "objects in every CPU's slab are counted")
        XCTAssertEqual(cache.info.partialSlabs, 2, "each CPU slab counts by its own live objects")

        try slab.free(cache, onTwo)                       // freed "from" anywhere: back to CPU 2's list
        XCTAssertEqual(try slab.alloc(cache, cpu: 2), onTwo, "CPU 2's free list hands it out next")
        try slab.free(cache, onTwo)
        expectError(.invalidFree(cache: "percpu", object: onTwo, reason: .doubleFree)) {
            try slab.free(cache, onTwo)                   // on CPU 2's free list: still a double free
        }
        try slab.free(cache, onZero)
        slab.shrink(cache)
        XCTAssertEqual(cache.info.totalSlabs, 1, "one object left: its slab stays, on a list")
        XCTAssertEqual(cache.info.activeObjects, 1)
    }

    /// shrink() takes every CPU's slab back, and with no object left every page goes.
    func testShrinkEmptiesEveryCPUSlab() throws {
        let slab = try makeSlab(cpus: 4)
        let cache = try slab.createCache("shrinkme", size: 128)
        var objects: [UnsafeMutableRawPointer] = []
        for cpu in 0..<4 { for _ in 0..<3 { objects.append(try slab.alloc(cache, cpu: cpu)) } }
        XCTAssertEqual(cache.info.totalSlabs, 4)
        for object in objects.reversed() { try slab.free(cache, object) }
        XCTAssertEqual(cache.info.activeObjects, 0)
        slab.shrink(cache)
        XCTAssertEqual(cache.info.totalSlabs, 0, "no CPU keeps a slab after shrink")
        try slab.destroyCache(cache)
        try finish(slab)
    }

    /// Thousands of kmalloc/kfree of random sizes and alignments; every object is filled
    /// with its own byte and checked before kfree (overlaps would show); at the end all
    /// objects are freed and, after shrinking, every slab page is back.
    private func randomizedMix(seed: UInt64, operations: Int, flags: SlabFlags, cpus: Int = 1) throws {
        struct Live {
            let object: UnsafeMutableRawPointer, size: Int, pattern: UInt8
            let cache: KmemCacheRef?   // nil for a large block
        }
        let slab = try makeSlab(flags: flags, cpus: cpus)
        let baseline = ledger.outstandingPages
        var random = SplitMix64(seed: seed)
        var live: [Live] = []
        let expected = UnsafeMutableRawPointer.allocate(byteCount: 40_000, alignment: 16)
        defer { expected.deallocate() }

        func kfreeChecked(at index: Int) throws {
            let victim = live[index]
            live.swapAt(index, live.count - 1)
            live.removeLast()
            memset(expected, Int32(victim.pattern), victim.size)
            XCTAssertEqual(memcmp(victim.object, expected, victim.size), 0, "object \(victim.object) was overwritten")
            try slab.kfree(victim.object)
        }
        func smallLiveObjects() -> Int {
            var count = 0
            slab.forEachCache { if $0.flags.contains(.kmalloc) { count += $0.info.activeObjects } }
            return count
        }
        /// Each kmalloc cache's full and partial slabs, found by grouping the live objects
        /// by slab (64 KiB blocks), must match its counters, the CPU slab included.
        func checkSlabLists(_ step: Int) {
            var expected: [String: [Int]] = [:]   // name → [full, partial]
            let small = live.filter { $0.cache != nil }
            for group in Dictionary(grouping: small, by: { UInt(bitPattern: $0.object) >> 16 }).values {
                let cache = group[0].cache!
                expected["\(cache.name)", default: [0, 0]][group.count == cache.info.objectsPerSlab ? 0 : 1] += 1
            }
            slab.forEachCache { cache in
                guard cache.flags.contains(.kmalloc) else { return }
                XCTAssertEqual([cache.info.fullSlabs, cache.info.partialSlabs], expected["\(cache.name)"] ?? [0, 0],
                               "\(cache.name) at step \(step)")
            }
        }

        for step in 0..<operations {
            if live.isEmpty || random.chance(55) {
                let size = switch random.int(in: 0...99) {
                case 0..<70: random.int(in: 1...256)
                case 70..<92: random.int(in: 257...8192)
                default: random.int(in: 8193...40_000)
                }
                let alignment = random.chance(20) ? 1 << random.int(in: 0...12) : 1
                let cpu = random.int(in: 0...(cpus - 1))
                let object = alignment == 1 ? try slab.kmalloc(size, cpu: cpu)
                    : try slab.kmalloc(size: size, alignment: alignment, cpu: cpu)
                XCTAssertEqual(Int(bitPattern: object) % alignment, 0)
                XCTAssertGreaterThanOrEqual(try slab.ksize(object), size)
                let pattern = UInt8(truncatingIfNeeded: random.next())
                memset(object, Int32(pattern), size)
                let cache = max(size, alignment) > 8192 ? nil : slab.kmallocCache(size: try slab.ksize(object))
                live.append(Live(object: object, size: size, pattern: pattern, cache: cache))
            } else {
                try kfreeChecked(at: random.int(in: 0...(live.count - 1)))
            }
            if step % 1000 == 0 {
                XCTAssertEqual(smallLiveObjects(), live.filter { $0.cache != nil }.count, "step \(step)")
                checkSlabLists(step)
            }
        }
        while !live.isEmpty { try kfreeChecked(at: live.count - 1) }
        XCTAssertEqual(smallLiveObjects(), 0)
        slab.shrinkAll()
        XCTAssertEqual(ledger.outstandingPages, baseline, "every slab page is back after shrinking")
        try finish(slab)
    }
}
