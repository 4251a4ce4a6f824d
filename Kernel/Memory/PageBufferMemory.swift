// Memory for the buffer cache: whole pages from the page allocator (a block of
// 1, 2 or 4 KiB takes one page; a 64 KiB write-back bounce buffer an order-4
// block), so that running out is a nil the cache turns into ENOMEM instead of
// a trap in the Swift heap. It counts the pages it holds, /proc/meminfo's
// Buffers, and those of dirty buffers, part of its Dirty.
// Linux: grow_buffers() → alloc_page(), nr_blockdev_pages(), NR_FILE_DIRTY

import Synchronization

final class PageBufferMemory: BufferMemory {
    nonisolated(unsafe) static let shared = PageBufferMemory()

    /// Pages handed out and not yet given back: every cached block, and each
    /// mount's write-back bounce buffer. Each mount allocates under its own
    /// lock, so the count is an atomic word. Linux: nr_blockdev_pages()
    private static let heldPages = Atomic<Int>(0)
    static var pages: Int { heldPages.load(ordering: .relaxed) }
    /// Of those, the pages of dirty buffers, for meminfo's Dirty (each mount
    /// counts under its own lock: an atomic word too). Linux: a block
    /// device's dirty pages in NR_FILE_DIRTY
    private static let dirtyBufferPages = Atomic<Int>(0)
    static var dirtyPages: Int { max(0, dirtyBufferPages.load(ordering: .relaxed)) }

    func accountDirty(_ delta: Int, byteCount: Int) {
        Self.dirtyBufferPages.add(delta << Self.order(of: byteCount), ordering: .relaxed)
    }

    func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        let order = Self.order(of: byteCount)
        guard byteCount > 0 else { return nil }
        // The caller holds its mount's lock, a sleeping one: compaction may
        // make a bounce buffer's block (GFP.directReclaim); reclaim runs
        // without the cache shrinkers, which take that lock. Linux: GFP_NOFS
        guard let frame = PageAllocator.allocate(order: order, flags: .directReclaim)
            ?? (Vmscan.tryToFreePages(shrinkCaches: false) > 0
                ? PageAllocator.allocate(order: order, flags: .directReclaim) : nil) else { return nil }
        Self.heldPages.add(1 << order, ordering: .relaxed)
        return UnsafeMutableRawPointer(DirectMap.pointer(frame, as: UInt8.self))
    }

    func free(_ memory: UnsafeMutableRawPointer, byteCount: Int) {
        let order = Self.order(of: byteCount)
        PageAllocator.free(VirtAddr(UInt64(UInt(bitPattern: memory))).directMapPhys, order: order)
        Self.heldPages.subtract(1 << order, ordering: .relaxed)
    }

    /// The smallest order whose block holds `byteCount` bytes.
    private static func order(of byteCount: Int) -> Int {
        var order = 0
        while Int(pageSize) << order < byteCount { order += 1 }
        return order
    }
}
