// The CPU operations the rest of Keel needs, named by what they do. Only
// Kernel/Arch calls the instruction shims of include/shims.h; everything else
// calls these (and MMU/TLB in TLB.swift, FPU in TaskStack.swift), so a reader
// of the scheduler or the memory manager sees "set the FS base", not an MSR
// number. `make check` enforces it (tools/check-layers.sh).
// Linux: arch/x86/include/asm/{irqflags.h,processor.h,msr.h,special_insns.h}

/// The model-specific registers Keel uses. Linux: arch/x86/include/asm/msr-index.h
enum MSR {
    /// Linux: MSR_IA32_APICBASE
    static let apicBase: UInt32 = 0x0000_001b
    /// Linux: MSR_EFER (SCE = bit 0, LME = bit 8, NXE = bit 11)
    static let efer: UInt32 = 0xc000_0080
    /// Linux: MSR_STAR, the syscall/sysret segment selectors
    static let star: UInt32 = 0xc000_0081
    /// Linux: MSR_LSTAR, the 64-bit syscall entry point
    static let lstar: UInt32 = 0xc000_0082
    /// Linux: MSR_SYSCALL_MASK, the RFLAGS bits cleared on syscall
    static let syscallMask: UInt32 = 0xc000_0084
    /// Linux: MSR_FS_BASE, the user's TLS base
    static let fsBase: UInt32 = 0xc000_0100
    /// Linux: MSR_GS_BASE, this CPU's per-CPU area while in the kernel
    static let gsBase: UInt32 = 0xc000_0101
    /// Linux: MSR_KERNEL_GS_BASE, what swapgs exchanges GS_BASE with
    static let kernelGSBase: UInt32 = 0xc000_0102
}

/// The timer interrupt's frequency: ticks per second. Linux: HZ (CONFIG_HZ)
let HZ = 100

enum CPU {
    /// Spin-wait hint inside a busy loop. Linux: cpu_relax()
    @inline(__always) static func relax() { cpu_pause() }

    /// Enables interrupts and halts until the next one, atomically (sti's
    /// one-instruction shadow), so no wake-up is lost. Linux: native_safe_halt()
    static func idle() { cpu_idle() }

    /// Halts, with interrupts on while halted, until `done` holds: how a CPU's
    /// idle context (which has no task to put to sleep: the boot CPU before
    /// init, a test hook) waits for a device's interrupt. `done` is looked at
    /// with interrupts off and `sti; hlt` leaves no gap, so an interrupt that
    /// makes it true cannot slip in between the look and the halt.
    /// Linux: the idle loop's safe_halt() around a condition
    static func halt(until done: () -> Bool) {
        let wereEnabled = interruptsEnabled
        while true {
            cpu_cli()
            if done() { break }
            cpu_idle()
        }
        if wereEnabled { cpu_sti() }
    }

    /// RFLAGS.IF. Linux: !arch_irqs_disabled()
    static var interruptsEnabled: Bool { read_rflags() & (1 << 9) != 0 }
    /// Linux: local_irq_disable()
    @inline(__always) static func disableInterrupts() { cpu_cli() }
    /// Linux: local_irq_enable()
    @inline(__always) static func enableInterrupts() { cpu_sti() }

    /// The user's TLS base for this CPU (arch_prctl(ARCH_SET_FS), a context
    /// switch). Linux: x86_fsbase_write_cpu()
    static func setFSBase(_ base: UInt64) { wrmsr(MSR.fsBase, base) }

    /// The time-stamp counter. Linux: rdtsc()
    @inline(__always) static func timestamp() -> UInt64 { rdtsc() }

    /// 64 random bits from RDRAND, or nil if the CPU has none or it failed.
    /// Linux: rdrand_long()
    static func hardwareRandom() -> UInt64? {
        guard CPUFeatures.rdrand else { return nil }
        var value: UInt64 = 0
        return rdrand64(&value) != 0 ? value : nil
    }

    /// The caller's frame pointer (RBP), where a stack trace starts. Inlined, so
    /// it is the caller's own frame. Linux: __builtin_frame_address(0)
    @inline(__always) static var framePointer: UInt64 { read_rbp() }

    /// Runs `body` on the stack whose top is `top`; it never returns. Linux: call_on_stack()
    static func run(onStack top: UInt64, _ body: @convention(c) () -> Void) -> Never {
        call_on_stack(top, body)
        Panic.now("a function run on a new stack returned")
    }

    /// Saves the callee-saved registers and the stack pointer in `previous`, and
    /// continues on `next` (a stack switch_to saved, or one TaskStack prepared).
    /// Linux: switch_to() → __switch_to_asm
    @inline(__always) static func switchStacks(saveTo previous: UnsafeMutablePointer<UInt64>, next: UInt64) {
        switch_to(previous, next)
    }
}
