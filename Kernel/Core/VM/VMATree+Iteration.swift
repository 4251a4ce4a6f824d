// Walking the regions in address order follows the list, not the tree: O(1) per
// step and no stack. This is how /proc maps, fork and exit visit every VMA.

extension VMATree: Sequence {
    /// Yields the regions from lowest to highest. Linux: for (vma = mm->mmap; vma; vma = vma->vm_next)
    public struct Iterator: IteratorProtocol {
        let pool: VMANodePool
        var node: Int32

        public mutating func next() -> VMA? {
            guard node != vmaNil else { return nil }
            let vma = pool[node].vma
            node = pool[node].next
            return vma
        }
    }

    public func makeIterator() -> Iterator { Iterator(pool: pool, node: head) }

    public var underestimatedCount: Int { count }
}
