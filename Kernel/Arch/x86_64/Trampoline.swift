// Where the APs start and what they find there: a copy of Boot/trampoline.S in
// a page below 1 MiB, its header filled in with this CPU's control registers,
// and the small page table the APs enter long mode with. That table maps the
// trampoline page at its own address (identity) and shares PML4 slots 254
// (direct map) and 255 (kernel image, vmalloc: the AP's stack) with the
// kernel's table, so the AP can jump into the kernel and then switch CR3.
// Linux: arch/x86/realmode/init.c (setup_real_mode), struct trampoline_header

enum Trampoline {
    /// The page the APs start in (Boot/trampoline.S assumes it). Real mode reaches
    /// only the first MiB, which memblock keeps for itself (MemorySetup), so the
    /// page allocator never hands this page out.
    static let base = PhysAddr(0x8000)
    /// The STARTUP IPI's vector: the page number the AP starts at.
    static var startupPage: UInt8 { UInt8(base.pfn) }

    /// Offsets of the fields in trampoline_header (Boot/trampoline.S).
    private enum Header {
        static let transitionCR3 = 0x00, cr4 = 0x04, cr0 = 0x08, efer = 0x0c
        static let kernelCR3 = 0x10, stackTop = 0x18, cpu = 0x20
    }
    /// EFER.LMA ("long mode active") is the CPU's own status bit. Linux: EFER_LMA
    private static let eferLongModeActive: UInt64 = 1 << 10

    nonisolated(unsafe) private static var transition: PageTable<DirectMap>? = nil

    private static var size: Int { Int(symbol_trampoline_end() - symbol_trampoline_start()) }
    private static var header: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(DirectMap.pointer(base + (symbol_trampoline_header() - symbol_trampoline_start()),
                                                  as: UInt8.self))
    }

    /// Copies the code into place, builds the transition page table and records
    /// this CPU's CR0, CR4 and EFER for the APs. False (after logging why) when
    /// that is impossible.
    static func install() -> Bool {
        let page = base.value..<base.value + UInt64(size)
        let bootInfo = Boot.info.physicalAddress.value..<Boot.info.physicalAddress.value + UInt64(Boot.info.block.count)
        guard !page.overlaps(bootInfo), !Boot.info.modules.contains(where: { page.overlaps($0.start.value..<$0.end.value) }) else {
            Log.error("smpboot: the boot loader left data at the trampoline page 0x\(Fmt.hex(base.value))")
            return false
        }
        _ = memcpy(DirectMap.pointer(base, as: UInt8.self), UnsafeRawPointer(bitPattern: UInt(symbol_trampoline_start())), size)

        var frames = LowFrameAllocator()
        guard let table = PageTable(memory: DirectMap(), allocator: &frames) else {
            Log.error("smpboot: no memory for the trampoline page table")
            return false
        }
        do {
            // Executable and not global: it must vanish with the CR3 switch.
            try table.map(VirtAddr(base.value), to: base, size: .size4K, flags: [.present, .writable], allocator: &frames)
        } catch {
            PageAllocator.free(table.root)
            Log.error("smpboot: no memory for the trampoline page table")
            return false
        }
        table.copyKernelEntries(from: KernelPageTable.table)
        transition = table

        store(UInt32(table.root.value), at: Header.transitionCR3)
        store(UInt32(truncatingIfNeeded: read_cr4()), at: Header.cr4)
        store(UInt32(truncatingIfNeeded: read_cr0()), at: Header.cr0)
        store(UInt32(truncatingIfNeeded: rdmsr(MSR.efer) & ~eferLongModeActive), at: Header.efer)
        store(KernelPageTable.root.value, at: Header.kernelCR3)
        return true
    }

    /// Points the next AP to wake at its CPU number and idle stack.
    static func prepare(cpu: Int, stackTop: UInt64) {
        store(stackTop, at: Header.stackTop)
        store(UInt64(cpu), at: Header.cpu)
    }

    /// Returns the transition page table once every AP runs on the kernel's.
    /// The trampoline page stays: nothing else may use the first MiB anyway.
    static func release() {
        guard let table = transition else { return }
        var frames = LowFrameAllocator()
        do {
            _ = try table.unmap(VirtAddr(base.value), freeEmptyTables: true, allocator: &frames)
        } catch {
            Panic.now("trampoline: its identity mapping is gone from the transition table: \(error)")
        }
        PageAllocator.free(table.root)
        transition = nil
    }

    private static func store<T>(_ value: T, at offset: Int) {
        header.storeBytes(of: value, toByteOffset: offset, as: T.self)
    }
}

/// Page-table pages below 4 GiB: an AP loads CR3 while still in 32-bit mode.
private struct LowFrameAllocator: FrameAllocator {
    mutating func allocateFrame() -> PhysAddr? { PageAllocator.allocate(flags: .dma32) }
    mutating func freeFrame(_ frame: PhysAddr) { PageAllocator.free(frame) }
}
