// Allocation flags: which zones may serve a request, what to do to the frames
// first, whether the request may dip below the min watermark, and whether the
// caller may sleep while the allocator makes room. Linux's I/O bits have no
// counterpart.
// The constants are computed properties, not `static let`, so code in other
// modules inlines them instead of calling a lazy-global accessor on the hot path.

/// Allocation request modifiers. Linux: gfp_t (include/linux/gfp_types.h)
public struct GFP: OptionSet, Sendable {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Only ZONE_DMA may serve the request. Linux: __GFP_DMA
    @inlinable public static var dma: GFP { GFP(rawValue: 1 << 0) }
    /// ZONE_DMA32, falling back to ZONE_DMA. Linux: __GFP_DMA32
    @inlinable public static var dma32: GFP { GFP(rawValue: 1 << 1) }
    /// Zero the frames before returning them. Linux: __GFP_ZERO
    @inlinable public static var zero: GFP { GFP(rawValue: 1 << 2) }
    /// May take frames below the zone's min watermark: the reserve kept for the
    /// kernel's own metadata (the slab layer behind every Swift object), so that
    /// tearing down an out-of-memory victim can always allocate what it needs.
    /// Linux: __GFP_MEMALLOC (ALLOC_NO_WATERMARKS, as for PF_MEMALLOC tasks)
    @inlinable public static var memalloc: GFP { GFP(rawValue: 1 << 3) }
    /// The caller may sleep (it holds no spinlock and is not an interrupt
    /// handler), so a failed request may make room itself before failing:
    /// compaction, for a block of more than one frame
    /// (Kernel/Memory/Compaction.swift). Linux: __GFP_DIRECT_RECLAIM
    @inlinable public static var directReclaim: GFP { GFP(rawValue: 1 << 4) }
    /// An ordinary kernel allocation: ZONE_NORMAL, falling back to DMA32 and DMA,
    /// and only while the zone stays above its min watermark.
    /// Linux: GFP_KERNEL
    @inlinable public static var kernel: GFP { [] }

    /// The highest zone the request may use; lower zones are its fallbacks.
    /// Linux: gfp_zone() (which rejects dma + dma32 together; Keel picks dma)
    @inlinable public var highestZone: ZoneType {
        contains(.dma) ? .dma : contains(.dma32) ? .dma32 : .normal
    }
}
