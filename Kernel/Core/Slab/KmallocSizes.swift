// kmalloc's size classes: Linux's kmalloc-8 … kmalloc-8192, with 96 and 192 filling
// the widest gaps (64→128, 128→256). Indices follow Linux's kmalloc_index():
// 1 = 96, 2 = 192, and k = 2^k bytes for k = 3…13; index 0 is unused.

/// Linux: kmalloc_index(), kmalloc_info[], KMALLOC_MAX_CACHE_SIZE
public enum KmallocSizes {
    /// Largest request a cache serves; larger ones get whole pages. Linux: KMALLOC_MAX_CACHE_SIZE
    /// (Computed and inlinable: kmalloc's inlined fast path reads it on every call.)
    @inlinable public static var maxCacheSize: Int { 8192 }
    /// Every kmalloc slab spans 2^4 pages (64 KiB), so kfree() finds any kmalloc slab
    /// by aligning down to 64 KiB. At this size the header and bitmap cost at most one
    /// object: 1/16 of a kmalloc-4096 slab, 1/8 of a kmalloc-8192 slab.
    /// (Computed and inlinable, as kfree()'s inlined fast path aligns by it.)
    @inlinable public static var slabOrder: Int { 4 }
    @inlinable static var slabBytes: Int { SlabLayout.pageBytes << slabOrder }
    static let firstPowerIndex = 3
    static let lastIndex = 13
    static let tableCount = lastIndex + 1

    /// The cache index serving `size` (0…8192) bytes, in O(1) and without branches, as
    /// every kmalloc() computes it. Linux: kmalloc_index()
    @inlinable public static func index(_ size: Int) -> Int {
        let last = max(size, 1) &- 1                                    // last byte's offset
        let log2 = Int.bitWidth &- (last | 7).leadingZeroBitCount       // ⌈log2 size⌉, at least 3
        // 65…96 and 129…192 bytes: the two top bits of `last` are 10, and 96 or 192 serves.
        let third = (log2 == 7 || log2 == 8) && last &>> (log2 &- 2) == 2
        return third ? log2 &- 6 : log2
    }

    /// Object size of the cache at `index`. Linux: kmalloc_info[index].size
    public static func size(ofIndex index: Int) -> Int {
        switch index {
        case 1: 96
        case 2: 192
        default: 1 << index
        }
    }

    /// The smallest power-of-two index at least as large: 96 and 192 are only
    /// word-aligned, every other kmalloc cache is aligned to its size.
    static func naturallyAligned(_ index: Int) -> Int {
        switch index {
        case 1: 7
        case 2: 8
        default: index
        }
    }

    /// Linux: kmalloc_info[index].name
    static func name(ofIndex index: Int) -> StaticString {
        switch index {
        case 1: "kmalloc-96"
        case 2: "kmalloc-192"
        case 3: "kmalloc-8"
        case 4: "kmalloc-16"
        case 5: "kmalloc-32"
        case 6: "kmalloc-64"
        case 7: "kmalloc-128"
        case 8: "kmalloc-256"
        case 9: "kmalloc-512"
        case 10: "kmalloc-1024"
        case 11: "kmalloc-2048"
        case 12: "kmalloc-4096"
        default: "kmalloc-8192"
        }
    }
}
