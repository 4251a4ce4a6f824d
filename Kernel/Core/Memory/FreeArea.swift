// A free list of one block size. The list is threaded through the page
// descriptors of the blocks' first frames (intrusive), so adding and removing
// a block is O(1) and needs no memory beyond mem_map.

/// Free blocks of one order in one zone. Linux: struct free_area
@usableFromInline struct FreeArea {
    /// Frame number of the first block, or `Page.noFrame`.
    @usableFromInline var first: UInt32 = Page.noFrame
    /// Blocks on the list. Linux: free_area->nr_free
    @usableFromInline var count = 0

    @inlinable init() {}

    /// Puts the block starting at `pfn` at the front of the list and marks it free.
    /// Linux: add_to_free_list() + set_buddy_order()
    @inlinable mutating func add(_ pfn: UInt64, order: Int, in memMap: MemMap) {
        let page = memMap.uncheckedPage(pfn)
        page.pointee.flags = .buddy
        page.pointee.private = UInt32(truncatingIfNeeded: order)
        page.pointee.lruPrev = Page.noFrame
        page.pointee.lruNext = first
        if first != Page.noFrame {
            memMap.uncheckedPage(UInt64(first)).pointee.lruPrev = UInt32(truncatingIfNeeded: pfn)
        }
        first = UInt32(truncatingIfNeeded: pfn)
        count &+= 1
    }

    /// Unlinks the free block starting at `pfn` and clears its free marking.
    /// Linux: del_page_from_free_list()
    @inlinable mutating func remove(_ pfn: UInt64, in memMap: MemMap) {
        let page = memMap.uncheckedPage(pfn)
        let next = page.pointee.lruNext
        let prev = page.pointee.lruPrev
        if prev == Page.noFrame {
            first = next
        } else {
            memMap.uncheckedPage(UInt64(prev)).pointee.lruNext = next
        }
        if next != Page.noFrame {
            memMap.uncheckedPage(UInt64(next)).pointee.lruPrev = prev
        }
        page.pointee = Page()
        count &-= 1
    }

    /// Takes the first block off the list. Linux: get_page_from_free_area()
    @inlinable mutating func removeFirst(in memMap: MemMap) -> UInt64? {
        guard first != Page.noFrame else { return nil }
        let pfn = UInt64(first)
        remove(pfn, in: memMap)
        return pfn
    }
}
