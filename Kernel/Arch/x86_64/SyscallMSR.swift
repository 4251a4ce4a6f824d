// Programming the `syscall` instruction. Linux: syscall_init()

enum SyscallMSR {
    static func enable() {
        wrmsr(MSR.efer, rdmsr(MSR.efer) | 1)                    // EFER.SCE: syscall/sysret on
        // syscall loads CS = 0x08, SS = 0x10; sysret loads CS = 0x10 + 16, SS = 0x10 + 8 (RPL 3).
        wrmsr(MSR.star, UInt64(GDT.kernelData & ~3) << 48 | UInt64(GDT.kernelCode) << 32)
        wrmsr(MSR.lstar, symbol_syscall_entry())
        // Cleared on entry: TF, IF, DF, IOPL, NT, AC. Linux: the same mask
        wrmsr(MSR.syscallMask, 0x0004_7700)
    }
}
