// The slab subsystem as one handle: the cache of cache descriptors, the list of all
// caches, kmalloc's size classes and the page backend. Linux keeps this state in
// static variables. Keel's allocator is built at run time and must not use the Swift
// heap (kmalloc *is* the heap), so the state lives in one "boot page" from the
// backend, at a fixed address that slab headers and cache descriptors can point to:
//   [kmem_cache descriptor][SlabState][kmalloc_caches table][backend]
// The handle is a few pointers into that page; copies share the same allocator.
//
// Not thread-safe: each cache has one CPU slab (KmemCacheCPU), so on SMP the kernel
// must serialise calls (Linux has per-CPU slabs and per-node locks).

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
