// The kernel's slab allocator: Kernel/Core/Slab over page blocks from the buddy
// allocator, seen through the direct map. Once it is up, every Swift object,
// array and string the kernel creates comes from kmalloc, on every CPU at once.
// Every cache has a slot per CPU, so CPUs allocating at once do not contend:
// the Core allocator takes this file's locks itself, a CPU's slot lock around
// its fast path and the list lock around the shared lists (which protects what
// is said at the top of Kernel/Core/Slab/SlabCache.swift). Nothing may
// allocate while holding either: they are not recursive.
// Linux: mm/slub.c, kmem_cache_init(), kmalloc(), kfree()

/// Page blocks and locks for the slab layer. A stateless handle: the slab
/// allocator keeps a copy of it in its first page.
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
        PageAllocator.mark(block, .slab)
        return UnsafeMutableRawPointer(DirectMap.pointer(block, as: UInt8.self))
    }

    mutating func freePages(_ block: UnsafeMutableRawPointer, order: Int) {
        PageAllocator.free(VirtAddr(UInt64(UInt(bitPattern: block))).directMapPhys, order: order)
    }

    mutating func lockCPUSlab(_ cpu: Int) { Slab.cpuSlabLocks[cpu].lock() }
    mutating func unlockCPUSlab(_ cpu: Int) { Slab.cpuSlabLocks[cpu].unlock() }
    mutating func lockLists() { Slab.listLock.lock() }
    mutating func unlockLists() { Slab.listLock.unlock() }
}

enum Slab {
    /// Set once at boot, before any other CPU runs.
    nonisolated(unsafe) static var allocator: SlabAllocator<BuddySlabBackend>? = nil
    /// One per CPU: that CPU's slot in every cache. Taken before the list lock;
    /// never held in an interrupt handler, so interrupts stay on. A CPU holds at
    /// most one (a free into another CPU's slab takes that CPU's instead of its
    /// own). Set once at boot. Linux: kmem_cache_cpu->lock
    nonisolated(unsafe) static var cpuSlabLocks: [SpinLock] = []
    private static let cpuSlabLockClass = LockClass("&s->cpu_slab->lock")
    /// Every cache's slab lists and the list of caches, one for all (one node).
    /// Taken before the page allocator's locks. Linux: kmem_cache_node->list_lock
    static let listLock = SpinLock(LockClass("&n->list_lock"), disablesInterrupts: false)
    /// Whether PerCPU.cpu may be read: allocations before the boot CPU's per-CPU
    /// block exists (it is itself kmalloc'ed) use slot 0.
    nonisolated(unsafe) static var cpuNumbersReady = false

    /// Linux: kmem_cache_init()
    static func initialize(debug: Bool) {
        // The locks are made here, from the early heap: made on first use by
        // kmalloc they would be allocated by the kmalloc that needs them.
        cpuSlabLocks = (0..<SMP.maxCPUs).map { _ in SpinLock(cpuSlabLockClass, disablesInterrupts: false) }
        listLock.lock()
        listLock.unlock()
        do {
            allocator = try SlabAllocator(backend: BuddySlabBackend(), flags: debug ? .debug : [], cpus: SMP.maxCPUs)
        } catch {
            fail(error)
        }
        if debug { Log.notice("slab: debug mode: red zones and poisoning on every cache") }
    }

    /// This CPU's slot number.
    @inline(__always)
    private static var cpu: Int { cpuNumbersReady ? PerCPU.cpu : 0 }

    /// Linux: kmalloc(); nil when memory is exhausted. (Never inlined: the
    /// kmalloc event's call_site is its caller.)
    @inline(never)
    static func kmalloc(_ size: Int, alignment: Int = 8) -> UnsafeMutableRawPointer? {
        let object: UnsafeMutableRawPointer?
        do {
            object = try allocator!.kmalloc(size: size, alignment: alignment, cpu: cpu)
        } catch .outOfMemory {
            object = nil
        } catch {
            fail(error)
        }
        Trace.kmalloc(object, requested: size, allocated: object.map(allocatedSize) ?? 0)
        return object
    }

    /// Linux: kmem_cache_create(); nil when memory is exhausted.
    static func createCache(_ name: StaticString, size: Int, align: Int = 8) -> KmemCacheRef? {
        do {
            return try allocator!.createCache(name, size: size, align: align, cpu: cpu)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kmem_cache_alloc(); nil when memory is exhausted. Any other error
    /// (a corrupted free list) is a kernel bug.
    static func alloc(_ cache: KmemCacheRef) -> UnsafeMutableRawPointer? {
        do {
            return try allocator!.alloc(cache, cpu: cpu)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kmem_cache_free(). A bad free is a kernel bug: the report names the cache.
    static func free(_ cache: KmemCacheRef, _ object: UnsafeMutableRawPointer) {
        do {
            try allocator!.free(cache, object)
        } catch {
            fail(error)
        }
    }

    /// Runs `body` with a kmalloc'd scratch buffer of `bytes` (a bounce buffer
    /// between a file and user memory); ENOMEM instead of a heap trap when
    /// memory is short, since a user program can drive this path.
    static func withBuffer<R>(bytes: Int, _ body: (UnsafeMutableRawBufferPointer) throws(Errno) -> R) throws(Errno) -> R {
        guard let memory = kmalloc(bytes, alignment: 64) else { throw .ENOMEM }
        defer { kfree(memory) }
        return try body(UnsafeMutableRawBufferPointer(start: memory, count: bytes))
    }

    /// Pages the slab caches hold, for /proc/meminfo's Slab line.
    static var totalPages: Int { allocator!.slabPages }

    /// The bytes a kmalloc'd object really has (its size class). A failure is
    /// a kernel bug, as for a bad free. Linux: ksize()
    static func allocatedSize(_ object: UnsafeMutableRawPointer) -> Int {
        do {
            return try allocator!.ksize(object)
        } catch {
            fail(error)
        }
    }

    /// Linux: kfree(). A bad free is a kernel bug: the report names the cache.
    /// (Never inlined: the kfree event's call_site is its caller.)
    @inline(never)
    static func kfree(_ object: UnsafeMutableRawPointer?) {
        if let object { Trace.kfree(object) }
        do {
            try allocator!.kfree(object)
        } catch {
            fail(error)
        }
    }

    /// /proc/slabinfo: the rows are counted under the list lock, printed after
    /// it (printing allocates). Linux: slab_show() under slab_mutex
    static func printSlabinfo<Sink: TextSink>(to sink: inout Sink) {
        var capacity = 32
        while true {
            let rows = UnsafeMutableBufferPointer<SlabinfoRow>.allocate(capacity: capacity)
            defer { rows.deallocate() }
            let total = allocator!.slabinfoRows(into: rows)
            if total <= capacity {
                SlabAllocator<BuddySlabBackend>.writeSlabinfo(UnsafeBufferPointer(rebasing: rows[0..<total]), to: &sink)
                return
            }
            capacity = total + 8            // caches were created meanwhile: count again
        }
    }

    /// A corrupted cache is a kernel bug. The allocator has let go of its locks
    /// by the time the error arrives here (the report allocates its text).
    static func fail(_ error: SlabError) -> Never {
        var message = ""
        error.report(to: &message)
        while message.hasSuffix("\n") { message.removeLast() }
        Panic.now(message)
    }
}
