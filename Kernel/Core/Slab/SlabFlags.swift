// Options that shape a whole cache (debug aids, alignment) and options that shape
// one allocation (zeroing). Linux spreads these over slab_flags_t and gfp_t.

/// Per-cache options. Linux: slab_flags_t
public struct SlabFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Guard bytes before and after each object, checked on alloc and free. Linux: SLAB_RED_ZONE
    public static let redZone = SlabFlags(rawValue: 1 << 0)
    /// Fill free objects with a pattern and check it on the next alloc. Linux: SLAB_POISON
    public static let poison = SlabFlags(rawValue: 1 << 1)
    /// Align objects to a 64-byte cache line. Linux: SLAB_HWCACHE_ALIGN
    public static let hwcacheAlign = SlabFlags(rawValue: 1 << 2)
    /// Both debug aids, what `slab.debug` on the command line turns on. Linux: slub_debug=ZP
    public static let debug: SlabFlags = [.redZone, .poison]
    /// The cache is one of kmalloc's size classes, so kfree() may free into it. Linux: SLAB_KMALLOC
    /// (Computed and inlinable: kfree()'s inlined fast path tests it.)
    @inlinable static var kmalloc: SlabFlags { SlabFlags(rawValue: 1 << 3) }
}

/// Per-allocation options. Linux: gfp_t
public struct SlabAllocFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Zero the object before returning it. Linux: __GFP_ZERO
    /// (Computed and inlinable: kmalloc's inlined fast path tests it on every call.)
    @inlinable public static var zero: SlabAllocFlags { SlabAllocFlags(rawValue: 1 << 0) }
}
