// A cache of equally sized objects: its geometry, its CPU slab and its three slab
// lists. Descriptors never move (they are kmem_cache objects, or sit in the
// allocator's boot page) because every slab header points back at its cache.

/// Runs once per object when its slab is created, not on every allocation: a freed
/// object keeps its constructed state for the next user. Linux: the ctor of kmem_cache_create()
public typealias SlabConstructor = @convention(c) (UnsafeMutableRawPointer) -> Void

/// Linux: struct kmem_cache
@usableFromInline struct KmemCache {
    /// The slab allocations come from, and its free objects. Linux: kmem_cache->cpu_slab
    @usableFromInline var cpu = KmemCacheCPU()
    /// Empty slabs are kept for the next burst of allocations up to this many bytes (but
    /// at least one slab); further ones go back to the page allocator at once.
    /// Linux: kmem_cache_node->free_limit (SLAB, counted in objects), min_partial (SLUB)
    static let emptyBytesLimit = 64 * 1024

    @usableFromInline let name: StaticString
    /// The flags actually in force (poisoning is dropped for caches with a constructor).
    @usableFromInline let flags: SlabFlags
    @usableFromInline let layout: SlabLayout
    let constructor: SlabConstructor?
    let emptySlabLimit: Int
    /// Slabs with no free object, some free objects, only free objects; the CPU slab is
    /// on none of them. Linux (SLAB): slabs_full, slabs_partial, slabs_free
    var full = SlabList()
    var partial = SlabList()
    var empty = SlabList()
    /// Objects handed out from the slabs on the lists (the sum of their `inuse`).
    var listedObjects = 0
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

    /// The list of slabs of `kind`.
    subscript(kind: SlabListKind) -> SlabList {
        get {
            switch kind {
            case .full: full
            case .partial: partial
            case .empty: empty
            }
        }
        set {
            switch kind {
            case .full: full = newValue
            case .partial: partial = newValue
            case .empty: empty = newValue
            }
        }
    }

    /// Live objects of the CPU slab, counted from its bitmap: the fast paths keep no count.
    var cpuObjects: Int { cpu.slab.map { SlabBitmap($0).count(objects: layout.objectsPerSlab) } ?? 0 }

    /// Objects handed out and not yet freed.
    var activeObjects: Int { listedObjects + cpuObjects }

    /// The counters of one slabinfo line. The CPU slab counts as full, partial or empty
    /// by its live objects, so the numbers are exact (SLUB counts it as full instead).
    /// Linux: get_slabinfo()
    var info: SlabCacheInfo {
        var lists = (full: full.count, partial: partial.count, empty: empty.count)
        let cpuObjects = cpuObjects
        if cpu.slab != nil {
            switch SlabListKind(inuse: cpuObjects, objects: layout.objectsPerSlab) {
            case .full: lists.full += 1
            case .partial: lists.partial += 1
            case .empty: lists.empty += 1
            }
        }
        let slabs = lists.full + lists.partial + lists.empty
        return SlabCacheInfo(
            activeObjects: listedObjects + cpuObjects, totalObjects: slabs * layout.objectsPerSlab,
            objectSize: layout.objectSize, slotSize: layout.stride,
            objectsPerSlab: layout.objectsPerSlab, pagesPerSlab: 1 << layout.order,
            fullSlabs: lists.full, partialSlabs: lists.partial, emptySlabs: lists.empty)
    }
}
