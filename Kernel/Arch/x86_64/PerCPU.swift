// Per-CPU data, reached through the GS segment base. In the kernel GS points at
// this CPU's block; on the way to user mode `swapgs` exchanges it with the user
// value, and back on entry. The assembly (Boot/syscall.S) relies on the offsets.
// Linux: DEFINE_PER_CPU, struct pcpu_hot, MSR_GS_BASE / MSR_KERNEL_GS_BASE

enum PerCPU {
    static let selfOffset: UInt64 = 0x00
    /// Top of the running task's kernel stack, where `syscall` switches to.
    static let kernelStackOffset: UInt64 = 0x08
    /// Scratch for the user rsp during syscall entry.
    static let userStackOffset: UInt64 = 0x10
    static let cpuOffset: UInt64 = 0x18
    static let blockBytes = 64


    /// Each CPU's block, allocated by the boot CPU: an AP must not allocate
    /// before its GS points at its block (the allocator's locks read it).
    nonisolated(unsafe) private static var blocks = [UInt64](repeating: 0, count: SMP.maxCPUs)

    /// Allocates CPU `cpu`'s block (on the boot CPU, for itself or for an AP
    /// about to start); false without memory. Linux: setup_per_cpu_areas()
    static func prepare(cpu: Int) -> Bool {
        guard let block = Slab.kmalloc(blockBytes, alignment: 64) else { return false }
        _ = memset(block, 0, blockBytes)
        blocks[cpu] = UInt64(UInt(bitPattern: block))
        return true
    }

    /// Points GS at this CPU's block, which `prepare` made.
    static func install(cpu: Int) {
        let base = blocks[cpu]
        wrmsr(MSR.gsBase, base)
        wrmsr(MSR.kernelGSBase, 0)
        percpu_write(selfOffset, base)
        percpu_write(cpuOffset, UInt64(cpu))
    }

    static var cpu: Int { Int(percpu_read(cpuOffset)) }

    /// This CPU's number, or 0 before `install` (for the panic path, which may
    /// run that early: reading through a zero GS base would fault).
    static var cpuOrBoot: Int { rdmsr(MSR.gsBase) == 0 ? 0 : cpu }

    /// Where the next entry from user mode lands: both for `syscall` (this block)
    /// and for interrupts and exceptions (TSS.rsp0).
    static func setKernelStack(_ top: UInt64) {
        percpu_write(kernelStackOffset, top)
        GDT.setKernelStack(top)
    }
}
