// The slab allocator's front: the allocator handle, creating and destroying
// caches, the API the kernel calls (kmem_cache_alloc/free), and the lookup of
// the slab that owns a pointer. One cache's inside (its slabs, lists and
// per-CPU fast path) is SlabCache.swift; kmalloc's size classes are
// Kmalloc.swift; red zones, poisoning and the error reports are SlabDebug.swift.
//
// Concurrency: the allocator is not thread-safe by itself. In the kernel every
// call is made under one slab lock (Kernel/Memory/KernelSlab.swift), so one
// CPU slab per cache serves every CPU.
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

/// Mutable global state in the boot page. Linux: slab_caches, slub_debug
struct SlabState {
    /// Every cache, newest first. Linux: slab_caches
    var caches: UnsafeMutablePointer<KmemCache>?
    /// Added to the flags of every cache. Linux: slub_debug
    let debugFlags: SlabFlags
    /// Live large kmalloc blocks (they belong to no cache).
    var largeBlocks: Int
}

/// Linux: mm/slab_common.c + mm/slub.c
public struct SlabAllocator<Backend: SlabPageBackend> {
    /// The cache whose objects are cache descriptors. Linux: kmem_cache
    let cacheCache: UnsafeMutablePointer<KmemCache>
    let state: UnsafeMutablePointer<SlabState>
    /// kmalloc's caches by kmalloc index. Linux: kmalloc_caches[]
    @usableFromInline let kmallocCaches: UnsafeMutablePointer<UnsafeMutablePointer<KmemCache>?>
    let backend: UnsafeMutablePointer<Backend>

    static var stateOffset: Int {
        SlabLayout.alignUp(MemoryLayout<KmemCache>.stride, MemoryLayout<SlabState>.alignment)
    }
    static var tableOffset: Int {
        SlabLayout.alignUp(stateOffset + MemoryLayout<SlabState>.stride, SlabLayout.word)
    }
    static var backendOffset: Int {
        SlabLayout.alignUp(tableOffset + KmallocSizes.tableCount * SlabLayout.word, MemoryLayout<Backend>.alignment)
    }

    /// Sets up kmem_cache in the boot page, then the kmalloc caches. `flags` (`.debug` or
    /// empty; the kernel passes `.debug` for `slab.debug` on the command line) are added to every cache.
    /// Linux: kmem_cache_init() + create_kmalloc_caches()
    public init(backend: Backend, flags: SlabFlags = []) throws(SlabError) {
        precondition(Self.backendOffset + MemoryLayout<Backend>.stride <= SlabLayout.pageBytes,
                     "SlabPageBackend value too large for the boot page")
        let debugFlags = flags.intersection(.debug)
        guard let descriptors = KmemCache(name: "kmem_cache", objectSize: MemoryLayout<KmemCache>.stride,
                                          align: MemoryLayout<KmemCache>.alignment, flags: debugFlags,
                                          constructor: nil, order: nil) else {
            preconditionFailure("kmem_cache geometry")
        }
        var backend = backend
        guard let page = backend.allocatePages(order: 0) else { throw .outOfMemory(cache: "kmem_cache") }
        cacheCache = page.bindMemory(to: KmemCache.self, capacity: 1)
        cacheCache.initialize(to: descriptors)
        state = (page + Self.stateOffset).bindMemory(to: SlabState.self, capacity: 1)
        state.initialize(to: SlabState(caches: cacheCache, debugFlags: debugFlags, largeBlocks: 0))
        kmallocCaches = (page + Self.tableOffset).bindMemory(to: UnsafeMutablePointer<KmemCache>?.self,
                                                            capacity: KmallocSizes.tableCount)
        kmallocCaches.initialize(repeating: nil, count: KmallocSizes.tableCount)
        self.backend = (page + Self.backendOffset).bindMemory(to: Backend.self, capacity: 1)
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
                                               order: KmallocSizes.slabOrder).pointer
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
                            constructor: SlabConstructor? = nil) throws(SlabError) -> KmemCacheRef {
        try createCache(name, size: size, align: align, flags: flags.subtracting(.kmalloc),
                        constructor: constructor, order: nil)
    }

    /// The descriptor is an object of kmem_cache; `order` forces the slab size.
    /// Linux: create_cache() + list_add(&s->list, &slab_caches)
    func createCache(_ name: StaticString, size: Int, align: Int, flags: SlabFlags,
                     constructor: SlabConstructor?, order: Int?) throws(SlabError) -> KmemCacheRef {
        guard let cache = KmemCache(name: name, objectSize: size, align: align,
                                    flags: flags.union(state.pointee.debugFlags),
                                    constructor: constructor, order: order) else {
            throw .invalidCache(name: SlabCacheName(name))
        }
        let descriptor = try allocate(from: cacheCache).bindMemory(to: KmemCache.self, capacity: 1)
        descriptor.initialize(to: cache)
        descriptor.pointee.next = state.pointee.caches
        state.pointee.caches = descriptor
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
        guard descriptor.pointee.activeObjects == 0 else {
            throw .cacheBusy(cache: name, liveObjects: descriptor.pointee.activeObjects)
        }
        try removeCache(descriptor)
    }

    /// Frees the (empty) cache's slabs, unlinks it and frees its descriptor.
    /// Linux: __kmem_cache_shutdown() + slab_kmem_cache_release()
    private func removeCache(_ descriptor: UnsafeMutablePointer<KmemCache>) throws(SlabError) {
        shrink(KmemCacheRef(descriptor))
        if state.pointee.caches == descriptor {
            state.pointee.caches = descriptor.pointee.next
        } else {
            var previous = state.pointee.caches
            while let cache = previous, cache.pointee.next != descriptor { previous = cache.pointee.next }
            previous?.pointee.next = descriptor.pointee.next
        }
        descriptor.deinitialize(count: 1)
        try free(KmemCacheRef(cacheCache), UnsafeMutableRawPointer(descriptor))
    }

    /// Linux: kmem_cache_alloc(); with `.zero`, kmem_cache_zalloc()
    @inlinable @inline(__always)
    public func alloc(_ cache: KmemCacheRef, flags: SlabAllocFlags = []) throws(SlabError) -> UnsafeMutableRawPointer {
        let object = try allocate(from: cache.pointer)
        if flags.contains(.zero) {   // Linux: __GFP_ZERO
            object.initializeMemory(as: UInt8.self, repeating: 0, count: cache.pointer.pointee.layout.objectSize)
        }
        return object
    }

    /// Linux: slab_alloc_node()
    @inlinable @inline(__always)
    func allocate(from cache: UnsafeMutablePointer<KmemCache>) throws(SlabError) -> UnsafeMutableRawPointer {
        if let object = try cache.pointee.allocateFast() { return object }
        return try allocateSlow(from: cache)
    }

    /// The CPU free list is empty, so the CPU slab is full (or absent): it goes back to
    /// the lists, and the next slab, partial before empty before a new one, becomes the
    /// CPU slab. A debug cache has no CPU slab and takes its object from that next slab
    /// directly. On a thrown error the counters show no change. Linux: ___slab_alloc()
    @usableFromInline
    func allocateSlow(from cache: UnsafeMutablePointer<KmemCache>) throws(SlabError) -> UnsafeMutableRawPointer {
        if let surplus = cache.pointee.deactivateCPUSlab() { freeSlab(surplus) }
        if cache.pointee.nextSlab == nil { try grow(cache) }
        let slab = cache.pointee.nextSlab.unsafelyUnwrapped
        if cache.pointee.isDebug { return try cache.pointee.takeObject(from: slab) }
        cache.pointee.freeze(slab)
        guard let object = try cache.pointee.allocateFast() else {
            preconditionFailure("frozen slab has no free object")
        }
        return object
    }

    /// Refuses pointers that are not live objects of `cache`. Linux: kmem_cache_free()
    @inlinable @inline(__always)
    public func free(_ cache: KmemCacheRef, _ object: UnsafeMutableRawPointer) throws(SlabError) {
        if let surplus = try KmemCache.free(object, in: cache.pointer) { freeSlab(surplus) }
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

    /// Returns the CPU slab to the lists, then gives every empty slab of `cache` back.
    /// Linux: kmem_cache_shrink() = flush_all() + __kmem_cache_do_shrink()
    public func shrink(_ cache: KmemCacheRef) {
        if let slab = cache.pointer.pointee.deactivateCPUSlab() { freeSlab(slab) }
        while let slab = cache.pointer.pointee.takeEmptySlab() { freeSlab(slab) }
    }

    /// Shrinks every cache. Linux: drop_slab()
    public func shrinkAll() {
        forEachCache { shrink($0) }
    }

    /// Visits every cache, newest first; `body` must not create or destroy caches.
    /// Linux: list_for_each_entry(s, &slab_caches, list)
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
    @inlinable @inline(__always)
    static func free(_ object: UnsafeMutableRawPointer, in cache: UnsafeMutablePointer<KmemCache>)
        throws(SlabError) -> UnsafeMutablePointer<SlabHeader>?
    {
        try cache.pointee.free(object, from: slab(of: object, in: cache))
    }

    /// Frees `object`, which must be a live object of a kmalloc cache; returns a surplus
    /// slab as `free(_:in:)` does. Linux: kfree() of a slab object
    @inlinable @inline(__always)
    static func kfree(_ object: UnsafeMutableRawPointer) throws(SlabError) -> UnsafeMutablePointer<SlabHeader>? {
        let slab = try kmallocSlab(of: object)
        return try slab.pointee.cache.pointee.free(object, from: slab)
    }

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
}
