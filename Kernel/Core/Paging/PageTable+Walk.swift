// Visiting every mapped page of a range in address order: the walk under fork's
// copy_page_range(), munmap's zap and /proc's page accounting.

extension PageTable {
    /// Calls `body` with every present leaf that overlaps `range`, in ascending address order.
    /// A huge page that straddles a bound is visited whole (its `virt` may lie below `range`).
    /// `body` may rewrite the entry it is given (via `protect`, say) but must not free tables;
    /// a thrown error stops the walk. Linux: walk_page_range() with a pte_entry/pmd_entry callback
    public func forEachLeaf<E: Error>(
        in range: Range<VirtAddr>, _ body: (PageTableLeaf) throws(E) -> Void
    ) throws(E) {
        guard !range.isEmpty else { return }
        try visit(root, at: .pml4, base: 0, first: range.lowerBound.value, last: range.upperBound.value - 1, body)
    }

    /// Visits the entries of `table` (a table at `level` whose first entry maps `base`) that
    /// overlap [first, last].
    private func visit<E: Error>(
        _ table: PhysAddr, at level: PageTableLevel, base: UInt64, first: UInt64, last: UInt64,
        _ body: (PageTableLeaf) throws(E) -> Void
    ) throws(E) {
        for index in 0..<PageTableLevel.entriesPerTable {
            // PML4 slots 256–511 map the upper canonical half: sign-extend bit 47.
            let offset = base + UInt64(index) << level.shift
            let start = offset & (1 << 47) == 0 ? offset : offset | 0xffff_0000_0000_0000
            if start > last { return }
            guard start + (level.entrySpan - 1) >= first else { continue }
            let entry = read(table + UInt64(index) * 8)
            if let size = entry.pageSize(at: level) {
                try body(PageTableLeaf(virt: VirtAddr(start), entry: entry, size: size))
            } else if let next = entry.nextTable(at: level) {
                try visit(next, at: level.child, base: start, first: first, last: last, body)
            }
        }
    }
}
