// The page-table entry for a faulting address as the fault handler finds it,
// with what the handler knows about the frame behind it (from its struct page).

/// What currently maps the faulting page.
public enum PTEState: Equatable, Sendable {
    /// Nothing mapped yet. Linux: pte_none()
    case notPresent
    /// A frame is mapped; `writable` is the PTE's R/W bit. Linux: pte_present(), pte_write()
    case present(writable: Bool, frame: MappedFrame)
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
