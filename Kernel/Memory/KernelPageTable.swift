// Keel's own kernel page tables, replacing the boot stub's: the direct map of
// all RAM at PAGE_OFFSET (1 GiB or 2 MiB pages, never executable) and the
// kernel image mapped section by section (.text RX, .rodata R, .data/.bss RW).
// No identity map is kept, so virtual page 0 faults.
// Linux: init_mem_mapping(), kernel_physical_mapping_init(), mark_rodata_ro()

enum KernelPageTable {
    nonisolated(unsafe) static var table: PageTable<DirectMap>! = nil

    /// Physical address of the kernel's PML4 (what CR3 holds in kernel threads).
    static var root: PhysAddr { table.root }

    static func build() {
        // The boot tables map only the first 4 GiB; RAM above it (where the
        // buddy allocator would start) is unreachable until these tables are loaded.
        var frames = KernelFrameAllocator(flags: .dma32)
        guard let pml4 = PageTable(memory: DirectMap(), allocator: &frames) else {
            Panic.now("no memory for the kernel PML4")
        }
        table = pml4
        do {
            // Every process copies these two slots, so they must exist before any process.
            try table.populateKernelSlots(allocator: &frames)
            mapDirectMap(&frames)
            try mapImage(&frames)
        } catch {
            Panic.now("building kernel page tables: \(error)")
        }
        MMU.load(table.root)
        Log.info("Kernel page tables at 0x\(Fmt.hex(table.root.value)): direct map of \(PhysicalMemoryMap.directMapEnd >> 20) MiB")
    }

    /// Linux: PAGE_KERNEL, PAGE_KERNEL_RO, PAGE_KERNEL_ROX
    static func kernelFlags(writable: Bool, executable: Bool) -> PTEFlags {
        var flags: PTEFlags = [.present]
        if writable { flags.insert(.writable) }
        if !executable && CPUFeatures.nx { flags.insert(.noExecute) }
        if CPUFeatures.globalPages { flags.insert(.global) }
        return flags
    }

    private static func mapDirectMap(_ frames: inout KernelFrameAllocator) {
        let end = MemorySetup.memblock.endOfRAM.alignedUp(1 << 21)
        do {
            try table.mapRange(PhysAddr(0).directMapped, to: PhysAddr(0), length: end.value,
                               flags: kernelFlags(writable: true, executable: false),
                               largestPage: CPUFeatures.gigabytePages ? .size1G : .size2M, allocator: &frames)
        } catch {
            Panic.now("mapping the direct map: \(error)")
        }
        PhysicalMemoryMap.directMapEnd = end.value
    }

    private static func mapImage(_ frames: inout KernelFrameAllocator) throws(PageTableError) {
        let base = KernelLayout.kernelBase
        let sections: [(start: UInt64, end: UInt64, writable: Bool, executable: Bool)] = [
            // .boot holds the boot GDT that GDTR still points at, through this alias.
            (KernelImage.start, KernelImage.text.lowerBound, true, false),
            (KernelImage.text.lowerBound, KernelImage.text.upperBound, false, true),
            (KernelImage.rodata.lowerBound, KernelImage.rodata.upperBound, false, false),
            (KernelImage.data.lowerBound, KernelImage.data.upperBound, true, false),
        ]
        for s in sections {
            try table.mapRange(VirtAddr(s.start), to: PhysAddr(s.start - base), length: s.end - s.start,
                               flags: kernelFlags(writable: s.writable, executable: s.executable),
                               largestPage: .size4K, allocator: &frames)
        }
    }
}
