// Adding and removing whole regions: the tree, the address-order list, the
// cache and the counters change together here and nowhere else.

extension VMATree {
    /// Adds a region that overlaps none already present: EINVAL unless it is
    /// non-empty and page aligned, ENOMEM on overlap or at max_map_count.
    /// Linux: insert_vm_struct() (and mmap_region()'s map_count check)
    public mutating func insert(_ vma: VMA) throws(VMError) {
        guard vma.isWellFormed else { throw .invalidArgument }
        guard findIntersection(vma.start, vma.end) == nil, count < Self.maxMapCount else { throw .noMemory }
        link(vma)
    }

    /// Removes and returns the region containing `addr`. Linux: detach + remove_vma()
    public mutating func remove(containing addr: VirtAddr) -> VMA? {
        let node = lowerBound(addr)
        guard node != vmaNil, pool[node].vma.contains(addr) else { return nil }
        return unlink(node)
    }

    /// Links a region the caller knows does not overlap; returns its node. Linux: vma_link()
    @discardableResult
    mutating func link(_ vma: VMA) -> Int32 {
        let node = pool.allocate(vma)
        var parent = vmaNil
        var prev = vmaNil
        var side = VMATreeSide.left
        var cursor = root
        while cursor != vmaNil {
            parent = cursor
            if vma.start < pool[cursor].vma.start {
                side = .left
                cursor = pool[cursor].left
            } else {
                // Every step right passes a lower region; the last one is the predecessor.
                prev = cursor
                side = .right
                cursor = pool[cursor].right
            }
        }
        pool[node].parent = parent
        if parent == vmaNil { root = node } else { setChild(parent, side, node) }

        // Linux: __vma_link_list()
        let next = prev == vmaNil ? head : pool[prev].next
        pool[node].prev = prev
        pool[node].next = next
        if prev == vmaNil { head = node } else { pool[prev].next = node }
        if next == vmaNil { tail = node } else { pool[next].prev = node }

        insertFixup(node)
        count += 1
        totalVM += vma.pageCount
        return node
    }

    /// Removes a node from tree, list and cache and frees it. Linux: __vma_unlink() + vm_area_free()
    @discardableResult
    mutating func unlink(_ node: Int32) -> VMA {
        let vma = pool[node].vma
        erase(node)  // before the list unlink: erase uses `next` as the successor
        let prev = pool[node].prev
        let next = pool[node].next
        if prev == vmaNil { head = next } else { pool[prev].next = next }
        if next == vmaNil { tail = prev } else { pool[next].prev = prev }
        // The freed slot still holds the old range: a cache hit on it would resurrect it.
        if cache == node { cache = vmaNil }  // Linux: vmacache_invalidate()
        pool.free(node)
        count -= 1
        totalVM -= vma.pageCount
        return vma
    }

    /// Changes a node's range in place. The caller keeps it between its neighbours,
    /// so the order (and therefore the tree shape) is unchanged.
    mutating func reshape(_ node: Int32, to vma: VMA) {
        totalVM = totalVM - pool[node].vma.pageCount + vma.pageCount
        pool[node].vma = vma
    }
}
