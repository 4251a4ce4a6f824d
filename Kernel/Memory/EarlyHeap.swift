// Memory for Swift objects before the page and slab allocators exist: a bump
// allocator over 2 MiB reserved in .bss by Boot/entry32.S. Frees are ignored;
// it only feeds the few objects boot creates before kmalloc takes over, and
// the text of panic and lock-validator reports, which any CPU may print at
// once: the bump is one compare-and-swap.
// Linux: memblock_alloc() plays this role during early boot.

import Synchronization

enum EarlyHeap {
    /// Bytes handed out so far.
    private static let used = Atomic<UInt>(0)

    static func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        let heap = KernelImage.earlyHeap
        var offset = used.load(ordering: .relaxed)
        while true {
            let aligned = (heap.lowerBound + offset + UInt(alignment) - 1) & ~(UInt(alignment) - 1)
            guard aligned + UInt(size) <= heap.upperBound else { return nil }
            let (done, now) = used.compareExchange(expected: offset, desired: aligned + UInt(size) - heap.lowerBound,
                                                   ordering: .relaxed)
            if done { return UnsafeMutableRawPointer(bitPattern: aligned) }
            offset = now
        }
    }

    static func owns(_ p: UnsafeMutableRawPointer) -> Bool {
        KernelImage.earlyHeap.contains(UInt(bitPattern: p))
    }

}
