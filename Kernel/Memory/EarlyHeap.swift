// Memory for Swift objects before the page and slab allocators exist: a bump
// allocator over 2 MiB reserved in .bss by Boot/entry32.S. Frees are ignored;
// it only feeds the few objects boot creates before kmalloc takes over.
// Linux: memblock_alloc() plays this role during early boot.

enum EarlyHeap {
    nonisolated(unsafe) private static var next: UInt = 0

    static func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        let heap = KernelImage.earlyHeap
        if next == 0 { next = heap.lowerBound }
        let aligned = (next + UInt(alignment) - 1) & ~(UInt(alignment) - 1)
        guard aligned + UInt(size) <= heap.upperBound else { return nil }
        next = aligned + UInt(size)
        return UnsafeMutableRawPointer(bitPattern: aligned)
    }

    static func owns(_ p: UnsafeMutableRawPointer) -> Bool {
        KernelImage.earlyHeap.contains(UInt(bitPattern: p))
    }

}
