// The six argument registers of a system call, as the x86-64 Linux ABI passes
// them: rdi, rsi, rdx, r10, r8, r9 (r10 instead of rcx, which `syscall` clobbers).
// Linux: SYSCALL_DEFINEn and struct pt_regs

struct SyscallArgs {
    let number: Int
    let raw: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    init(frame: InterruptFrame) {
        number = Int(truncatingIfNeeded: frame.rax)
        raw = (frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9)
    }

    func u64(_ i: Int) -> UInt64 {
        switch i {
        case 0: raw.0
        case 1: raw.1
        case 2: raw.2
        case 3: raw.3
        case 4: raw.4
        default: raw.5
        }
    }
    /// A C `int` argument: the low 32 bits, sign-extended, as Linux reads it.
    func int(_ i: Int) -> Int { Int(Int32(truncatingIfNeeded: u64(i))) }
    /// A `size_t` / `unsigned long` argument.
    func size(_ i: Int) -> Int { Int(bitPattern: UInt(u64(i))) }
    /// A user-space pointer argument.
    func address(_ i: Int) -> VirtAddr { VirtAddr(u64(i)) }
}
