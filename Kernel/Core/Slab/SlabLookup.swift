// Finding the slab, and so the cache, that owns a pointer, in O(1): slabs are
// naturally aligned, so aligning the pointer down to the slab size lands on the slab
// header (Linux looks up page->slab_cache in the page descriptor instead).
// kmem_cache_free() is told the cache and so knows the slab size; kfree() is not,
// which is why every kmalloc slab has the same size (KmallocSizes.slabOrder).

extension KmemCache {
    /// Frees `object`, which must be a live object of `cache`, and returns a slab that
    /// became surplus (unlinked) for the caller to give back. Linux: kmem_cache_free()
    @usableFromInline
    static func free(_ object: UnsafeMutableRawPointer, in cache: UnsafeMutablePointer<KmemCache>)
        throws(SlabError) -> UnsafeMutablePointer<SlabHeader>?
    {
        try cache.pointee.release(object, from: slab(of: object, in: cache))
    }

    /// Frees `object`, which must be a live object of a kmalloc cache; returns a surplus
    /// slab as `free(_:in:)` does. Linux: kfree() of a slab object
    @usableFromInline
    static func kfree(_ object: UnsafeMutableRawPointer) throws(SlabError) -> UnsafeMutablePointer<SlabHeader>? {
        let slab = try kmallocSlab(of: object)
        return try slab.pointee.cache.pointee.release(object, from: slab)
    }

    /// The slab of `cache` holding `object`. (Static, so the descriptor is read in place
    /// rather than copied.) Linux: virt_to_slab() + the check of cache_from_obj()
    @inline(__always)
    static func slab(of object: UnsafeMutableRawPointer, in cache: UnsafeMutablePointer<KmemCache>)
        throws(SlabError) -> UnsafeMutablePointer<SlabHeader>
    {
        guard let slab = SlabHeader.containing(object, slabBytes: cache.pointee.layout.slabBytes) else {
            throw .invalidFree(cache: SlabCacheName(cache.pointee.name), object: object, reason: .notSlabMemory)
        }
        guard slab.pointee.cache == cache else {
            throw .invalidFree(cache: SlabCacheName(cache.pointee.name), object: object,
                               reason: .wrongCache(owner: SlabCacheName(slab.pointee.cache.pointee.name)))
        }
        return slab
    }

    /// The kmalloc slab holding `object`. Linux: virt_to_slab() in kfree()
    @inline(__always)
    static func kmallocSlab(of object: UnsafeMutableRawPointer) throws(SlabError) -> UnsafeMutablePointer<SlabHeader> {
        guard let slab = SlabHeader.containing(object, slabBytes: KmallocSizes.slabBytes) else {
            throw .invalidFree(cache: "kmalloc", object: object, reason: .notSlabMemory)
        }
        let cache = slab.pointee.cache
        guard cache.pointee.flags.contains(.kmalloc) else {
            throw .invalidFree(cache: "kmalloc", object: object,
                               reason: .wrongCache(owner: SlabCacheName(cache.pointee.name)))
        }
        return slab
    }
}
