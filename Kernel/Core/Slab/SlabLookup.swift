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
