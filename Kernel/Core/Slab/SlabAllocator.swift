// The slab allocator's front: the allocator handle, creating and destroying
// caches, the API the kernel calls (kmem_cache_alloc/free), and the lookup of
// the slab that owns a pointer. One cache's inside (its slabs, lists and
// per-CPU fast path) is SlabCache.swift; kmalloc's size classes are
// Kmalloc.swift; red zones, poisoning and the error reports are SlabDebug.swift.
//
// Concurrency: every cache has a slot per CPU (the CPU number is an argument),
// and the allocator takes the backend's locks itself: a CPU's slot lock around
// its fast path, the list lock around everything shared (SlabCache.swift says
// what each protects). On a host test the backend's locks do nothing.
// Linux: mm/slab_common.c, mm/slub.c

// MARK: - the allocator
//
// The slab subsystem as one handle: the cache of cache descriptors, the list of all
// caches, kmalloc's size classes and the page backend. Linux keeps this state in
// static variables. Keel's allocator is built at run time and must not use the Swift
// heap (kmalloc *is* the heap), so the state lives in one "boot page" from the
// backend, at a fixed address that slab headers and cache descriptors can point to:
//   [kmem_cache descriptor][SlabState][kmalloc_caches table][backend]
// The handle is a few pointers into that page; copies share the same allocator.

/// Mutable global state in the boot page, under the list lock (a new cache is
/// linked at the head with one pointer store, so a walk without the lock sees
/// the old list or the new one). Linux: slab_caches, slub_debug
struct SlabState {
    /// Every cache, newest first. Linux: slab_caches
    var caches: UnsafeMutablePointer<KmemCache>?
    /// Added to the flags of every cache. Linux: slub_debug
    let debugFlags: SlabFlags
    /// Live large kmalloc blocks (they belong to no cache).
    var largeBlocks: Int
    /// CPU slots in every cache: CPU numbers run from 0 to cpus - 1.
    let cpus: Int
}

/// Linux: mm/slab_common.c + mm/slub.c
public struct SlabAllocator<Backend: SlabPageBackend> {
    /// The cache whose objects are cache descriptors. Linux: kmem_cache
    let cacheCache: UnsafeMutablePointer<KmemCache>
    let state: UnsafeMutablePointer<SlabState>
    /// kmalloc's caches by kmalloc index. Linux: kmalloc_caches[]
    @usableFromInline let kmallocCaches: UnsafeMutablePointer<UnsafeMutablePointer<KmemCache>?>
    @usableFromInline let backend: UnsafeMutablePointer<Backend>

    static func stateOffset(cpus: Int) -> Int {
        SlabLayout.alignUp(KmemCache.descriptorBytes(cpus: cpus), MemoryLayout<SlabState>.alignment)
    }
    static func tableOffset(cpus: Int) -> Int {
        SlabLayout.alignUp(stateOffset(cpus: cpus) + MemoryLayout<SlabState>.stride, SlabLayout.word)
    }
    static func backendOffset(cpus: Int) -> Int {
        SlabLayout.alignUp(tableOffset(cpus: cpus) + KmallocSizes.tableCount * SlabLayout.word,
                           MemoryLayout<Backend>.alignment)
    }

    /// Sets up kmem_cache in the boot page, then the kmalloc caches, every cache
    /// with `cpus` CPU slots. `flags` (`.debug` or empty; the kernel passes
    /// `.debug` for `slab.debug` on the command line) are added to every cache.
    /// Linux: kmem_cache_init() + create_kmalloc_caches()
    public init(backend: Backend, flags: SlabFlags = [], cpus: Int = 1) throws(SlabError) {
        precondition(cpus >= 1 && Self.backendOffset(cpus: cpus) + MemoryLayout<Backend>.stride <= SlabLayout.pageBytes,
                     "too many CPUs, or a SlabPageBackend value too large, for the boot page")
        let debugFlags = flags.intersection(.debug)
        var backend = backend
        guard let page = backend.allocatePages(order: 0) else { throw .outOfMemory(cache: "kmem_cache") }
        guard let descriptors = KmemCache.create(at: page, cpus: cpus, name: "kmem_cache",
                                                 objectSize: KmemCache.descriptorBytes(cpus: cpus),
                                                 align: MemoryLayout<KmemCache>.alignment, flags: debugFlags,
                                                 constructor: nil, order: nil) else {
            preconditionFailure("kmem_cache geometry")
        }
        cacheCache = descriptors
        state = (page + Self.stateOffset(cpus: cpus)).bindMemory(to: SlabState.self, capacity: 1)
        state.initialize(to: SlabState(caches: cacheCache, debugFlags: debugFlags, largeBlocks: 0, cpus: cpus))
        kmallocCaches = (page + Self.tableOffset(cpus: cpus)).bindMemory(to: UnsafeMutablePointer<KmemCache>?.self,
                                                                        capacity: KmallocSizes.tableCount)
        kmallocCaches.initialize(repeating: nil, count: KmallocSizes.tableCount)
        self.backend = (page + Self.backendOffset(cpus: cpus)).bindMemory(to: Backend.self, capacity: 1)
        self.backend.initialize(to: backend)
        do throws(SlabError) {
            try createKmallocCaches()
        } catch {
            _ = try? shutdown()
            throw error
        }
    }

    /// Creates kmalloc-8 … kmalloc-8192 in size order, 96 after 64 and 192 after 128.
    /// Every one uses KmallocSizes.slabOrder so that kfree() can find any slab.
    /// Linux: create_kmalloc_caches()
    private func createKmallocCaches() throws(SlabError) {
        for index in KmallocSizes.firstPowerIndex...KmallocSizes.lastIndex {
            try createKmallocCache(index)
            if index == 6 { try createKmallocCache(1) }
            if index == 7 { try createKmallocCache(2) }
        }
    }

    private func createKmallocCache(_ index: Int) throws(SlabError) {
        let size = KmallocSizes.size(ofIndex: index)
        let align = size & (size - 1) == 0 ? size : SlabLayout.word
        kmallocCaches[index] = try createCache(KmallocSizes.name(ofIndex: index), size: size, align: align,
                                               flags: .kmalloc, constructor: nil,
                                               order: KmallocSizes.slabOrder, cpu: 0).pointer
    }

    /// Destroys every cache and gives every page back, the boot page last, and returns
    /// the backend. Refused while any object or large kmalloc block is live. Every copy
    /// of this handle is unusable afterwards. Linux has no equivalent: its caches live forever.
    public func shutdown() throws(SlabError) -> Backend {
        var next = state.pointee.caches
        while let cache = next {
            if cache != cacheCache && cache.pointee.activeObjects > 0 {
                throw .cacheBusy(cache: SlabCacheName(cache.pointee.name), liveObjects: cache.pointee.activeObjects)
            }
            next = cache.pointee.next
        }
        guard state.pointee.largeBlocks == 0 else {
            throw .cacheBusy(cache: "kmalloc", liveObjects: state.pointee.largeBlocks)
        }
        while let cache = state.pointee.caches, cache != cacheCache { try removeCache(cache) }
        shrink(KmemCacheRef(cacheCache))
        var backend = self.backend.move()
        backend.freePages(UnsafeMutableRawPointer(cacheCache), order: 0)
        return backend
    }
}

// MARK: - caches and objects
//
// Creating and destroying caches, and objects in and out of them. The fast paths
// (alloc/free, see KmemCacheCPU) are @inlinable so that a client in another module,
// such as the host benchmark, inlines them too; inside the kernel everything is one
// module anyway.

extension SlabAllocator {
    /// Linux: kmem_cache_create(name, size, align, flags, ctor)
    public func createCache(_ name: StaticString, size: Int, align: Int = 8, flags: SlabFlags = [],
                            constructor: SlabConstructor? = nil, cpu: Int = 0) throws(SlabError) -> KmemCacheRef {
        try createCache(name, size: size, align: align, flags: flags.subtracting(.kmalloc),
                        constructor: constructor, order: nil, cpu: cpu)
    }

    /// The descriptor, and its CPU slots, are an object of kmem_cache; `order`
    /// forces the slab size. Linux: create_cache() + list_add(&s->list, &slab_caches)
    func createCache(_ name: StaticString, size: Int, align: Int, flags: SlabFlags,
                     constructor: SlabConstructor?, order: Int?, cpu: Int) throws(SlabError) -> KmemCacheRef {
        let place = try allocate(from: cacheCache, cpu: cpu)
        guard let descriptor = KmemCache.create(at: place, cpus: state.pointee.cpus, name: name, objectSize: size,
                                                align: align, flags: flags.union(state.pointee.debugFlags),
                                                constructor: constructor, order: order) else {
            try free(KmemCacheRef(cacheCache), place)
            throw .invalidCache(name: SlabCacheName(name))
        }
        backend.pointee.lockLists()
        descriptor.pointee.next = state.pointee.caches
        state.pointee.caches = descriptor
        backend.pointee.unlockLists()
        return KmemCacheRef(descriptor)
    }

    /// Refused while objects are live, and for kmem_cache and the kmalloc caches.
    /// Linux: kmem_cache_destroy()
    public func destroyCache(_ cache: KmemCacheRef) throws(SlabError) {
        let descriptor = cache.pointer
        let name = SlabCacheName(descriptor.pointee.name)
        guard descriptor != cacheCache, !descriptor.pointee.flags.contains(.kmalloc) else {
            throw .permanentCache(name)
        }
        backend.pointee.lockLists()
        let live = descriptor.pointee.activeObjects
        backend.pointee.unlockLists()
        guard live == 0 else { throw .cacheBusy(cache: name, liveObjects: live) }
        try removeCache(descriptor)
    }

    /// Frees the (empty) cache's slabs, unlinks it and frees its descriptor.
    /// Linux: __kmem_cache_shutdown() + slab_kmem_cache_release()
    private func removeCache(_ descriptor: UnsafeMutablePointer<KmemCache>) throws(SlabError) {
        shrink(KmemCacheRef(descriptor))
        backend.pointee.lockLists()
        if state.pointee.caches == descriptor {
            state.pointee.caches = descriptor.pointee.next
        } else {
            var previous = state.pointee.caches
            while let cache = previous, cache.pointee.next != descriptor { previous = cache.pointee.next }
            previous?.pointee.next = descriptor.pointee.next
        }
        backend.pointee.unlockLists()
        descriptor.deinitialize(count: 1)
        try free(KmemCacheRef(cacheCache), UnsafeMutableRawPointer(descriptor))
    }

    /// Linux: kmem_cache_alloc(); with `.zero`, kmem_cache_zalloc()
    @inlinable @inline(__always)
    public func alloc(_ cache: KmemCacheRef, flags: SlabAllocFlags = [], cpu: Int = 0) throws(SlabError)
        -> UnsafeMutableRawPointer
    {
        let object = try allocate(from: cache.pointer, cpu: cpu)
        if flags.contains(.zero) {   // Linux: __GFP_ZERO
            object.initializeMemory(as: UInt8.self, repeating: 0, count: cache.pointer.pointee.layout.objectSize)
        }
        return object
    }

    /// An object from CPU `cpu`'s slab, under that slot's lock; the list lock
    /// only when the slot runs dry. Linux: slab_alloc_node()
    @inlinable @inline(__always)
    func allocate(from cache: UnsafeMutablePointer<KmemCache>, cpu: Int) throws(SlabError) -> UnsafeMutableRawPointer {
        backend.pointee.lockCPUSlab(cpu)
        defer { backend.pointee.unlockCPUSlab(cpu) }
        if let object = try cache.pointee.allocateFast(cpu: cpu) { return object }
        return try allocateSlow(from: cache, cpu: cpu)
    }

    /// CPU `cpu`'s free list is empty, so its slab is full (or absent): it goes back to
    /// the lists, and the next slab, partial before empty before a new one, becomes the
    /// CPU's slab. A debug cache has no CPU slab and takes its object from that next slab
    /// directly. The caller holds the slot lock; this takes the list lock. On a thrown
    /// error the counters show no change. Linux: ___slab_alloc()
    @usableFromInline
    func allocateSlow(from cache: UnsafeMutablePointer<KmemCache>, cpu: Int) throws(SlabError) -> UnsafeMutableRawPointer {
        backend.pointee.lockLists()
        defer { backend.pointee.unlockLists() }
        if let surplus = cache.pointee.deactivateCPUSlab(cpu: cpu) { freeSlab(surplus) }
        if cache.pointee.nextSlab == nil { try grow(cache) }
        let slab = cache.pointee.nextSlab.unsafelyUnwrapped
        if cache.pointee.isDebug { return try cache.pointee.takeObject(from: slab) }
        cache.pointee.freeze(slab, cpu: cpu)
        guard let object = try cache.pointee.allocateFast(cpu: cpu) else {
            preconditionFailure("frozen slab has no free object")
        }
        return object
    }

    /// Refuses pointers that are not live objects of `cache`. Linux: kmem_cache_free()
    @inlinable @inline(__always)
    public func free(_ cache: KmemCacheRef, _ object: UnsafeMutableRawPointer) throws(SlabError) {
        try free(object, from: KmemCache.slab(of: object, in: cache.pointer))
    }

    /// Frees `object` of `slab` from any CPU: onto the free list of the CPU whose
    /// slot has the slab frozen, under that slot's lock, else onto the slab's own
    /// list under the list lock. The slab may be frozen or thawed between the look
    /// and the lock: then it looks again. Linux: do_slab_free() / __slab_free()
    @usableFromInline
    func free(_ object: UnsafeMutableRawPointer, from slab: UnsafeMutablePointer<SlabHeader>) throws(SlabError) {
        let cache = slab.pointee.cache
        while true {
            let owner = slab.pointee.frozenCPU
            if owner >= 0 {
                backend.pointee.lockCPUSlab(owner)
                if slab.pointee.frozenCPU == owner {
                    defer { backend.pointee.unlockCPUSlab(owner) }
                    try cache.pointee.freeToCPU(object, from: slab, cpu: owner)
                    return
                }
                backend.pointee.unlockCPUSlab(owner)
                continue
            }
            backend.pointee.lockLists()
            defer { backend.pointee.unlockLists() }
            if slab.pointee.frozenCPU >= 0 { continue }
            if let surplus = try cache.pointee.release(object, from: slab) { freeSlab(surplus) }
            return
        }
    }

    /// Adds a slab of fresh pages to `cache`. Linux: new_slab() / cache_grow_begin()
    func grow(_ cache: UnsafeMutablePointer<KmemCache>) throws(SlabError) {
        let layout = cache.pointee.layout
        guard let pages = backend.pointee.allocatePages(order: layout.order) else {
            throw .outOfMemory(cache: SlabCacheName(cache.pointee.name))
        }
        precondition(Int(bitPattern: pages) & (layout.slabBytes - 1) == 0,
                     "SlabPageBackend returned a block not aligned to its size")
        cache.pointee.addSlab(at: pages, owner: cache)
    }

    /// Gives an unlinked slab's pages back; unmarked first, so a stale pointer into
    /// them no longer finds a slab. Linux: discard_slab() / slab_destroy()
    @usableFromInline
    func freeSlab(_ slab: UnsafeMutablePointer<SlabHeader>) {
        slab.pointee.magic = 0
        backend.pointee.freePages(UnsafeMutableRawPointer(slab), order: slab.pointee.cache.pointee.layout.order)
    }

    /// Returns every CPU's slab to the lists (one slot lock at a time), then gives
    /// every empty slab of `cache` back. Linux: kmem_cache_shrink() = flush_all()
    /// + __kmem_cache_do_shrink()
    public func shrink(_ cache: KmemCacheRef) {
        for cpu in 0..<state.pointee.cpus {
            backend.pointee.lockCPUSlab(cpu)
            backend.pointee.lockLists()
            if let slab = cache.pointer.pointee.deactivateCPUSlab(cpu: cpu) { freeSlab(slab) }
            backend.pointee.unlockLists()
            backend.pointee.unlockCPUSlab(cpu)
        }
        backend.pointee.lockLists()
        while let slab = cache.pointer.pointee.takeEmptySlab() { freeSlab(slab) }
        backend.pointee.unlockLists()
    }

    /// Pages the caches hold (slabs, not large blocks), counted under the list lock.
    public var slabPages: Int {
        backend.pointee.lockLists()
        defer { backend.pointee.unlockLists() }
        var pages = 0
        forEachCache { pages += $0.info.totalSlabs * $0.info.pagesPerSlab }
        return pages
    }

    /// Shrinks every cache. Linux: drop_slab()
    public func shrinkAll() {
        forEachCache { shrink($0) }
    }

    /// Visits every cache, newest first; `body` must not create or destroy caches.
    /// A walk that reads their counters while other CPUs allocate holds the list
    /// lock (slabinfoRows, slabPages). Linux: list_for_each_entry(s, &slab_caches, list)
    public func forEachCache(_ body: (KmemCacheRef) -> Void) {
        var next = state.pointee.caches
        while let cache = next {
            next = cache.pointee.next
            body(KmemCacheRef(cache))
        }
    }
}

// MARK: - finding a pointer's slab
//
// Finding the slab, and so the cache, that owns a pointer, in O(1): slabs are
// naturally aligned, so aligning the pointer down to the slab size lands on the slab
// header (Linux looks up page->slab_cache in the page descriptor instead).
// kmem_cache_free() is told the cache and so knows the slab size; kfree() is not,
// which is why every kmalloc slab has the same size (KmallocSizes.slabOrder).

extension KmemCache {
    /// Frees `object`, which must be a live object of `cache`, and returns a slab that
    /// became surplus (unlinked) for the caller to give back. Linux: kmem_cache_free()

    /// The slab of `cache` holding `object`. (Static, so the descriptor is read in place
    /// rather than copied.) Linux: virt_to_slab() + the check of cache_from_obj()
    @inlinable @inline(__always)
    static func slab(of object: UnsafeMutableRawPointer, in cache: UnsafeMutablePointer<KmemCache>)
        throws(SlabError) -> UnsafeMutablePointer<SlabHeader>
    {
        guard let slab = SlabHeader.containing(object, slabBytes: cache.pointee.layout.slabBytes) else {
            throw invalidFree(cache.pointee.name, object, .notSlabMemory)
        }
        guard slab.pointee.cache == cache else {
            let owner = SlabCacheName(slab.pointee.cache.pointee.name)
            throw invalidFree(cache.pointee.name, object, .wrongCache(owner: owner))
        }
        return slab
    }

    /// The kmalloc slab holding `object`. Linux: virt_to_slab() in kfree()
    @inlinable @inline(__always)
    static func kmallocSlab(of object: UnsafeMutableRawPointer) throws(SlabError) -> UnsafeMutablePointer<SlabHeader> {
        guard let slab = SlabHeader.containing(object, slabBytes: KmallocSizes.slabBytes) else {
            throw kfreeError(object, slab: nil)
        }
        guard slab.pointee.cache.pointee.flags.contains(.kmalloc) else { throw kfreeError(object, slab: slab) }
        return slab
    }

    /// Why kfree() refused `object`: it is in no slab, or in `slab` of a non-kmalloc cache.
    @usableFromInline @inline(never)
    static func kfreeError(_ object: UnsafeMutableRawPointer, slab: UnsafeMutablePointer<SlabHeader>?) -> SlabError {
        guard let owner = slab?.pointee.cache.pointee.name else {
            return invalidFree("kmalloc", object, .notSlabMemory)
        }
        return invalidFree("kmalloc", object, .wrongCache(owner: SlabCacheName(owner)))
    }
}

// MARK: - cache handles
//
// What the rest of the kernel holds for a cache: a handle, so the descriptor's lists
// and counters stay private to the slab layer.

/// A handle to a cache. Linux: struct kmem_cache *
public struct KmemCacheRef: Equatable {
    @usableFromInline let pointer: UnsafeMutablePointer<KmemCache>
    @usableFromInline init(_ pointer: UnsafeMutablePointer<KmemCache>) { self.pointer = pointer }

    public var name: StaticString { pointer.pointee.name }
    /// Bytes usable in each object. Linux: kmem_cache_size()
    public var objectSize: Int { pointer.pointee.layout.objectSize }
    /// Flags in force, including the global debug flags.
    public var flags: SlabFlags { pointer.pointee.flags }
    public var info: SlabCacheInfo { pointer.pointee.info }
    /// Empty slabs kept rather than given back: 64 KiB worth, at least one.
    public var emptySlabLimit: Int { pointer.pointee.emptySlabLimit }
}

/// A cache's counters, one /proc/slabinfo line. Linux: struct slabinfo
public struct SlabCacheInfo: Equatable, Sendable {
    /// Linux: active_objs
    public var activeObjects: Int
    /// Linux: num_objs
    public var totalObjects: Int
    /// Bytes usable in each object. Linux: object_size
    public var objectSize: Int
    /// Bytes per object slot, debug metadata included; slabinfo's <objsize>. Linux: kmem_cache->size
    public var slotSize: Int
    /// Linux: objects_per_slab
    public var objectsPerSlab: Int
    /// Linux: 1 << cache_order
    public var pagesPerSlab: Int
    public var fullSlabs: Int
    public var partialSlabs: Int
    public var emptySlabs: Int
    /// Slabs holding live objects. Linux (SLAB): active_slabs
    public var activeSlabs: Int { fullSlabs + partialSlabs }
    /// Linux: num_slabs
    public var totalSlabs: Int { fullSlabs + partialSlabs + emptySlabs }
}

// MARK: - flags
//
// Options that shape a whole cache (debug aids, alignment) and options that shape
// one allocation (zeroing). Linux spreads these over slab_flags_t and gfp_t.

/// Per-cache options. Linux: slab_flags_t
public struct SlabFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Guard bytes before and after each object, checked on alloc and free. Linux: SLAB_RED_ZONE
    public static let redZone = SlabFlags(rawValue: 1 << 0)
    /// Fill free objects with a pattern and check it on the next alloc. Linux: SLAB_POISON
    public static let poison = SlabFlags(rawValue: 1 << 1)
    /// Align objects to a 64-byte cache line. Linux: SLAB_HWCACHE_ALIGN
    public static let hwcacheAlign = SlabFlags(rawValue: 1 << 2)
    /// Both debug aids, what `slab.debug` on the command line turns on. Linux: slub_debug=ZP
    public static let debug: SlabFlags = [.redZone, .poison]
    /// The cache is one of kmalloc's size classes, so kfree() may free into it. Linux: SLAB_KMALLOC
    /// (Computed and inlinable: kfree()'s inlined fast path tests it.)
    @inlinable static var kmalloc: SlabFlags { SlabFlags(rawValue: 1 << 3) }
}

/// Per-allocation options. Linux: gfp_t
public struct SlabAllocFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Zero the object before returning it. Linux: __GFP_ZERO
    /// (Computed and inlinable: kmalloc's inlined fast path tests it on every call.)
    @inlinable public static var zero: SlabAllocFlags { SlabAllocFlags(rawValue: 1 << 0) }
}

// MARK: - the page backend
//
// The slab layer's only source of memory: whole blocks of 2^order pages. In the
// kernel this is the buddy allocator seen through the direct map; in host tests it
// is posix_memalign. The slab layer never touches the Swift heap, because Swift's
// own allocations (posix_memalign/free) are served by kmalloc on top of it.

/// Supplies page blocks to the slab allocator. Linux: alloc_pages()/__free_pages() as
/// called by allocate_slab() and kmalloc_large()
public protocol SlabPageBackend {
    /// Returns 2^order contiguous pages aligned to their own size (pageSize << order),
    /// or nil when memory is exhausted. The contents need not be zeroed.
    /// The slab layer relies on the alignment: it finds a slab's header by aligning an
    /// object address down to the slab size. Buddy blocks are naturally aligned.
    mutating func allocatePages(order: Int) -> UnsafeMutableRawPointer?
    /// Takes back a block returned by `allocatePages(order:)`, with the same order.
    mutating func freePages(_ block: UnsafeMutableRawPointer, order: Int)

    // The slab's locks, for a backend whose allocator runs on several CPUs at
    // once (the defaults do nothing: a single-threaded user needs none). Order:
    // a CPU's slot lock, then the list lock, then allocatePages/freePages.
    /// CPU `cpu`'s slot in every cache. Linux: kmem_cache_cpu->lock (local_lock_t)
    mutating func lockCPUSlab(_ cpu: Int)
    mutating func unlockCPUSlab(_ cpu: Int)
    /// Every cache's slab lists and the list of caches. Linux: kmem_cache_node->list_lock
    mutating func lockLists()
    mutating func unlockLists()
}

extension SlabPageBackend {
    public mutating func lockCPUSlab(_ cpu: Int) {}
    public mutating func unlockCPUSlab(_ cpu: Int) {}
    public mutating func lockLists() {}
    public mutating func unlockLists() {}
}
