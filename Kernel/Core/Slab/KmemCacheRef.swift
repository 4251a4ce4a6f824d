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
