// Freeing checks that the caller owns exactly this block before coalescing it,
// because a wrong free corrupts the free lists silently and surfaces much later.
// The check is one flag and one order compare; working out *what* went wrong
// happens only on the error path.

extension BuddyAllocator {
    /// Returns the block of 2^order frames at `block`, which `allocate` returned
    /// with the same order, and merges it with free buddies. Unlike Linux's
    /// __free_pages() this ignores the refcount: dropping references is the
    /// caller's job. Linux: free_pages() → __free_one_page()
    @inlinable public mutating func free(_ block: PhysAddr, order: Int) throws(BuddyError) {
        let pfn = block.pfn
        guard block.isPageAligned else { throw .misaligned(pfn: pfn, order: order) }
        guard memMap.contains(pfn: pfn) else { throw .notOwned(pfn: pfn) }
        let first = memMap.uncheckedPage(pfn)
        guard first.pointee.flags.contains(.head),
              Int(first.pointee.private) == order else { throw badFree(pfn, order: order) }
        // Linux: free_pages_prepare() — owners' flags and links must not leak into the next user.
        for i in 0..<(1 &<< order) { first[i] = Page() }
        zones[ZoneType(pfn: pfn).rawValue].freeOneBlock(pfn, order: order, memMap: memMap)
    }

    /// Classifies a free of a frame that does not start an allocated block of `order`.
    @usableFromInline func badFree(_ pfn: UInt64, order: Int) -> BuddyError {
        let page = memMap.uncheckedPage(pfn).pointee
        if page.flags.contains(.head) {
            return .wrongOrder(pfn: pfn, expected: Int(page.private), given: order)
        }
        if isFree(pfn) { return .doubleFree(pfn: pfn, order: order) }
        if order < 0 || order > Zone.maxOrder || pfn & ((1 << UInt64(order)) - 1) != 0 {
            return .misaligned(pfn: pfn, order: order)
        }
        return .notOwned(pfn: pfn)
    }

    /// True if frame `pfn` lies in a block on a free list: the aligned frame
    /// at some order starts a free block that reaches `pfn`.
    /// Linux: is_free_buddy_page()
    func isFree(_ pfn: UInt64) -> Bool {
        for order in 0...Zone.maxOrder {
            let head = pfn & ~((1 << UInt64(order)) - 1)
            guard memMap.contains(pfn: head) else { return false }
            let page = memMap.uncheckedPage(head).pointee
            if page.flags.contains(.buddy) && head + (1 << UInt64(page.private)) > pfn { return true }
        }
        return false
    }
}
