// munmap on any page range: regions straddling either end are split so that only
// the pages inside the range go. The caller gets the removed pieces back because
// the tree knows nothing of page tables or frames: it must zap those PTEs, drop
// the pages and flush the TLB (Linux: unmap_region()).

extension VMATree {
    /// Removes every mapping in [start, end) and returns the removed pieces in address
    /// order (empty if nothing was mapped there). `start` must be page aligned; `end` is
    /// rounded up to a page as munmap rounds its length. EINVAL for a misaligned start
    /// or an empty range, ENOMEM if a hole in one region would pass max_map_count.
    /// Linux: do_munmap() → do_vmi_align_munmap()
    public mutating func unmapRange(_ start: VirtAddr, _ end: VirtAddr) throws(VMError) -> [VMA] {
        let end = end.alignedUp()
        guard start.isPageAligned, start < end else { throw .invalidArgument }
        var node = lowerBound(start)
        guard node != vmaNil, pool[node].vma.start < end else { return [] }
        // A hole punched in one region leaves one region more. Linux: the map_count
        // check in do_vmi_align_munmap()
        if pool[node].vma.start < start && pool[node].vma.end > end && count >= Self.maxMapCount { throw .noMemory }
        if pool[node].vma.start < start { node = split(node, at: start) }
        var removed: [VMA] = []
        while node != vmaNil && pool[node].vma.start < end {
            if pool[node].vma.end > end { split(node, at: end) }
            let next = pool[node].next
            removed.append(unlink(node))
            node = next
        }
        return removed
    }
}
