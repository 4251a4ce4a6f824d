// SLUB's per-CPU fast path. A cache lends one slab at a time to the CPU: the CPU slab
// ("frozen") is on no list, and its free objects sit on the CPU's own free list.
// Allocation pops that list; freeing an object of the CPU slab pushes onto it.
// Neither moves a slab between lists nor counts anything: the only extra work is the
// bitmap bit that refuses double frees (SlabObjectChecks). Everything else takes a
// slow path: a free into another slab (KmemCacheObjects), an exhausted CPU free list
// (SlabAllocator.allocateSlow), and every call on a debug cache, which never gets a
// CPU slab (Linux: kmem_cache_debug() caches skip the fast path too).
//
// A free pointer lives in freed memory, where a use after free can overwrite it, so
// an object reached through one is checked before it is handed out. An object that a
// free has just pushed was checked by that free, which also found its index: the
// CPU keeps that index, and the common free-then-alloc pair skips the second check.
// (Linux trusts the free pointer; CONFIG_SLAB_FREELIST_HARDENED only scrambles it.)
//
// Keel runs the slab layer on one CPU, so a cache holds one KmemCacheCPU. With SMP it
// becomes an array indexed by the CPU number (Linux: the __percpu cpu_slab), and the
// kernel must call in with interrupts off, where Linux uses this_cpu_cmpxchg.

/// Linux: struct kmem_cache_cpu
@usableFromInline struct KmemCacheCPU {
    /// The CPU slab's free objects, chained through their free pointers. Linux: freelist
    @usableFromInline var freelist: UnsafeMutableRawPointer? = nil
    /// The index of `freelist` in the slab when a free pushed it, else `unchecked`.
    /// (An Int, not an Optional: the tag byte would cost the fast path a load and a store.)
    @usableFromInline var freelistIndex = KmemCacheCPU.unchecked
    /// Nil until the first allocation, after a shrink, and always in a debug cache. Linux: slab
    @usableFromInline var slab: UnsafeMutablePointer<SlabHeader>? = nil

    /// `freelist` came from a free pointer (or a slab's free list) and must be checked.
    @inlinable static var unchecked: Int { -1 }
}

extension KmemCache {
    /// Pops a free object of the CPU slab; nil when there is none. On a thrown error
    /// nothing has changed. Linux: slab_alloc_node() fast path
    @inlinable @inline(__always)
    mutating func allocateFast() throws(SlabError) -> UnsafeMutableRawPointer? {
        guard let object = cpu.freelist else { return nil }
        let slab = cpu.slab.unsafelyUnwrapped
        var index = cpu.freelistIndex
        if index == KmemCacheCPU.unchecked { index = try freeIndex(of: object, in: slab) }
        SlabBitmap(slab).set(index)
        cpu.freelist = layout.nextFree(object)
        cpu.freelistIndex = KmemCacheCPU.unchecked
        return object
    }

    /// Frees `object` of `slab`: onto the CPU free list if `slab` is the CPU slab, else
    /// onto the slab's own list (slow). Returns a slab that became surplus, for the
    /// caller to give back. On a thrown error nothing has changed.
    /// Linux: do_slab_free(), fast path or __slab_free()
    @inlinable @inline(__always)
    mutating func free(_ object: UnsafeMutableRawPointer, from slab: UnsafeMutablePointer<SlabHeader>)
        throws(SlabError) -> UnsafeMutablePointer<SlabHeader>?
    {
        guard slab == cpu.slab else { return try release(object, from: slab) }
        let index = try liveIndex(of: object, in: slab)
        SlabBitmap(slab).clear(index)
        layout.setNextFree(object, cpu.freelist)
        cpu.freelist = object
        cpu.freelistIndex = index
        return nil
    }

    /// Makes the listed `slab` the CPU slab: it leaves its list, and its free objects
    /// move to the CPU. Linux: get_partial() + acquire_slab(), or a new slab, frozen
    mutating func freeze(_ slab: UnsafeMutablePointer<SlabHeader>) {
        unlink(slab)
        listedObjects -= slab.pointee.inuse
        cpu = KmemCacheCPU(freelist: slab.pointee.freelist, slab: slab)
        slab.pointee.freelist = nil
    }

    /// Hands the CPU slab back to the lists with its free objects, its live objects
    /// counted from the bitmap. Returns it instead if it is empty and surplus (see
    /// `place`). Linux: deactivate_slab()
    mutating func deactivateCPUSlab() -> UnsafeMutablePointer<SlabHeader>? {
        guard let slab = cpu.slab else { return nil }
        slab.pointee.freelist = cpu.freelist
        slab.pointee.inuse = cpuObjects
        listedObjects += slab.pointee.inuse
        cpu = KmemCacheCPU()
        return place(slab)
    }
}
