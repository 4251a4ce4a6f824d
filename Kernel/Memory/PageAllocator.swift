// The kernel's page allocator: the Core buddy allocator over the real mem_map,
// zeroing through the direct map. Every physical frame after boot comes from
// here. Linux: alloc_pages() / __free_pages() in mm/page_alloc.c

enum PageAllocator {
    /// The allocator lives at a fixed address and is always used in place: a
    /// global Optional of this large struct would be copied on every access.
    nonisolated(unsafe) private static var storage: UnsafeMutablePointer<BuddyAllocator<DirectMap>>? = nil
    /// mem_map on its own: a small value for the hot paths (faults, fork) that
    /// only need a page descriptor.
    nonisolated(unsafe) private static var memMap: MemMap? = nil

    /// Hands the boot-time allocator over; called once by MemorySetup.
    static func install(_ allocator: BuddyAllocator<DirectMap>) {
        let slot = UnsafeMutablePointer<BuddyAllocator<DirectMap>>.allocate(capacity: 1)
        slot.initialize(to: allocator)
        storage = slot
        memMap = allocator.memMap
    }

    static var buddy: UnsafeMutablePointer<BuddyAllocator<DirectMap>> { storage.unsafelyUnwrapped }

    /// 2^order contiguous frames, or nil when the zones are exhausted. Linux: alloc_pages()
    static func allocate(order: Int = 0, flags: GFP = .kernel) -> PhysAddr? {
        buddy.pointee.allocate(order: order, flags: flags)
    }

    /// Returns a block. A double free or wrong order is a kernel bug: panic,
    /// naming the frame and order. Linux: __free_pages() with CONFIG_DEBUG_VM
    /// (Never inlined: a bad free's call trace should show this frame.)
    @inline(never)
    static func free(_ block: PhysAddr, order: Int = 0) {
        do {
            try buddy.pointee.free(block, order: order)
        } catch {
            Panic.now("page allocator: " + error.message)
        }
    }

    /// The descriptor of a frame. Linux: pfn_to_page()
    static func page(_ frame: PhysAddr) -> UnsafeMutablePointer<Page> { memMap.unsafelyUnwrapped.page(at: frame) }

    static var freePages: Int { buddy.pointee.freePages }
    static var managedPages: Int { buddy.pointee.managedPages }
}

/// The page allocator as a FrameAllocator, for page-table pages.
struct KernelFrameAllocator: FrameAllocator {
    mutating func allocateFrame() -> PhysAddr? { PageAllocator.allocate() }
    mutating func freeFrame(_ frame: PhysAddr) { PageAllocator.free(frame) }
}
