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
    func removeCache(_ descriptor: UnsafeMutablePointer<KmemCache>) throws(SlabError) {
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
