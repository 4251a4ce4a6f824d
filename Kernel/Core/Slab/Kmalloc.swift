// kmalloc: byte-sized kernel allocations from the size-class caches, whole pages
// above 8192 bytes. kfree() gets no size, so the owner is found from the pointer
// alone, in O(1), without Linux's page descriptors:
// - a page-aligned pointer may be a large block: its header is in the page before;
// - otherwise (or if that header is absent) the pointer is in a kmalloc slab, and
//   since all kmalloc slabs are 64 KiB blocks aligned to their size, aligning the
//   pointer down to 64 KiB gives the slab header, which names the cache (SlabLookup).

extension SlabAllocator {
    /// Linux: kmalloc(); with `.zero`, kzalloc(). A size of 0 is served as 1 byte.
    @inlinable @inline(__always)
    public func kmalloc(_ size: Int, flags: SlabAllocFlags = []) throws(SlabError) -> UnsafeMutableRawPointer {
        // One unsigned compare sends both negative and large sizes off the fast path.
        guard UInt(bitPattern: size) <= UInt(KmallocSizes.maxCacheSize) else {
            guard size >= 0 else { throw .invalidRequest(size: size, alignment: 1) }
            return try kmallocLarge(size, alignment: 1, flags: flags)
        }
        return try alloc(kmallocCache(index: KmallocSizes.index(size)), flags: flags)
    }

    /// `size` bytes at a multiple of `alignment` (a power of two), as posix_memalign()
    /// needs. A power-of-two cache of at least `alignment` bytes is aligned to it;
    /// beyond 8192 bytes whole pages serve. Linux: kmalloc() and the natural alignment
    /// of kmalloc-2^n objects
    public func kmalloc(size: Int, alignment: Int, flags: SlabAllocFlags = []) throws(SlabError)
        -> UnsafeMutableRawPointer
    {
        guard size >= 0, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw .invalidRequest(size: size, alignment: alignment)
        }
        let needed = max(size, alignment)
        guard needed <= KmallocSizes.maxCacheSize else {
            return try kmallocLarge(size, alignment: alignment, flags: flags)
        }
        var index = KmallocSizes.index(needed)
        if alignment > SlabLayout.word { index = KmallocSizes.naturallyAligned(index) }
        return try alloc(kmallocCache(index: index), flags: flags)
    }

    /// Linux: kfree(); nil is ignored. Refuses pointers that are not live kmalloc memory.
    @inlinable @inline(__always)
    public func kfree(_ object: UnsafeMutableRawPointer?) throws(SlabError) {
        guard let object else { return }
        if let large = KmallocLargeHeader.of(object) { return freeLarge(large) }
        if let surplus = try KmemCache.kfree(object) { freeSlab(surplus) }
    }

    /// The cache that serves `size` bytes; nil above 8192 (whole pages). Linux: kmalloc_slab()
    public func kmallocCache(size: Int) -> KmemCacheRef? {
        guard size >= 0, size <= KmallocSizes.maxCacheSize else { return nil }
        return kmallocCache(index: KmallocSizes.index(size))
    }

    /// Linux: kmalloc_caches[index]
    @inlinable
    func kmallocCache(index: Int) -> KmemCacheRef {
        KmemCacheRef(kmallocCaches[index].unsafelyUnwrapped)
    }

    /// Bytes usable at `object`, at least what was asked for. Linux: ksize()
    public func ksize(_ object: UnsafeMutableRawPointer) throws(SlabError) -> Int {
        if let large = KmallocLargeHeader.of(object) { return large.usableBytes }
        return try KmemCache.kmallocSlab(of: object).pointee.cache.pointee.layout.objectSize
    }
}
