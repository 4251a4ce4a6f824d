// The O(1) checks of every allocation and free, fast path or slow: the pointer must
// be the start of an object of the slab, and the slab's bitmap must agree that the
// object is free (allocation) or live (free). They refuse a double free and an
// interior pointer in every mode, and, on allocation, a free pointer overwritten by a
// use after free. (Linux checks this much only under slub_debug; its fast path only
// compares a freed object with the free-list head.)

extension KmemCache {
    /// Index of `object`, just taken off a free list of `slab`. Linux: check_valid_pointer()
    @inlinable @inline(__always)
    func freeIndex(of object: UnsafeMutableRawPointer, in slab: UnsafeMutablePointer<SlabHeader>)
        throws(SlabError) -> Int
    {
        guard let index = layout.index(of: object, slabBase: slab), !SlabBitmap(slab).isSet(index) else {
            throw Self.corruption(in: slab, object, .freelist)
        }
        return index
    }

    /// Index of `object`, about to be freed into `slab`. Linux: free_consistency_checks()
    @inlinable @inline(__always)
    func liveIndex(of object: UnsafeMutableRawPointer, in slab: UnsafeMutablePointer<SlabHeader>)
        throws(SlabError) -> Int
    {
        guard let index = layout.index(of: object, slabBase: slab) else {
            throw Self.invalidFree(in: slab, object, .notObjectStart)
        }
        guard SlabBitmap(slab).isSet(index) else { throw Self.invalidFree(in: slab, object, .doubleFree) }
        return index
    }

    /// The errors, built out of line to keep the inlined fast paths short. They take the
    /// slab, not `self`: a method would copy the whole descriptor, and the name would
    /// be loaded on the fast path.
    @usableFromInline @inline(never)
    static func corruption(in slab: UnsafeMutablePointer<SlabHeader>, _ object: UnsafeMutableRawPointer,
                           _ check: SlabCorruption) -> SlabError {
        .corruption(cache: SlabCacheName(slab.pointee.cache.pointee.name), object: object, check: check)
    }

    @usableFromInline @inline(never)
    static func invalidFree(in slab: UnsafeMutablePointer<SlabHeader>, _ object: UnsafeMutableRawPointer,
                            _ reason: SlabInvalidFree) -> SlabError {
        invalidFree(slab.pointee.cache.pointee.name, object, reason)
    }

    @usableFromInline @inline(never)
    static func invalidFree(_ cache: StaticString, _ object: UnsafeMutableRawPointer, _ reason: SlabInvalidFree)
        -> SlabError
    {
        .invalidFree(cache: SlabCacheName(cache), object: object, reason: reason)
    }
}
