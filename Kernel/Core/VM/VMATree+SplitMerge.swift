// Splitting one region in two and merging compatible neighbours back into one:
// the building blocks of munmap, mprotect and brk. A region's node keeps its lower
// part, so its tree key never changes and the tree only sees plain links/unlinks.

extension VMA {
    /// `next` can be absorbed into this region: adjacent, same flags, and the same
    /// anonymous memory or the same file at the following offset.
    /// Linux: is_mergeable_vma() + can_vma_merge_after()
    public func canMerge(followedBy next: VMA) -> Bool {
        guard end == next.start, flags == next.flags else { return false }
        switch (backing, next.backing) {
        case (.anonymous, .anonymous):
            return true
        case let (.file(file, offset), .file(nextFile, nextOffset)):
            return file == nextFile && offset + pageCount == nextOffset
        default:
            return false
        }
    }
}

extension VMATree {
    /// Cuts the region around `addr` into [start, addr) and [addr, end); EINVAL
    /// unless `addr` is page aligned and strictly inside a region. Linux: __split_vma()
    public mutating func splitVMA(at addr: VirtAddr) throws(VMError) {
        let node = lowerBound(addr)
        guard addr.isPageAligned, node != vmaNil, pool[node].vma.start < addr else {
            throw .invalidArgument
        }
        split(node, at: addr)
    }

    /// Keeps [start, addr) in `node`, links [addr, end) and returns the new node.
    @discardableResult
    mutating func split(_ node: Int32, at addr: VirtAddr) -> Int32 {
        let whole = pool[node].vma
        reshape(node, to: whole.slice(whole.start, addr))
        return link(whole.slice(addr, whole.end))
    }

    /// Merges the region containing `addr` with whichever neighbours are compatible and
    /// returns the result; nil if no region contains `addr`. Linux: vma_merge()
    @discardableResult
    public mutating func mergeAdjacent(at addr: VirtAddr) -> VMA? {
        var node = lowerBound(addr)
        guard node != vmaNil, pool[node].vma.contains(addr) else { return nil }
        mergeWithNext(node)
        let prev = pool[node].prev
        if prev != vmaNil && mergeWithNext(prev) { node = prev }
        return pool[node].vma
    }

    /// Absorbs the following region into `node` if they are compatible.
    @discardableResult
    mutating func mergeWithNext(_ node: Int32) -> Bool {
        let next = pool[node].next
        guard next != vmaNil, pool[node].vma.canMerge(followedBy: pool[next].vma) else { return false }
        var merged = pool[node].vma
        merged.end = unlink(next).end
        reshape(node, to: merged)
        return true
    }

    /// Moves the start of the growsdown region just above `newStart` down to it (the
    /// fault handler's `.growStack`); EINVAL unless `newStart` is page aligned and lies
    /// in the gap below such a region; ENOMEM if the region maps a file and would start
    /// before its first page. Other limits are the classifier's job. Linux: expand_downwards()
    public mutating func expandDownwards(to newStart: VirtAddr) throws(VMError) {
        // The first region ending above newStart: the one below it ends at or before newStart.
        let node = lowerBound(newStart)
        guard newStart.isPageAligned, node != vmaNil else { throw .invalidArgument }
        let stack = pool[node].vma
        guard stack.flags.contains(.growsDown), newStart < stack.start else { throw .invalidArgument }
        // A file-backed region cannot grow below the file's first page.
        // Linux: expand_downwards()'s `grow <= vma->vm_pgoff` check (else ENOMEM)
        if case .file(_, let pageOffset) = stack.backing, (stack.start - newStart) >> pageShift > pageOffset {
            throw .noMemory
        }
        reshape(node, to: stack.slice(newStart, stack.end))
    }
}
