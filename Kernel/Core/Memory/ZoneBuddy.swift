// The buddy algorithm inside one zone: split a larger block when no block of
// the requested size is free, merge a freed block with its buddy while the
// buddy is free too. A block of order k starts at a frame number divisible by
// 2^k; its buddy is the other half of the enclosing order-(k+1) block.

extension Zone {
    /// Takes a block of `order`, splitting the smallest larger free block if needed.
    /// Linux: __rmqueue_smallest()
    @inlinable mutating func takeSmallest(order: Int, memMap: MemMap) -> UInt64? {
        var current = order
        while current <= Zone.maxOrder {
            if let pfn = freeArea[current].removeFirst(in: memMap) {
                freePageCount &-= 1 &<< order
                expand(pfn, low: order, high: current, memMap: memMap)
                return pfn
            }
            current &+= 1
        }
        return nil
    }

    /// Splits the order-`high` block at `pfn` down to order `low`, keeping the
    /// lower half each time and putting the upper half on its free list.
    /// Linux: expand()
    @inlinable mutating func expand(_ pfn: UInt64, low: Int, high: Int, memMap: MemMap) {
        var high = high
        while high > low {
            high &-= 1
            freeArea[high].add(pfn | (1 &<< UInt64(high)), order: high, in: memMap)
        }
    }

    /// Returns the block at `pfn` to the free lists, merging it with its buddy
    /// for as long as the buddy is a free block of the same order. Linux checks
    /// that the buddy is in the same zone; here that always holds because zone
    /// boundaries are multiples of the largest block. Linux: __free_one_page()
    @inlinable mutating func freeOneBlock(_ pfn: UInt64, order: Int, memMap: MemMap) {
        freePageCount &+= 1 &<< order
        var pfn = pfn
        var order = order
        while order < Zone.maxOrder {
            let buddy = pfn ^ (1 &<< UInt64(order))
            guard memMap.contains(pfn: buddy) else { break }
            let buddyPage = memMap.uncheckedPage(buddy)
            // Linux: page_is_buddy()
            guard buddyPage.pointee.flags.contains(.buddy),
                  buddyPage.pointee.private == UInt32(truncatingIfNeeded: order) else { break }
            freeArea[order].remove(buddy, in: memMap)
            pfn &= ~(1 &<< UInt64(order))
            order &+= 1
        }
        freeArea[order].add(pfn, order: order, in: memMap)
    }
}
