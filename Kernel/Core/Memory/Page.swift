// One descriptor per 4 KiB physical frame. The whole mem_map costs
// size/4096 of RAM, so the layout is kept to 32 bytes (Linux: 64) by using
// 32-bit frame numbers for links instead of pointers.

/// The descriptor of one physical frame. Linux: struct page
public struct Page: Sendable {
    /// Marks the end of a list in `lruNext`/`lruPrev`. Linux: list_head pointing at its head
    @inlinable public static var noFrame: UInt32 { .max }

    /// Linux: page->flags
    public var flags: PageFlags
    /// Users of the frame; 0 while free, 1 after allocation. Linux: page->_refcount
    public var refcount: Int32
    /// Page-table entries mapping the frame. Linux keeps _mapcount biased by -1;
    /// Keel stores the plain count, 0 when unmapped. Linux: page_mapcount()
    public var mapcount: Int32
    /// Owner-defined word; the buddy allocator keeps the block order here while
    /// `buddy` or `head` is set. Linux: page->private (buddy_order())
    public var `private`: UInt32
    /// Id of the owning page-cache object or anonymous mapping. Linux: page->mapping
    public var mapping: UInt32
    /// Page index within `mapping`. Linux: page->index
    public var index: UInt32
    /// Frame number of the next frame on the list this one is on. Linux: page->lru.next
    public var lruNext: UInt32
    /// Frame number of the previous frame on the list. Linux: page->lru.prev
    public var lruPrev: UInt32

    /// A descriptor in its freshly freed state, or with `flags` (for example `.reserved`).
    @inlinable public init(flags: PageFlags = []) {
        self.flags = flags
        refcount = 0
        mapcount = 0
        `private` = 0
        mapping = 0
        index = 0
        lruNext = Page.noFrame
        lruPrev = Page.noFrame
    }
}
