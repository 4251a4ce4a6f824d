// The state bits of a page descriptor. Linux keeps these in page->flags
// (include/linux/page-flags.h); Keel keeps only the ones its code reads.
// The constants are computed properties, not `static let`, so code in other
// modules inlines them instead of calling a lazy-global accessor on the hot path.

/// Per-frame state bits. Linux: enum pageflags (PG_*) and page types
public struct PageFlags: OptionSet, Sendable {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Never handed to the buddy allocator: firmware, kernel image, mem_map, holes.
    /// Linux: PG_reserved
    @inlinable public static var reserved: PageFlags { PageFlags(rawValue: 1 << 0) }
    /// First frame of a free block on a free list; `private` holds its order.
    /// Linux: PageBuddy() (the PGTY_buddy page type)
    @inlinable public static var buddy: PageFlags { PageFlags(rawValue: 1 << 1) }
    /// First frame of an allocated block; `private` holds its order so a free
    /// with the wrong order is caught. Linux: PG_head (only for compound pages)
    @inlinable public static var head: PageFlags { PageFlags(rawValue: 1 << 2) }
    /// The block holds slab objects. Linux: PG_slab
    @inlinable public static var slab: PageFlags { PageFlags(rawValue: 1 << 3) }
    /// Contents changed since the last write-back. Linux: PG_dirty
    @inlinable public static var dirty: PageFlags { PageFlags(rawValue: 1 << 4) }
    /// On an LRU list through `lruNext`/`lruPrev`. Linux: PG_lru
    @inlinable public static var lru: PageFlags { PageFlags(rawValue: 1 << 5) }
    /// Free, on a CPU's list of single frames (Kernel/Memory/PageAllocator.swift);
    /// the buddy allocator counts it as allocated. Linux: the pcp lists (page->pcp_list)
    @inlinable public static var perCPUList: PageFlags { PageFlags(rawValue: 1 << 7) }
    /// Anonymous memory that would go to swap, not to a file. Linux: PG_swapbacked
    @inlinable public static var swapBacked: PageFlags { PageFlags(rawValue: 1 << 6) }
    /// Anonymous memory of a process (zero-filled or a copy-on-write copy),
    /// not a file's page. Linux: PageAnon() (PAGE_MAPPING_ANON in page->mapping)
    @inlinable public static var anon: PageFlags { PageFlags(rawValue: 1 << 8) }
    /// A page-cache page being written to its file now; its dirty flag was
    /// cleared when the write began. Linux: PG_writeback
    @inlinable public static var writeback: PageFlags { PageFlags(rawValue: 1 << 10) }
    /// Holds a page table. Linux: PageTable() (the PGTY_table page type)
    @inlinable public static var pageTable: PageFlags { PageFlags(rawValue: 1 << 9) }

    // The reclaim state (Kernel/Memory/LRU.swift, Vmscan.swift, Swap*.swift).

    /// On an active LRU list, or to go back to one: in use lately. Linux: PG_active
    @inlinable public static var active: PageFlags { PageFlags(rawValue: 1 << 11) }
    /// Seen used once since the last scan (a read(), or an accessed bit the
    /// scan cleared): the second chance. Linux: PG_referenced
    @inlinable public static var referenced: PageFlags { PageFlags(rawValue: 1 << 12) }
    /// An anonymous page with a swap slot, in the swap cache; `private` holds
    /// its packed swap entry. Linux: PG_swapcache
    @inlinable public static var swapCache: PageFlags { PageFlags(rawValue: 1 << 13) }
    /// Never scanned by reclaim: locked with mlock, or a shmem page (Keel
    /// does not swap tmpfs). Linux: PG_unevictable
    @inlinable public static var unevictable: PageFlags { PageFlags(rawValue: 1 << 14) }
    /// Written out by reclaim to be freed when the write ends. Linux: PG_reclaim
    @inlinable public static var reclaim: PageFlags { PageFlags(rawValue: 1 << 15) }
    /// Was on the active list before it was evicted and read back: a refault
    /// of the working set. Linux: PG_workingset
    @inlinable public static var workingset: PageFlags { PageFlags(rawValue: 1 << 16) }
    /// A swap-cache page read ahead of any fault on it: the first fault to
    /// find it clears the flag and counts a read-ahead hit, which widens the
    /// next window (Core's SwapReadahead). Linux: PG_readahead
    @inlinable public static var readahead: PageFlags { PageFlags(rawValue: 1 << 17) }
}
