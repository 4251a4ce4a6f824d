// The kernel's slab allocator: Kernel/Core/Slab over page blocks from the buddy
// allocator, seen through the direct map. Once it is up, every Swift object,
// array and string the kernel creates comes from kmalloc, on every CPU at once.
// The Core allocator is not thread-safe by itself: one lock, `Slab.lock`, covers
// every call into it (Linux has a lock per cache node, kmem_cache_node->list_lock,
// and lock-free per-CPU slabs; Keel's one CPU slab per cache sits under the same
// lock). Nothing may allocate while holding it: the lock is not recursive.
// Linux: mm/slub.c, kmem_cache_init(), kmalloc(), kfree()

/// Page blocks for the slab layer. A stateless handle: the slab allocator keeps a
/// copy of it in its first page.
///
/// The slab serves every Swift object, array and string, and the Embedded Swift
/// runtime cannot report a failed allocation (it traps), so slab pages may come
/// from the reserve below the min watermark. Taking one tells the OOM killer,
/// which then frees memory before the reserve is gone too.
struct BuddySlabBackend: SlabPageBackend {
    mutating func allocatePages(order: Int) -> UnsafeMutableRawPointer? {
        var block = PageAllocator.allocate(order: order)
        if block == nil {
            block = PageAllocator.allocate(order: order, flags: .memalloc)
            OOMKiller.reserveInUse = true
        }
        guard let block else { return nil }
        return UnsafeMutableRawPointer(DirectMap.pointer(block, as: UInt8.self))
    }

    mutating func freePages(_ block: UnsafeMutableRawPointer, order: Int) {
        PageAllocator.free(VirtAddr(UInt64(UInt(bitPattern: block))).directMapPhys, order: order)
    }
}

enum Slab {
    /// Set once at boot; every call into it holds `lock`.
    nonisolated(unsafe) static var allocator: SlabAllocator<BuddySlabBackend>? = nil
    /// Every slab cache's lists and CPU slab. Taken before the page allocator's
    /// locks; never held in an interrupt handler, so interrupts stay on.
    /// Linux: kmem_cache_node->list_lock (one for all caches here)
    static let lock = SpinLock(LockClass("slab_lock"), disablesInterrupts: false)

    /// Linux: kmem_cache_init()
    static func initialize(debug: Bool) {
        // The lock is made here, from the early heap: made on first use by
        // kmalloc it would be allocated by the kmalloc that needs it.
        lock.lock()
        defer { lock.unlock() }
        do {
            allocator = try SlabAllocator(backend: BuddySlabBackend(), flags: debug ? .debug : [])
        } catch {
            fail(error)
        }
        if debug { Log.notice("slab: debug mode: red zones and poisoning on every cache") }
    }

    /// Linux: kmalloc(); nil when memory is exhausted.
    static func kmalloc(_ size: Int, alignment: Int = 8) -> UnsafeMutableRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try allocator!.kmalloc(size: size, alignment: alignment)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kmem_cache_create(); nil when memory is exhausted.
    static func createCache(_ name: StaticString, size: Int, align: Int = 8) -> KmemCacheRef? {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try allocator!.createCache(name, size: size, align: align)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kmem_cache_alloc(); nil when memory is exhausted. Any other error
    /// (a corrupted free list) is a kernel bug.
    static func alloc(_ cache: KmemCacheRef) -> UnsafeMutableRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try allocator!.alloc(cache)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kmem_cache_free(). A bad free is a kernel bug: the report names the cache.
    static func free(_ cache: KmemCacheRef, _ object: UnsafeMutableRawPointer) {
        lock.lock()
        defer { lock.unlock() }
        do {
            try allocator!.free(cache, object)
        } catch {
            fail(error)
        }
    }

    /// Pages the slab caches hold, for /proc/meminfo's Slab line.
    static var totalPages: Int {
        lock.lock()
        defer { lock.unlock() }
        var pages = 0
        allocator!.forEachCache { pages += $0.info.totalSlabs * $0.info.pagesPerSlab }
        return pages
    }

    /// Linux: kfree(). A bad free is a kernel bug: the report names the cache.
    static func kfree(_ object: UnsafeMutableRawPointer?) {
        lock.lock()
        defer { lock.unlock() }
        do {
            try allocator!.kfree(object)
        } catch {
            fail(error)
        }
    }

    /// /proc/slabinfo: the rows are counted under the lock, printed after it
    /// (printing allocates). Linux: slab_show() under slab_mutex
    static func printSlabinfo<Sink: TextSink>(to sink: inout Sink) {
        var capacity = 32
        while true {
            let rows = UnsafeMutableBufferPointer<SlabinfoRow>.allocate(capacity: capacity)
            defer { rows.deallocate() }
            lock.lock()
            let total = allocator!.slabinfoRows(into: rows)
            lock.unlock()
            if total <= capacity {
                SlabAllocator<BuddySlabBackend>.writeSlabinfo(UnsafeBufferPointer(rebasing: rows[0..<total]), to: &sink)
                return
            }
            capacity = total + 8            // caches were created meanwhile: count again
        }
    }

    /// A corrupted cache is a kernel bug. Called with `lock` held, which goes
    /// first: the report allocates its text.
    static func fail(_ error: SlabError) -> Never {
        lock.unlock()
        var message = ""
        error.report(to: &message)
        while message.hasSuffix("\n") { message.removeLast() }
        Panic.now(message)
    }
}
