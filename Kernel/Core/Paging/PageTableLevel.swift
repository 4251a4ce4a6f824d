// The four levels of x86-64 4-level paging. A 48-bit virtual address is
// 9 + 9 + 9 + 9 index bits above a 12-bit page offset; each level's index picks
// one of 512 eight-byte entries in a 4 KiB table.

/// One level of the page-table tree, named after the table it indexes.
/// Linux folds the p4d level away on 4-level machines, leaving pgd → pud → pmd → pte.
public enum PageTableLevel: Int, Sendable {
    /// Page table: entries map 4 KiB pages. Linux: pte
    case pt = 0
    /// Page directory: entries point to PTs or map 2 MiB pages. Linux: pmd
    case pd = 1
    /// Page-directory-pointer table: entries point to PDs or map 1 GiB pages. Linux: pud
    case pdpt = 2
    /// The root, whose address CR3 holds. Linux: pgd
    case pml4 = 3

    /// Entries in every table. Linux: PTRS_PER_PTE (and PTRS_PER_PMD, ...)
    public static let entriesPerTable = 512

    /// Position of this level's index bits in a virtual address. Linux: PMD_SHIFT, PUD_SHIFT, PGDIR_SHIFT
    @inlinable public var shift: UInt64 { pageShift + 9 * UInt64(rawValue) }

    /// Bytes of virtual address space one entry at this level covers. Linux: PMD_SIZE, PUD_SIZE, PGDIR_SIZE
    @inlinable public var entrySpan: UInt64 { 1 << shift }

    /// The entry of this level's table that `virt` selects. Linux: pgd_index(), pud_index(),
    /// pmd_index(), pte_index()
    @inlinable public func index(of virt: VirtAddr) -> Int {
        Int(truncatingIfNeeded: (virt.value >> shift) & UInt64(Self.entriesPerTable - 1))
    }

    /// The level of the tables this level's entries point to; PT entries point to frames.
    @inlinable public var child: PageTableLevel {
        guard let below = PageTableLevel(rawValue: rawValue - 1) else { preconditionFailure("PT entries map frames") }
        return below
    }

    /// The page a leaf at this level maps; nil for the PML4, which cannot hold leaves.
    @inlinable public var leafSize: PageSize? {
        switch self {
        case .pt: .size4K
        case .pd: .size2M
        case .pdpt: .size1G
        case .pml4: nil
        }
    }
}
