// Whole-range operations that work table by table instead of page by page, for
// the two places that touch every page of an address space: fork copies the
// parent's tree (Linux: copy_page_range() → copy_pmd_range() → copy_pte_range())
// and exit or munmap tears entries down and frees the tables left empty
// (Linux: zap_page_range() + free_pgtables()). A page-by-page map or unmap
// would walk four levels per page and re-check a table for emptiness after
// every removal.

extension PageTable {
    /// What fork does with one leaf: the entry the child gets (nil: none) and,
    /// if it changes, the parent's new entry (copy-on-write makes both read-only).
    public typealias LeafCopy = (child: PageTableEntry?, parent: PageTableEntry?)

    /// Copies the user leaves of `range` into `child`, creating the child's tables
    /// as needed (with the parent's intermediate flags). `decide` sees each present
    /// leaf once. On `.outOfMemory` the child holds a partial copy, which its owner
    /// tears down. Only the user half (below the kernel slots) may be copied.
    public func copyLeaves<A: FrameAllocator>(
        _ range: Range<VirtAddr>, into child: PageTable, allocator: inout A,
        _ decide: (PageTableLeaf) -> LeafCopy
    ) throws(PageTableError) {
        guard !range.isEmpty else { return }
        precondition(range.upperBound.value <= KernelLayout.taskSize, "copyLeaves is for user space")
        try copyTable(root, into: child.root, child: child, at: .pml4, base: 0,
                      first: range.lowerBound.value, last: range.upperBound.value - 1, &allocator, decide)
    }

    private func copyTable<A: FrameAllocator>(
        _ table: PhysAddr, into childTable: PhysAddr, child: PageTable, at level: PageTableLevel, base: UInt64,
        first: UInt64, last: UInt64, _ allocator: inout A, _ decide: (PageTableLeaf) -> LeafCopy
    ) throws(PageTableError) {
        for index in 0..<PageTableLevel.entriesPerTable {
            let start = base + UInt64(index) << level.shift
            if start > last { return }
            guard start + (level.entrySpan - 1) >= first else { continue }
            let slot = table + UInt64(index) * 8, childSlot = childTable + UInt64(index) * 8
            let entry = read(slot)
            if let size = entry.pageSize(at: level) {
                let (childEntry, parentEntry) = decide(PageTableLeaf(virt: VirtAddr(start), entry: entry, size: size))
                if let childEntry { child.write(childSlot, childEntry) }
                if let parentEntry { write(slot, parentEntry) }
            } else if let next = entry.nextTable(at: level) {
                var childNext = child.read(childSlot).nextTable(at: level)
                if childNext == nil {
                    guard let frame = allocator.allocateFrame() else { throw .outOfMemory }
                    memory.zeroFrame(frame)
                    child.write(childSlot, PageTableEntry(frame: frame, flags: entry.flags))
                    childNext = frame
                }
                try copyTable(next, into: childNext!, child: child, at: level.child, base: start,
                              first: first, last: last, &allocator, decide)
            }
        }
    }

    /// Clears every present leaf of the user range `range`, handing each old leaf to
    /// `body` (to drop its frame), then frees the tables that became empty. Tables
    /// only partly inside the range stay if something else still uses them.
    public func zap<A: FrameAllocator>(_ range: Range<VirtAddr>, allocator: inout A,
                                       _ body: (PageTableLeaf) -> Void) {
        guard !range.isEmpty else { return }
        precondition(range.upperBound.value <= KernelLayout.taskSize, "zap is for user space")
        _ = zapTable(root, at: .pml4, base: 0, first: range.lowerBound.value,
                     last: range.upperBound.value - 1, &allocator, body)
    }

    /// Returns true when `table` is empty afterwards.
    private func zapTable<A: FrameAllocator>(
        _ table: PhysAddr, at level: PageTableLevel, base: UInt64, first: UInt64, last: UInt64,
        _ allocator: inout A, _ body: (PageTableLeaf) -> Void
    ) -> Bool {
        for index in 0..<PageTableLevel.entriesPerTable {
            let start = base + UInt64(index) << level.shift
            if start > last { break }
            guard start + (level.entrySpan - 1) >= first else { continue }
            let slot = table + UInt64(index) * 8
            let entry = read(slot)
            if let size = entry.pageSize(at: level) {
                // A huge leaf is removed only when the range covers all of it.
                guard start >= first && start + (size.bytes - 1) <= last else { continue }
                write(slot, .none)
                body(PageTableLeaf(virt: VirtAddr(start), entry: entry, size: size))
            } else if let next = entry.nextTable(at: level) {
                if zapTable(next, at: level.child, base: start, first: first, last: last, &allocator, body) {
                    write(slot, .none)
                    allocator.freeFrame(next)
                }
            }
        }
        guard level != .pml4 else { return false }
        for index in 0..<PageTableLevel.entriesPerTable where !read(table + UInt64(index) * 8).isNone { return false }
        return true
    }
}
