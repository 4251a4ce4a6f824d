// The kernel's page allocator: the Core buddy allocator over the real mem_map,
// zeroing through the direct map. Every physical frame after boot comes from
// here. Linux: alloc_pages() / __free_pages() in mm/page_alloc.c

enum PageAllocator {
    nonisolated(unsafe) static var buddy: BuddyAllocator<DirectMap>! = nil

    /// 2^order contiguous frames, or nil when the zones are exhausted. Linux: alloc_pages()
    static func allocate(order: Int = 0, flags: GFP = .kernel) -> PhysAddr? {
        buddy!.allocate(order: order, flags: flags)
    }

    /// Returns a block. A double free or wrong order is a kernel bug: panic,
    /// naming the frame and order. Linux: __free_pages() with CONFIG_DEBUG_VM
    static func free(_ block: PhysAddr, order: Int = 0) {
        do {
            try buddy!.free(block, order: order)
        } catch {
            Panic.now("page allocator: " + error.message)
        }
    }

    /// The descriptor of a frame. Linux: pfn_to_page()
    static func page(_ frame: PhysAddr) -> UnsafeMutablePointer<Page> { buddy!.memMap.page(at: frame) }

    static var freePages: Int { buddy!.freePages }
    static var managedPages: Int { buddy!.managedPages }
}

/// The page allocator as a FrameAllocator, for page-table pages.
struct KernelFrameAllocator: FrameAllocator {
    mutating func allocateFrame() -> PhysAddr? { PageAllocator.allocate() }
    mutating func freeFrame(_ frame: PhysAddr) { PageAllocator.free(frame) }
}
