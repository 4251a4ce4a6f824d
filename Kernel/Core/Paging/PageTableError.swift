// Why a page-table operation refused. Every failing operation leaves the tables as
// they were (apart from permissions widened on intermediate entries, which grant nothing
// by themselves because the leaf decides).

/// Errors of `PageTable` operations.
public enum PageTableError: Error, Equatable, Sendable {
    /// The virtual address is not canonical (bits 63…47 differ).
    case nonCanonical
    /// An address (or length) is not aligned to the page size asked for.
    case misaligned
    /// Something is already mapped there: a leaf, or a table that still maps pages.
    case alreadyMapped
    /// Nothing present is mapped at that address.
    case notMapped
    /// The frame allocator ran dry while building intermediate tables.
    case outOfMemory
    /// The operation covers only part of a 2 MiB or 1 GiB page; Keel does not split huge
    /// pages (Linux: split_huge_pmd()).
    case hugePageSplitUnsupported
}
