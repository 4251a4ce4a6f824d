// Physical memory is split by what devices can address. Every boundary is a
// multiple of the largest buddy block (4 MiB), so no block and no buddy pair
// ever straddles two zones.

/// Which zone a frame belongs to, in Linux's index order. Linux: enum zone_type
public enum ZoneType: Int, CaseIterable, Sendable {
    /// Below 16 MiB, for ISA DMA. Linux: ZONE_DMA
    case dma = 0
    /// Below 4 GiB, for 32-bit DMA. Linux: ZONE_DMA32
    case dma32 = 1
    /// Everything else. Linux: ZONE_NORMAL
    case normal = 2

    /// One past the last frame of the zone. Linux: MAX_DMA_PFN, MAX_DMA32_PFN
    @inlinable public var endPFN: UInt64 {
        switch self {
        case .dma: 0x1000
        case .dma32: 0x10_0000
        case .normal: .max
        }
    }

    /// The zone holding frame `pfn`. Linux: page_zonenum()
    @inlinable public init(pfn: UInt64) {
        self = pfn < ZoneType.dma.endPFN ? .dma : pfn < ZoneType.dma32.endPFN ? .dma32 : .normal
    }

    /// Linux: zone->name
    public var name: String {
        switch self {
        case .dma: "DMA"
        case .dma32: "DMA32"
        case .normal: "Normal"
        }
    }
}
