// The allocation fast path: walk the zonelist from the highest zone the flags
// allow down to DMA, take the first zone that has a large enough block.

extension BuddyAllocator {
    /// Allocates 2^order contiguous frames, or returns nil when no allowed zone
    /// has a free block that large above its min watermark (below it, only
    /// `GFP.memalloc` requests are served). The first frame's descriptor gets refcount 1.
    /// Linux: alloc_pages() → get_page_from_freelist() → rmqueue()
    @inlinable public mutating func allocate(order: Int, flags: GFP = .kernel) -> PhysAddr? {
        guard order >= 0 && order <= Zone.maxOrder else { return nil }
        var zone = flags.highestZone.rawValue
        while true {
            if zones[zone].watermarkOK(order: order, flags: flags),
               let pfn = zones[zone].takeSmallest(order: order, memMap: memMap) {
                prepareNewBlock(pfn, order: order, flags: flags)
                return PhysAddr(pfn: pfn)
            }
            if zone == 0 { return nil }
            zone &-= 1
        }
    }

    /// Marks the block allocated (recording its order for the check in `free`)
    /// and zeroes it on request. Linux: prep_new_page()
    @inlinable mutating func prepareNewBlock(_ pfn: UInt64, order: Int, flags: GFP) {
        let page = memMap.uncheckedPage(pfn)
        page.pointee.flags = .head
        page.pointee.private = UInt32(truncatingIfNeeded: order)
        page.pointee.refcount = 1
        if flags.contains(.zero) {
            for frame in pfn..<(pfn &+ (1 &<< UInt64(order))) {
                memory.zeroFrame(PhysAddr(pfn: frame))
            }
        }
    }
}
