// `test=mm`: thousands of mixed page, vmalloc and slab allocations and frees,
// each block filled with a pattern and checked before it is freed, then proof
// that every free count is back exactly where it started. Prints buddyinfo and
// slabinfo before and after, and "mm selftest: ok" or what failed.

enum MemorySelfTest {
    private enum Block {
        case pages(PhysAddr, order: Int)
        case object(UnsafeMutableRawPointer, size: Int)
        case cacheObject(UnsafeMutableRawPointer)
        case vmalloc(UnsafeMutableRawPointer, size: Int)
    }

    /// A fixed-seed generator, so a failure reproduces. Linux's selftests use prandom too.
    private struct XorShift {
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    static func run() {
        let operations = 6000
        var live: [Block] = []
        live.reserveCapacity(operations)
        var failures: [String] = []
        failures.reserveCapacity(16)
        guard let cache = Slab.createCache("selftest-192", size: 192) else {
            Panic.now("mm selftest: cannot create its cache")
        }
        Slab.allocator!.shrinkAll()
        let before = snapshot()
        printState("before")

        var random = XorShift()
        var counts = (pages: 0, objects: 0, vmalloc: 0)
        for step in 0..<operations {
            if !live.isEmpty && random.next(100) < 45 {
                let victim = live.swapRemoveAt(random.next(live.count))
                if !release(victim, cache: cache) { failures.append("pattern damaged in block freed at step \(step)") }
                continue
            }
            let pattern = UInt8(truncatingIfNeeded: step)
            switch random.next(10) {
            case 0...3:
                let order = random.next(5)
                let flags: GFP = [[], .dma32, .dma][random.next(3)]
                guard let block = PageAllocator.allocate(order: order, flags: flags) else { continue }
                fill(DirectMap.pointer(block), Int(pageSize) << order, pattern)
                live.append(.pages(block, order: order)); counts.pages += 1
            case 4...7:
                let size = 1 + random.next(12_000)
                guard let p = Slab.kmalloc(size) else { continue }
                fill(p, size, pattern)
                live.append(.object(p, size: size)); counts.objects += 1
            case 8:
                guard let p = Slab.alloc(cache) else { continue }
                fill(p, 192, pattern)
                live.append(.cacheObject(p)); counts.objects += 1
            default:
                let size = 1 + random.next(64 * 1024)
                guard let p = Vmalloc.allocate(bytes: size) else { continue }
                fill(p, size, pattern)
                live.append(.vmalloc(p, size: size)); counts.vmalloc += 1
            }
        }
        for block in live where !release(block, cache: cache) { failures.append("pattern damaged in a block freed at the end") }
        live.removeAll(keepingCapacity: true)
        do { try Slab.allocator!.destroyCache(cache) } catch { failures.append("kmem_cache_destroy refused") }
        Slab.allocator!.shrinkAll()

        let after = snapshot()
        printState("after")
        Log.notice("mm selftest: \(operations) operations: \(counts.pages) page blocks, \(counts.objects) slab objects, \(counts.vmalloc) vmalloc areas")
        for (zone, (a, b)) in zip(ZoneType.allCases, zip(before.zoneFree, after.zoneFree)) where a != b {
            failures.append("zone \(zone.name): \(a) free pages before, \(b) after")
        }
        if before.vmallocPages != after.vmallocPages { failures.append("vmalloc pages \(before.vmallocPages) before, \(after.vmallocPages) after") }
        if before.slabObjects != after.slabObjects { failures.append("slab objects \(before.slabObjects) in use before, \(after.slabObjects) after") }
        if failures.isEmpty {
            Console.write("mm selftest: ok\n")
        } else {
            for f in failures { Console.write("mm selftest: FAILED: " + f + "\n") }
        }
    }

    private static func snapshot() -> (zoneFree: [Int], vmallocPages: Int, slabObjects: Int) {
        PageAllocator.drainThisCPUList()        // frames parked on this CPU's list count as free in no zone
        var objects = 0
        Slab.allocator!.forEachCache { objects += $0.info.activeObjects }
        var zoneFree: [Int] = []
        for node in 0..<PageAllocator.nodeCount {
            for type in ZoneType.allCases { zoneFree.append(PageAllocator.node(node).pointee.zone(type).freePages) }
        }
        return (zoneFree, Vmalloc.mappedPages, objects)
    }

    private static func printState(_ when: StaticString) {
        var sink = ConsoleSink()
        sink.write("mm selftest: /proc/buddyinfo "); sink.write(when); sink.write(":\n")
        for node in 0..<PageAllocator.nodeCount { PageAllocator.node(node).pointee.writeBuddyInfo(to: &sink) }
        sink.write("mm selftest: /proc/slabinfo "); sink.write(when); sink.write(":\n")
        Slab.allocator!.printSlabinfo(to: &sink)
    }

    private static func fill(_ p: UnsafeMutableRawPointer, _ size: Int, _ pattern: UInt8) {
        _ = memset(p, Int32(pattern), size)
        // The first byte records the pattern so release() knows what to expect.
    }

    /// Checks the pattern (first and last byte must match) and frees the block.
    private static func release(_ block: Block, cache: KmemCacheRef) -> Bool {
        func intact(_ p: UnsafeMutableRawPointer, _ size: Int) -> Bool {
            let bytes = p.assumingMemoryBound(to: UInt8.self)
            return bytes[size - 1] == bytes[0] && bytes[size / 2] == bytes[0]
        }
        switch block {
        case .pages(let frame, let order):
            let ok = intact(DirectMap.pointer(frame), Int(pageSize) << order)
            PageAllocator.free(frame, order: order)
            return ok
        case .object(let p, let size):
            let ok = intact(p, size)
            Slab.kfree(p)
            return ok
        case .cacheObject(let p):
            let ok = intact(p, 192)
            Slab.free(cache, p)
            return ok
        case .vmalloc(let p, let size):
            let ok = intact(p, size)
            Vmalloc.free(p)
            return ok
        }
    }
}

private extension Array {
    /// O(1) removal when order does not matter.
    mutating func swapRemoveAt(_ i: Int) -> Element {
        swapAt(i, count - 1)
        return removeLast()
    }
}
