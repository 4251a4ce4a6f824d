// A cache of equally sized objects: its geometry and its three slab lists.
// Descriptors never move (they are kmem_cache objects, or sit in the allocator's
// boot page) because every slab header points back at its cache.

/// Runs once per object when its slab is created, not on every allocation: a freed
/// object keeps its constructed state for the next user. Linux: the ctor of kmem_cache_create()
public typealias SlabConstructor = @convention(c) (UnsafeMutableRawPointer) -> Void

/// Linux: struct kmem_cache
@usableFromInline struct KmemCache {
    /// Empty slabs are kept for the next burst of allocations up to this many bytes (but
    /// at least one slab); further ones go back to the page allocator at once.
    /// Linux: kmem_cache_node->free_limit (SLAB, counted in objects), min_partial (SLUB)
    static let emptyBytesLimit = 64 * 1024

    let name: StaticString
    /// The flags actually in force (poisoning is dropped for caches with a constructor).
    let flags: SlabFlags
    @usableFromInline let layout: SlabLayout
    let constructor: SlabConstructor?
    let emptySlabLimit: Int
    /// Slabs with no free object, some free objects, only free objects.
    /// Linux (SLAB): slabs_full, slabs_partial, slabs_free
    var full = SlabList()
    var partial = SlabList()
    var empty = SlabList()
    /// Objects handed out and not yet freed.
    var activeObjects = 0
    /// Next cache on the allocator's list of all caches. Linux: kmem_cache->list
    var next: UnsafeMutablePointer<KmemCache>? = nil

    /// Nil when the geometry is impossible. Linux: __kmem_cache_create()
    init?(name: StaticString, objectSize: Int, align: Int, flags: SlabFlags,
          constructor: SlabConstructor?, order: Int?) {
        // Poison would overwrite the constructed state. Linux: calculate_sizes() skips __OBJECT_POISON with a ctor
        let flags = constructor == nil ? flags : flags.subtracting(.poison)
        guard let layout = SlabLayout(objectSize: objectSize, align: align, flags: flags,
                                      hasConstructor: constructor != nil, order: order) else { return nil }
        self.name = name
        self.flags = flags
        self.layout = layout
        self.constructor = constructor
        self.emptySlabLimit = max(1, Self.emptyBytesLimit / layout.slabBytes)
    }

    var isDebug: Bool { !flags.isDisjoint(with: .debug) }

    /// The counters of one slabinfo line. Linux: get_slabinfo()
    var info: SlabCacheInfo {
        let slabs = full.count + partial.count + empty.count
        return SlabCacheInfo(
            activeObjects: activeObjects, totalObjects: slabs * layout.objectsPerSlab,
            objectSize: layout.objectSize, slotSize: layout.stride,
            objectsPerSlab: layout.objectsPerSlab, pagesPerSlab: 1 << layout.order,
            fullSlabs: full.count, partialSlabs: partial.count, emptySlabs: empty.count)
    }
}
