// Memory for the buffer cache: whole pages from the page allocator (a block of
// 1, 2 or 4 KiB takes one page; a 64 KiB write-back bounce buffer an order-4
// block), so that running out is a nil the cache turns into ENOMEM instead of
// a trap in the Swift heap. Linux: grow_buffers() → alloc_page()

final class PageBufferMemory: BufferMemory {
    nonisolated(unsafe) static let shared = PageBufferMemory()

    func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount > 0, let frame = PageAllocator.allocate(order: Self.order(of: byteCount)) else { return nil }
        return UnsafeMutableRawPointer(DirectMap.pointer(frame, as: UInt8.self))
    }

    func free(_ memory: UnsafeMutableRawPointer, byteCount: Int) {
        PageAllocator.free(VirtAddr(UInt64(UInt(bitPattern: memory))).directMapPhys, order: Self.order(of: byteCount))
    }

    /// The smallest order whose block holds `byteCount` bytes.
    private static func order(of byteCount: Int) -> Int {
        var order = 0
        while Int(pageSize) << order < byteCount { order += 1 }
        return order
    }
}
