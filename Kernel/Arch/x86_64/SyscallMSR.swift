// Programming the `syscall` instruction. Linux: syscall_init()

enum SyscallMSR {
    static let efer: UInt32 = 0xc000_0080
    static let star: UInt32 = 0xc000_0081
    static let lstar: UInt32 = 0xc000_0082
    static let fmask: UInt32 = 0xc000_0084

    static func enable() {
        wrmsr(efer, rdmsr(efer) | 1)                    // EFER.SCE: syscall/sysret on
        // syscall loads CS = 0x08, SS = 0x10; sysret loads CS = 0x10 + 16, SS = 0x10 + 8 (RPL 3).
        wrmsr(star, UInt64(GDT.kernelData & ~3) << 48 | UInt64(GDT.kernelCode) << 32)
        wrmsr(lstar, symbol_syscall_entry())
        // Cleared on entry: TF, IF, DF, IOPL, NT, AC. Linux: the same mask
        wrmsr(fmask, 0x0004_7700)
    }
}
