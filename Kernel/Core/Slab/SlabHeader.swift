// The header at the start of every slab, followed by a bitmap of live objects.
// Slabs are naturally aligned blocks, so aligning any object address down to the
// slab size lands on this header in O(1): Keel's stand-in for Linux's lookup of
// page->slab_cache through the page descriptor, which Keel's slab layer avoids so
// that it needs nothing from mem_map.

/// One slab: 2^order pages holding objects of one cache. Linux: struct slab
@usableFromInline struct SlabHeader {
    /// Marks memory as a slab header. Linux marks the page descriptor (PG_slab) instead.
    static let magic: UInt64 = 0x534c_4142_4b45_454c   // "SLABKEEL"

    var magic: UInt64
    /// The header's own address: a copy of a header elsewhere fails the lookup.
    var base: UnsafeMutableRawPointer
    /// Linux: slab->slab_cache
    var cache: UnsafeMutablePointer<KmemCache>
    /// First free object; each free object stores the next. Linux: slab->freelist
    var freelist: UnsafeMutableRawPointer?
    /// Live objects. Linux: slab->inuse
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
    @inline(__always)
    static func containing(_ address: UnsafeRawPointer, slabBytes: Int) -> UnsafeMutablePointer<SlabHeader>? {
        let base = UnsafeMutableRawPointer(bitPattern: Int(bitPattern: address) & ~(slabBytes - 1))!
        let header = base.load(as: SlabHeader.self)   // by value: the bytes may be anything
        guard header.magic == magic, header.base == base else { return nil }
        return base.assumingMemoryBound(to: SlabHeader.self)
    }
}

/// One bit per object, set while the object is allocated. It lets every free refuse a
/// double free in O(1), debug mode or not. (Linux's old SLAB kept a similar per-object
/// array, kmem_bufctl_t, after its slab header.)
struct SlabBitmap {
    let words: UnsafeMutablePointer<UInt64>

    @inline(__always) init(_ slab: UnsafeMutablePointer<SlabHeader>) {
        words = UnsafeMutableRawPointer(slab + 1).assumingMemoryBound(to: UInt64.self)
    }
    static func words(objects: Int) -> Int { (objects + 63) / 64 }

    func clearAll(objects: Int) {
        words.initialize(repeating: 0, count: SlabBitmap.words(objects: objects))
    }
    @inline(__always) func isSet(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }
    @inline(__always) func set(_ i: Int) { words[i >> 6] |= 1 << UInt64(i & 63) }
    @inline(__always) func clear(_ i: Int) { words[i >> 6] &= ~(1 << UInt64(i & 63)) }
}
