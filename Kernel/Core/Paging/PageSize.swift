// The three page sizes x86-64 4-level paging can map, each a leaf one level higher
// than the last. Huge pages save page-table memory and TLB entries; the kernel's
// direct map uses them.

/// Size of a mapped page. Linux: PAGE_SIZE, PMD_SIZE (HPAGE_SIZE), PUD_SIZE
public enum PageSize: UInt64, Comparable, Sendable {
    case size4K = 0x1000
    case size2M = 0x20_0000
    case size1G = 0x4000_0000

    @inlinable public var bytes: UInt64 { rawValue }

    /// The level whose entries map pages of this size.
    @inlinable public var level: PageTableLevel {
        switch self {
        case .size4K: .pt
        case .size2M: .pd
        case .size1G: .pdpt
        }
    }

    /// The next size down, or nil for 4 KiB.
    @inlinable public var smaller: PageSize? {
        switch self {
        case .size4K: nil
        case .size2M: .size4K
        case .size1G: .size2M
        }
    }

    @inlinable public static func < (l: PageSize, r: PageSize) -> Bool { l.rawValue < r.rawValue }
}
