// How many page-table entries map a frame (the mapcount in its page
// descriptor). Several mms change it at once without sharing a lock: a forked
// child breaking copy-on-write drops a mapping its parent shares, while the
// parent faults under its own mm's locks. So every change is one atomic
// add, and the mapping that brings the count to zero is the one whose owner
// frees the frame. Linux: page->_mapcount, page_add_anon_rmap(),
// page_remove_rmap(), page_mapcount()

enum MapCount {
    /// Runs `body` on the word in `frame`'s descriptor (mem_map is never moved).
    @inline(__always)
    private static func withField<R>(_ frame: PhysAddr, _ body: (UnsafeMutablePointer<Int32>) -> R) -> R {
        withUnsafeMutablePointer(to: &PageAllocator.page(frame).pointee.mapcount, body)
    }

    /// One more mapping of `frame`. Linux: page_add_anon_rmap(), page_dup_rmap()
    static func add(_ frame: PhysAddr) { _ = withField(frame) { AtomicField.add($0, 1) } }

    /// One mapping fewer; true when it was the last (the caller frees the frame).
    /// Linux: page_remove_rmap() + put_page_testzero()
    static func remove(_ frame: PhysAddr) -> Bool { withField(frame) { AtomicField.add($0, -1) } == 0 }

    /// Sets the count of a frame nobody else can see yet (a fresh page about to
    /// be mapped once, a fresh shmem page): a plain store, no locked add.
    static func initialize(_ frame: PhysAddr, to count: Int32) { withField(frame) { AtomicField.store($0, count) } }

    /// One more reference for a kernel path that found the page without
    /// owning one (reclaim on an LRU list, migration), unless the page is
    /// already on its way to being freed. Linux: get_page_unless_zero()
    static func tryGet(_ frame: PhysAddr) -> Bool { withField(frame) { AtomicField.incrementUnlessZero($0) } }

    /// Drops a reference `tryGet` (or any holder) took; the last frees the
    /// page (off its LRU list first, in PageAllocator.free). Linux: put_page()
    static func put(_ frame: PhysAddr) {
        if remove(frame) { PageAllocator.free(frame) }
    }

    /// The mappings now: a snapshot, which only the mm's own locks keep from
    /// rising (see MM.handleFault's reuse rule). Linux: page_mapcount()
    static func count(_ frame: PhysAddr) -> Int32 { withField(frame) { AtomicField.load($0) } }

    /// The page-table entries mapping the frame (the page cache's own
    /// reference left out): what smaps, pagemap and kpagecount show.
    /// Linux: folio_mapcount()
    static func mappers(_ frame: PhysAddr) -> Int32 {
        MemMapInspector.mappings(of: PageAllocator.page(frame).pointee)
    }
}

// The state bits of a page several CPUs change at once under different locks
// (dirty under the page cache's lock, active and lru under the LRU lock,
// referenced under none) are changed with one locked instruction each, so
// that no change loses another's. Linux: the atomic bitops of page-flags.h
// (SetPageDirty(), TestClearPageReferenced(), ...)
enum PageState {
    @inline(__always)
    private static func withFlags<R>(_ frame: PhysAddr, _ body: (UnsafeMutablePointer<UInt32>) -> R) -> R {
        withUnsafeMutablePointer(to: &PageAllocator.page(frame).pointee.flags.rawValue, body)
    }

    /// Sets `flags`; returns the flags as they were. Linux: SetPageX(), TestSetPageX()
    @discardableResult
    static func set(_ frame: PhysAddr, _ flags: PageFlags) -> PageFlags {
        PageFlags(rawValue: withFlags(frame) { AtomicField.setBits($0, flags.rawValue) })
    }

    /// Clears `flags`; returns the flags as they were. Linux: ClearPageX(), TestClearPageX()
    @discardableResult
    static func clear(_ frame: PhysAddr, _ flags: PageFlags) -> PageFlags {
        PageFlags(rawValue: withFlags(frame) { AtomicField.clearBits($0, flags.rawValue) })
    }

    /// The flags now (a snapshot).
    static func flags(_ frame: PhysAddr) -> PageFlags { PageAllocator.page(frame).pointee.flags }
}
