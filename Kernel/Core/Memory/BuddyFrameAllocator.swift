// Lets code written against the single-frame FrameAllocator protocol (page
// tables, for example) take its frames straight from the buddy allocator.

extension BuddyAllocator: FrameAllocator {
    /// Linux: alloc_page(GFP_KERNEL)
    public mutating func allocateFrame() -> PhysAddr? { allocate(order: 0) }

    /// Linux: __free_page(). A bad free traps; call `free` to handle the error.
    public mutating func freeFrame(_ frame: PhysAddr) {
        do { try free(frame, order: 0) } catch { preconditionFailure("bad free of a page frame") }
    }
}
