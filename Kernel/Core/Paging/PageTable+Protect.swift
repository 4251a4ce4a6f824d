// Changing the access rights of an existing mapping, as mprotect() and copy-on-write do.

extension PageTable {
    /// Gives the leaf that maps the page starting at `virt` the access rights in `flags`,
    /// keeping its frame, its user/kernel ownership and the accessed/dirty bits the CPU
    /// maintains; returns the leaf as it was, so the caller can tell whether the TLB
    /// needs a flush. Linux: change_pte_range() → pte_modify()
    ///
    /// Ownership stays fixed because intermediate entries were built for it (see `map`).
    /// `virt` must be the start of the leaf: part of a huge page throws `.hugePageSplitUnsupported`.
    @discardableResult
    public func protect(_ virt: VirtAddr, flags: PTEFlags) throws(PageTableError) -> PageTableLeaf {
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.isPageAligned else { throw .misaligned }
        guard let (slot, leaf) = findLeaf(virt) else { throw .notMapped }
        guard leaf.virt == virt else { throw .hugePageSplitUnsupported }
        let kept: PTEFlags = [.user, .accessed, .dirty, .huge]
        let newFlags = PageTableEntry.leafFlags(flags.subtracting(kept).union(leaf.entry.flags.intersection(kept)))
        write(slot, PageTableEntry(frame: leaf.entry.frame, flags: newFlags))
        return leaf
    }
}
