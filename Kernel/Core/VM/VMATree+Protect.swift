// mprotect: give every page in a range new access bits. Regions straddling the
// range ends are split, the pieces inside get the new flags, and pieces that now
// match a neighbour are merged again, so mprotect there and back leaves the
// regions as they were.

extension VMATree {
    /// Sets the access bits (a subset of `VMFlags.access`) of every page in [start, end),
    /// keeping each region's other flags. `end` is rounded up to a page. EINVAL for a
    /// misaligned start or non-access bits, ENOMEM if part of the range is unmapped or
    /// the splits would pass max_map_count, EACCES if a region's MAY bits forbid the new access. On error nothing changes
    /// (Linux may already have changed the regions before a hole). The caller then
    /// rewrites the PTEs in the range. Linux: do_mprotect_pkey() + mprotect_fixup()
    public mutating func protectRange(_ start: VirtAddr, _ end: VirtAddr,
                                      protection: VMFlags) throws(VMError) {
        let end = end.alignedUp()
        guard start.isPageAligned, protection.isSubset(of: .access) else { throw .invalidArgument }
        guard start <= end else { throw .noMemory }
        guard start < end else { return }

        var first = lowerBound(start)
        var covered = start
        var node = first
        while covered < end {
            guard node != vmaNil, pool[node].vma.start <= covered else { throw .noMemory }
            guard pool[node].vma.flags.withAccess(protection).accessIsPermitted else {
                throw .accessDenied
            }
            covered = pool[node].vma.end
            node = pool[node].next
        }

        // Each split adds a region. Linux: split_vma()'s map_count check
        var splits = pool[first].vma.start < start ? 1 : 0
        if let last = findVMA(VirtAddr(end.value - 1)), last.end > end { splits += 1 }
        guard count + splits <= Self.maxMapCount else { throw .noMemory }

        if pool[first].vma.start < start { first = split(first, at: start) }
        node = first
        while node != vmaNil && pool[node].vma.start < end {
            if pool[node].vma.end > end { split(node, at: end) }
            pool[node].vma.flags = pool[node].vma.flags.withAccess(protection)
            node = pool[node].next
        }

        // Merge from the region below the range up to the one just above it.
        node = pool[first].prev == vmaNil ? first : pool[first].prev
        while node != vmaNil && pool[node].vma.start < end {
            if !mergeWithNext(node) { node = pool[node].next }
        }
    }
}
