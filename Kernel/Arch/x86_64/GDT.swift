// The global descriptor table and task-state segment. In long mode segments
// only carry privilege levels; the TSS matters for the stacks the CPU switches
// to: rsp0 on entry from user mode, and the interrupt stacks (IST) used for
// faults that must not run on a possibly broken stack (#DF after a kernel
// stack overflow). Linux: arch/x86/kernel/cpu/common.c (gdt_page, cpu_tss_rw)

enum GDT {
    static let kernelCode: UInt16 = 0x08
    static let kernelData: UInt16 = 0x10
    /// User selectors sit in the order SYSRET expects: data at STAR+8, code at STAR+16.
    static let userData: UInt16 = 0x18 | 3
    static let userCode: UInt16 = 0x20 | 3
    static let taskState: UInt16 = 0x28

    /// The interrupt stack table slot for #DF. Linux: IST_INDEX_DF
    static let doubleFaultIST: UInt8 = 1
    private static let istStackBytes = 16 * 1024
    private static let tssBytes = 104

    /// Each CPU's TSS, indexed by CPU number. Linux: per_cpu(cpu_tss_rw)
    nonisolated(unsafe) private static let tss: UnsafeMutablePointer<UnsafeMutableRawPointer?> = {
        let slots = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: SMP.maxCPUs)
        slots.initialize(repeating: nil, count: SMP.maxCPUs)
        return slots
    }()

    /// Builds this CPU's GDT and TSS and loads them (lgdt, ltr); the boot CPU is CPU 0.
    static func load(cpu: Int = 0) {
        guard let gdt = EarlyHeap.allocate(size: 7 * 8, alignment: 16),
              let tss = EarlyHeap.allocate(size: tssBytes, alignment: 16),
              let ist = EarlyHeap.allocate(size: istStackBytes, alignment: 16) else {
            Panic.now("no memory for the GDT and TSS")
        }
        _ = memset(tss, 0, tssBytes)
        // IST1: top of its own stack. The I/O bitmap base past the limit means "no bitmap".
        tss.storeBytes(of: UInt64(UInt(bitPattern: ist)) + UInt64(istStackBytes), toByteOffset: 0x24, as: UInt64.self)
        tss.storeBytes(of: UInt16(tssBytes), toByteOffset: 0x66, as: UInt16.self)
        self.tss[cpu] = tss

        let entries = gdt.assumingMemoryBound(to: UInt64.self)
        entries[0] = 0
        entries[1] = 0x00af_9a00_0000_ffff      // kernel code: present, DPL 0, long mode
        entries[2] = 0x00cf_9200_0000_ffff      // kernel data
        entries[3] = 0x00cf_f200_0000_ffff      // user data: DPL 3
        entries[4] = 0x00af_fa00_0000_ffff      // user code: DPL 3, long mode
        let base = UInt64(UInt(bitPattern: tss)), limit = UInt64(tssBytes - 1)
        entries[5] = limit | (base & 0xff_ffff) << 16 | 0x89 << 40 | ((base >> 24) & 0xff) << 56
        entries[6] = base >> 32                 // a 64-bit TSS descriptor takes two slots
        var pointer = descriptor_pointer(limit: UInt16(7 * 8 - 1), base: UInt64(UInt(bitPattern: gdt)))
        lgdt(&pointer)
        ltr(taskState)
    }

    /// The stack the CPU loads on entry from user mode. Linux: cpu_tss_rw.x86_tss.sp0
    static func setKernelStack(_ top: UInt64) {
        tss[PerCPU.cpu]!.storeBytes(of: top, toByteOffset: 0x04, as: UInt64.self)
    }
}
