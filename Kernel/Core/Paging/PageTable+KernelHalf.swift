// Every process's PML4 shares the kernel's upper tables: PML4 slots 254 (direct map)
// and 255 (kernel image, vmalloc) point to the same PDPTs everywhere, so a kernel
// mapping made once is visible in every address space without touching each PML4.

extension KernelLayout {
    /// The PML4 slots that hold the kernel half (254 and 255). Linux: KERNEL_PGD_BOUNDARY…PTRS_PER_PGD
    public static var kernelPML4Slots: ClosedRange<Int> {
        PageTableLevel.pml4.index(of: VirtAddr(pageOffset))...PageTableLevel.pml4.index(of: VirtAddr(vmallocEnd))
    }
}

extension PageTable {
    /// Gives each empty kernel slot its own zeroed PDPT, once, at boot: a slot still empty
    /// when processes copy it would never show them later kernel mappings.
    /// Linux: preallocate_vmalloc_pages()
    public func populateKernelSlots<A: FrameAllocator>(allocator: inout A) throws(PageTableError) {
        for index in KernelLayout.kernelPML4Slots {
            let slot = root + UInt64(index) * 8
            guard read(slot).isNone else { continue }
            guard let frame = allocator.allocateFrame() else { throw .outOfMemory }
            memory.zeroFrame(frame)
            write(slot, PageTableEntry(frame: frame, flags: .kernelTable))
        }
    }

    /// Makes this PML4 share the kernel half of `kernel` by copying its kernel slots.
    /// Linux: pgd_ctor() → clone_pgd_range()
    public func copyKernelEntries(from kernel: PageTable) {
        for index in KernelLayout.kernelPML4Slots {
            let offset = UInt64(index) * 8
            write(root + offset, kernel.read(kernel.root + offset))
        }
    }
}
