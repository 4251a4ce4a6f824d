// The header at the start of every slab, followed by a bitmap of live objects.
// Slabs are naturally aligned blocks, so aligning any object address down to the
// slab size lands on this header in O(1): Keel's stand-in for Linux's lookup of
// page->slab_cache through the page descriptor, which Keel's slab layer avoids so
// that it needs nothing from mem_map.

/// One slab: 2^order pages holding objects of one cache. Linux: struct slab
@usableFromInline struct SlabHeader {
    /// Marks memory as a slab header. Linux marks the page descriptor (PG_slab) instead.
    /// (Computed and inlinable: kfree()'s inlined fast path compares it.)
    @inlinable static var magic: UInt64 { 0x534c_4142_4b45_454c }   // "SLABKEEL"

    @usableFromInline var magic: UInt64
    /// The header's own address: a copy of a header elsewhere fails the lookup.
    @usableFromInline var base: UnsafeMutableRawPointer
    /// Linux: slab->slab_cache
    @usableFromInline var cache: UnsafeMutablePointer<KmemCache>
    /// First free object; each free object stores the next. Nil while this is the CPU
    /// slab, whose free objects are on the CPU's list. Linux: slab->freelist
    var freelist: UnsafeMutableRawPointer?
    /// Live objects. Stale while this is the CPU slab: its bitmap counts them then
    /// (SLUB sets inuse to all objects while frozen). Linux: slab->inuse
    var inuse: Int
    /// Links on the cache's full, partial or empty list. Linux: slab->slab_list
    var prev: UnsafeMutablePointer<SlabHeader>?
    var next: UnsafeMutablePointer<SlabHeader>?

    /// Bytes taken by the header and its bitmap in a slab of `objects` objects.
    static func bytes(objects: Int) -> Int {
        MemoryLayout<SlabHeader>.stride + SlabBitmap.words(objects: objects) * 8
    }

    /// The slab of `slabBytes` that contains `address`, if a valid header is there.
    /// The caller guarantees the aligned-down address is readable. Linux: virt_to_slab()
    @inlinable @inline(__always)
    static func containing(_ address: UnsafeRawPointer, slabBytes: Int) -> UnsafeMutablePointer<SlabHeader>? {
        let base = UnsafeMutableRawPointer(bitPattern: Int(bitPattern: address) & ~(slabBytes &- 1)).unsafelyUnwrapped
        // `magic`, then `base`, read as integers: the bytes may be anything, even a null
        // where a pointer field is.
        guard base.load(as: UInt64.self) == magic,
              base.load(fromByteOffset: MemoryLayout<UInt64>.size, as: UInt.self) == UInt(bitPattern: base)
        else { return nil }
        return base.assumingMemoryBound(to: SlabHeader.self)
    }
}

/// One bit per object, set while the object is allocated. It lets every free refuse a
/// double free in O(1), debug mode or not. (Linux's old SLAB kept a similar per-object
/// array, kmem_bufctl_t, after its slab header.) It also counts the CPU slab's live
/// objects, which no counter follows.
@usableFromInline struct SlabBitmap {
    @usableFromInline let words: UnsafeMutablePointer<UInt64>

    @inlinable @inline(__always) init(_ slab: UnsafeMutablePointer<SlabHeader>) {
        words = UnsafeMutableRawPointer(slab + 1).assumingMemoryBound(to: UInt64.self)
    }
    static func words(objects: Int) -> Int { (objects + 63) / 64 }

    func clearAll(objects: Int) {
        words.initialize(repeating: 0, count: SlabBitmap.words(objects: objects))
    }
    /// Set bits, that is live objects. Linux: bitmap_weight()
    func count(objects: Int) -> Int {
        var live = 0
        for word in 0..<SlabBitmap.words(objects: objects) { live += words[word].nonzeroBitCount }
        return live
    }
    @inlinable @inline(__always) func isSet(_ i: Int) -> Bool { words[i &>> 6] & (1 &<< UInt64(i & 63)) != 0 }
    @inlinable @inline(__always) func set(_ i: Int) { words[i &>> 6] |= 1 &<< UInt64(i & 63) }
    @inlinable @inline(__always) func clear(_ i: Int) { words[i &>> 6] &= ~(1 &<< UInt64(i & 63)) }
}
