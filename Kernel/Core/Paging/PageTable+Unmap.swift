// Removing mappings and giving back the page tables that no longer map anything.
// Linux splits this into zap_pte_range() (clear the entries, while unmapping) and
// free_pgtables() (free the emptied tables afterwards); here both follow one walk.

extension PageTable {
    /// Removes the leaf that maps the page starting at `virt` and returns it, so the caller
    /// can drop its reference to the frame and flush the TLB. Linux: zap_pte_range()
    ///
    /// `virt` must be the start of the leaf: unmapping part of a huge page throws
    /// `.hugePageSplitUnsupported`. With `freeEmptyTables`, every table on the path left
    /// mapping nothing goes back to `allocator` (Linux: free_pgtables()), except the PDPTs
    /// under the kernel's PML4 slots, which every process shares.
    @discardableResult
    public func unmap<A: FrameAllocator>(
        _ virt: VirtAddr, freeEmptyTables: Bool, allocator: inout A
    ) throws(PageTableError) -> PageTableLeaf {
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.isPageAligned else { throw .misaligned }
        return try unmap(virt, in: root, at: .pml4, freeEmptyTables: freeEmptyTables, allocator: &allocator)
    }

    private func unmap<A: FrameAllocator>(
        _ virt: VirtAddr, in table: PhysAddr, at level: PageTableLevel, freeEmptyTables: Bool, allocator: inout A
    ) throws(PageTableError) -> PageTableLeaf {
        let slot = entryAddress(in: table, at: level, for: virt)
        let entry = read(slot)
        if let size = entry.pageSize(at: level) {
            guard virt.value % size.bytes == 0 else { throw .hugePageSplitUnsupported }
            write(slot, .none)
            return PageTableLeaf(virt: virt, entry: entry, size: size)
        }
        guard let next = entry.nextTable(at: level) else { throw .notMapped }
        let leaf = try unmap(virt, in: next, at: level.child, freeEmptyTables: freeEmptyTables, allocator: &allocator)
        let sharedKernelSlot = level == .pml4 && KernelLayout.kernelPML4Slots.contains(level.index(of: virt))
        if freeEmptyTables && !sharedKernelSlot {
            _ = releaseTableIfEmpty(under: slot, tableLevel: level.child, allocator: &allocator)
        }
        return leaf
    }

    /// If the table `slot` points to, and every table below it, maps nothing, clears `slot`
    /// and frees them all; returns whether it did. `tableLevel` is the level of that table.
    /// Linux: free_pte_range() / free_pmd_range() / free_pud_range()
    func releaseTableIfEmpty<A: FrameAllocator>(
        under slot: PhysAddr, tableLevel: PageTableLevel, allocator: inout A
    ) -> Bool {
        let table = read(slot).frame
        guard mapsNothing(table, at: tableLevel) else { return false }
        write(slot, .none)
        freeTables(table, at: tableLevel, allocator: &allocator)
        return true
    }

    /// True when every entry of `table` is none or points to a table that maps nothing.
    private func mapsNothing(_ table: PhysAddr, at level: PageTableLevel) -> Bool {
        for index in 0..<PageTableLevel.entriesPerTable {
            let entry = read(table + UInt64(index) * 8)
            if entry.isNone { continue }
            guard let next = entry.nextTable(at: level), mapsNothing(next, at: level.child) else { return false }
        }
        return true
    }

    /// Frees `table` and every table below it (the caller has checked they map nothing).
    private func freeTables<A: FrameAllocator>(_ table: PhysAddr, at level: PageTableLevel, allocator: inout A) {
        for index in 0..<PageTableLevel.entriesPerTable {
            if let next = read(table + UInt64(index) * 8).nextTable(at: level) {
                freeTables(next, at: level.child, allocator: &allocator)
            }
        }
        allocator.freeFrame(table)
    }
}
