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


    /// Gives this CPU its block and points GS at it.
    static func install(cpu: Int) {
        guard let block = Slab.kmalloc(blockBytes, alignment: 64) else { Panic.now("no memory for per-CPU data") }
        _ = memset(block, 0, blockBytes)
        let base = UInt64(UInt(bitPattern: block))
        wrmsr(MSR.gsBase, base)
        wrmsr(MSR.kernelGSBase, 0)
        percpu_write(selfOffset, base)
        percpu_write(cpuOffset, UInt64(cpu))
    }

    static var cpu: Int { Int(percpu_read(cpuOffset)) }

    /// Where the next entry from user mode lands: both for `syscall` (this block)
    /// and for interrupts and exceptions (TSS.rsp0).
    static func setKernelStack(_ top: UInt64) {
        percpu_write(kernelStackOffset, top)
        GDT.setKernelStack(top)
    }
}
