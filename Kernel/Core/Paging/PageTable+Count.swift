// Counting the page-table pages below an address: the "pgtables" part of the
// OOM killer's badness, since a process can pin memory in page tables alone
// (one byte read every 2 MiB maps only the shared zero page but costs a PT).

extension PageTable {
    /// Table pages (PDPTs, PDs and PTs) reachable from the PML4 slots that map
    /// [0, end); the PML4 itself not counted. Linux: mm_pgtables_bytes() / PAGE_SIZE
    public func tablePages(below end: VirtAddr) -> Int {
        var count = 0
        let slots = Int(min(end.value >> PageTableLevel.pml4.shift, UInt64(PageTableLevel.entriesPerTable / 2)))
        for index in 0..<slots {
            if let next = read(root + UInt64(index) * 8).nextTable(at: .pml4) {
                count += tablesInSubtree(next, at: .pdpt)
            }
        }
        return count
    }

    /// `table` (at `level`) and every table below it.
    private func tablesInSubtree(_ table: PhysAddr, at level: PageTableLevel) -> Int {
        guard level != .pt else { return 1 }
        var count = 1
        for index in 0..<PageTableLevel.entriesPerTable {
            if let next = read(table + UInt64(index) * 8).nextTable(at: level) {
                count += tablesInSubtree(next, at: level.child)
            }
        }
        return count
    }
}
