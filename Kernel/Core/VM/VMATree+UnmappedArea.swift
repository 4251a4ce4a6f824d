// Choosing where mmap places a new mapping. Keel uses Linux's x86-64 default
// layout: mappings grow down from mmap_base, just under the stack's reserved
// space, so the heap (growing up from brk) and the mmap area meet in the middle.
// The gap search walks the address-ordered list downward; Linux avoids that walk
// with per-node "largest gap below" values (rb_subtree_gap), which a teaching
// kernel with a handful of regions does not need.

extension VMATree {
    /// A free range of `length` bytes (rounded up to pages) for mmap. With `fixed`,
    /// `hint` is returned as is (the caller unmaps whatever is there). Otherwise `hint`
    /// is used if that range is free and aligned, else the highest free gap below
    /// `layout.mmapBase` and above `layout.mmapMinAddr` is taken, keeping the guard
    /// gap below a stack. `alignment` is a power of two, at least a page.
    /// EINVAL: empty length, bad alignment, misaligned fixed address; EPERM: fixed
    /// below mmap_min_addr; ENOMEM: no room. Linux: get_unmapped_area() →
    /// arch_get_unmapped_area_topdown() (without its bottom-up fallback)
    public func getUnmappedArea(length: UInt64, hint: VirtAddr? = nil, fixed: Bool = false,
                                alignment: UInt64 = pageSize,
                                layout: AddressSpaceLayout) throws(VMError) -> VirtAddr {
        guard length > 0, alignment >= pageSize, alignment & (alignment - 1) == 0 else {
            throw .invalidArgument
        }
        let length = VirtAddr(length).alignedUp().value
        guard length != 0, length <= layout.taskSize - layout.mmapMinAddr else { throw .noMemory }

        if fixed {
            guard let addr = hint, addr.isPageAligned else { throw .invalidArgument }
            guard addr.value <= layout.taskSize - length else { throw .noMemory }
            guard addr.value >= layout.mmapMinAddr else { throw .notPermitted }
            return addr
        }
        if let hint {
            let addr = hint.alignedUp()
            if addr.value & (alignment - 1) == 0, isFree(addr, length: length, layout: layout) {
                return addr
            }
        }
        guard let addr = highestGap(length: length, alignment: alignment, layout: layout) else {
            throw .noMemory
        }
        return addr
    }

    /// [addr, addr + length) lies in user space and clear of every region and stack guard gap.
    func isFree(_ addr: VirtAddr, length: UInt64, layout: AddressSpaceLayout) -> Bool {
        guard addr.value >= layout.mmapMinAddr, addr.value <= layout.taskSize - length else {
            return false
        }
        // Regions below `next` end at or below addr already: only `next` can be in the way.
        let next = lowerBound(addr)
        return next == vmaNil || addr + length <= pool[next].vma.startGap(guardGap: layout.stackGuardGap)
    }

    /// The top-down search. Linux: unmapped_area_topdown()
    func highestGap(length: UInt64, alignment: UInt64, layout: AddressSpaceLayout) -> VirtAddr? {
        let high = layout.mmapBase.value
        let low = layout.mmapMinAddr
        // `above` is the region bounding the gap from above (nil: none), `below` from below.
        var above = lowerBound(layout.mmapBase)
        var below = above == vmaNil ? tail : pool[above].prev
        while true {
            var gapEnd = high
            if above != vmaNil {
                gapEnd = Swift.min(gapEnd, pool[above].vma.startGap(guardGap: layout.stackGuardGap).value)
            }
            let gapStart = Swift.max(low, below == vmaNil ? 0 : pool[below].vma.end.value)
            if gapEnd >= gapStart && gapEnd - gapStart >= length {
                let addr = (gapEnd - length) & ~(alignment - 1)
                if addr >= gapStart { return VirtAddr(addr) }
            }
            guard below != vmaNil, pool[below].vma.end.value > low else { return nil }
            above = below
            below = pool[below].prev
        }
    }
}
