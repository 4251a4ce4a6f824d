// How many swap slots a fault on a swapped-out page reads: the slot it needs
// and, around it, the rest of an aligned window of slots that are likely to
// be wanted next. A program reading its memory in order finds the pages read
// ahead already in the swap cache (hits), and the window grows to
// 2^page-cluster; a program jumping around never uses them, and the window
// shrinks to the one slot, so it does not read, and make room for, seven pages
// nobody wants. The rule is Linux's, from the days it was tuned on disks and
// SSDs alike (its comment on "+ 2": it "just happens to work well"):
//
//   hits since the last fault    window
//   none, slot next to the last  2
//   none, anywhere else          1
//   h > 0                        h + 2 rounded up to a power of two, at least 4
//
// capped at 2^page-cluster, and never below half the last window (it does not
// shrink too fast). Linux: swapin_nr_pages(), __swapin_nr_pages()
// (mm/swap_state.c)

/// The read-ahead state of swap-in faults, one for the machine (Linux keeps
/// it in statics: prev_offset, last_readahead_pages).
public struct SwapReadahead: Sendable {
    /// The slot of the last fault that came with no hits. Linux: prev_offset
    public private(set) var previousOffset: UInt64 = 0
    /// The window the last fault read. Linux: last_readahead_pages
    public private(set) var lastWindow = 0

    public init() {}

    /// The window for a fault on slot `offset`, after `hits` pages read ahead
    /// before were used since the last fault; remembers it for the next one.
    /// At most `maxPages` (2^page-cluster), at least 1.
    public mutating func window(for offset: UInt64, hits: Int, maxPages: Int) -> Int {
        guard maxPages > 1 else { return 1 }
        let pages = Self.window(previousOffset: previousOffset, offset: offset, hits: hits, maxPages: maxPages,
                                previousWindow: lastWindow)
        if hits == 0 { previousOffset = offset }
        lastWindow = pages
        return pages
    }

    /// The rule in the table above. Linux: __swapin_nr_pages()
    public static func window(previousOffset: UInt64, offset: UInt64, hits: Int, maxPages: Int,
                              previousWindow: Int) -> Int {
        var pages = hits + 2
        if hits == 0 {
            // No hits to judge by: a fault next to the last one still counts
            // as a sequence, or the window could never grow back.
            if offset != previousOffset &+ 1 && offset != previousOffset &- 1 { pages = 1 }
        } else {
            var roundUp = 4
            while roundUp < pages { roundUp <<= 1 }
            pages = roundUp
        }
        return max(min(pages, maxPages), previousWindow / 2)
    }

    /// The aligned window of `pages` slots (a power of two, or 1) holding
    /// `offset`. Linux: swap_cluster_readahead()'s `offset & ~mask`, `offset | mask`
    public static func slots(around offset: UInt64, pages: Int) -> Range<UInt64> {
        var size: UInt64 = 1
        while size < UInt64(max(pages, 1)) { size <<= 1 }
        let first = offset & ~(size - 1)
        return first..<first + size
    }
}
