// One descriptor per 4 KiB physical frame. The whole mem_map costs
// size/4096 of RAM, so the layout is kept to 32 bytes (Linux: 64) by using
// 32-bit frame numbers for links instead of pointers.

/// The descriptor of one physical frame. Linux: struct page
public struct Page: Sendable {
    /// Marks the end of a list in `lruNext`/`lruPrev`. Linux: list_head pointing at its head
    @inlinable public static var noFrame: UInt32 { .max }

    /// Linux: page->flags
    public var flags: PageFlags
    /// The page's references, which is also how it lives: one per page-table
    /// entry mapping it, one while it is in the page cache or the swap cache,
    /// one per kernel path holding it for a moment (a copy, reclaim,
    /// migration). The holder that brings it to 0 frees the frame. Linux keeps
    /// two counts (_refcount, and _mapcount biased by -1); Keel keeps one and
    /// subtracts the caches' references where it needs the PTEs alone
    /// (`MemMapInspector.mappings`). Linux: page_ref_count(), page_mapcount()
    public var mapcount: Int32
    /// Owner-defined word: the buddy allocator keeps the block order here
    /// while `buddy` or `head` is set (an allocated single frame keeps 0); a
    /// swap-cache page keeps its packed swap entry. Linux: page->private
    /// (buddy_order(), and the swap entry of folio->swap)
    public var `private`: UInt32
    /// Who owns the page's contents: the tag of a page-cache `AddressSpace`,
    /// or, with `anon` set, the id of the anon_vma of the process that first
    /// mapped it (reverse mapping). 0: neither. Linux: page->mapping
    /// (PAGE_MAPPING_ANON marks an anon_vma)
    public var mapping: UInt32
    /// Where the page is within `mapping`: its page index in the file, or for
    /// an anonymous page the user virtual page number (address >> 12) it was
    /// first mapped at. Linux: page->index (linear_page_index())
    public var index: UInt64
    /// Frame number of the next frame on the list this one is on. Linux: page->lru.next
    public var lruNext: UInt32
    /// Frame number of the previous frame on the list. Linux: page->lru.prev
    public var lruPrev: UInt32

    /// A descriptor in its freshly freed state, or with `flags` (for example `.reserved`).
    @inlinable public init(flags: PageFlags = []) {
        self.flags = flags
        mapcount = 0
        `private` = 0
        mapping = 0
        index = 0
        lruNext = Page.noFrame
        lruPrev = Page.noFrame
    }

    /// A page of some file's page cache (not an anonymous page, whose
    /// `mapping` names an anon_vma). Linux: !PageAnon() && page->mapping
    @inlinable public var isPageCache: Bool { mapping != 0 && !flags.contains(.anon) }

    /// References a cache holds on the page (the page cache's or the swap
    /// cache's), which are not page-table entries.
    @inlinable public var cacheReferences: Int32 { isPageCache || flags.contains(.swapCache) ? 1 : 0 }
}
