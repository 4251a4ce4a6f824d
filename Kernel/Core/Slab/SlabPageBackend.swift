// The slab layer's only source of memory: whole blocks of 2^order pages. In the
// kernel this is the buddy allocator seen through the direct map; in host tests it
// is posix_memalign. The slab layer never touches the Swift heap, because Swift's
// own allocations (posix_memalign/free) are served by kmalloc on top of it.

/// Supplies page blocks to the slab allocator. Linux: alloc_pages()/__free_pages() as
/// called by allocate_slab() and kmalloc_large()
public protocol SlabPageBackend {
    /// Returns 2^order contiguous pages aligned to their own size (pageSize << order),
    /// or nil when memory is exhausted. The contents need not be zeroed.
    /// The slab layer relies on the alignment: it finds a slab's header by aligning an
    /// object address down to the slab size. Buddy blocks are naturally aligned.
    mutating func allocatePages(order: Int) -> UnsafeMutableRawPointer?
    /// Takes back a block returned by `allocatePages(order:)`, with the same order.
    mutating func freePages(_ block: UnsafeMutableRawPointer, order: Int)
}
