// The page-table entry for a faulting address as the fault handler finds it,
// with what the handler knows about the frame behind it (from its struct page).

/// What currently maps the faulting page.
public enum PTEState: Equatable, Sendable {
    /// Nothing mapped yet. Linux: pte_none()
    case notPresent
    /// A frame is mapped; `writable` is the PTE's R/W bit. Linux: pte_present(), pte_write()
    case present(writable: Bool, frame: MappedFrame)
    /// The page is in a swap slot (a swap PTE). Linux: is_swap_pte() && !non_swap_entry()
    case swapped(SwapEntry)
    /// The page is being moved to another frame (a migration PTE). Linux: is_migration_entry()
    case migrating

    /// What a PTE that maps no frame says: nothing, a swap slot or a migration.
    /// nil for a PTE that maps a frame (present or PROT_NONE).
    public init?(nonPresent entry: PageTableEntry) {
        if entry.isNone { self = .notPresent; return }
        guard let swap = entry.swapEntry else { return nil }
        self = swap.isMigration ? .migrating : .swapped(swap)
    }
}

/// The kind of frame a present PTE maps.
public enum MappedFrame: Equatable, Sendable {
    /// The one shared, read-only page of zeros. Linux: is_zero_pfn()
    case zeroPage
    /// Anonymous memory mapped by `mapCount` PTEs (more than one after fork).
    /// Linux: PageAnon(), page_mapcount() (newer kernels test the refcount instead)
    case anonymous(mapCount: Int)
    /// A page-cache page of a file. Linux: page->mapping is the file's address_space
    case pageCache
}
