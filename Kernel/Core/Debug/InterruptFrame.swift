// The contract between the assembly interrupt stubs and Swift: the exact memory layout
// of what is on the stack when a stub calls into the kernel. Linux: struct pt_regs.
//
// Every stub builds the same frame, so one handler serves all 256 vectors:
//   1. the CPU pushes ss, rsp, rflags, cs, rip (and, for some vectors, an error code;
//      see ExceptionVector.pushesErrorCode);
//   2. stubs of vectors without a CPU error code push 0 in its place;
//   3. the stub pushes the vector number;
//   4. the common stub pushes rax, rbx, rcx, rdx, rsi, rdi, rbp, r8 … r15 in that order,
//      so r15 ends up at the lowest address, and passes rsp (the frame's address) in rdi.
//
//   offset  field        offset  field        offset  field
//   0x00    r15          0x40    rbp          0x78    vector
//   0x08    r14          0x48    rdi          0x80    errorCode
//   0x10    r13          0x50    rsi          0x88    rip      <- CPU frame starts here
//   0x18    r12          0x58    rdx          0x90    cs
//   0x20    r11          0x60    rcx          0x98    rflags
//   0x28    r10          0x68    rbx          0xa0    rsp
//   0x30    r9           0x70    rax          0xa8    ss
//   0x38    r8                                0xb0    (end: 176 bytes, 22 words)
//
// In 64-bit mode the CPU aligns rsp to 16 before pushing its frame, and 22 words are a
// multiple of 16 bytes, so after the pushes rsp is 16-byte aligned again and the stub can
// `mov rdi, rsp; call` into Swift with the alignment the ABI wants (docs/ARCHITECTURE.md, "Build facts").

/// Registers saved on interrupt entry, lowest address first. Linux: struct pt_regs
@frozen public struct InterruptFrame: Equatable {
    public var r15: UInt64 = 0, r14: UInt64 = 0, r13: UInt64 = 0, r12: UInt64 = 0
    public var r11: UInt64 = 0, r10: UInt64 = 0, r9: UInt64 = 0, r8: UInt64 = 0
    public var rbp: UInt64 = 0, rdi: UInt64 = 0, rsi: UInt64 = 0, rdx: UInt64 = 0
    public var rcx: UInt64 = 0, rbx: UInt64 = 0, rax: UInt64 = 0
    /// Vector number pushed by the stub (256 for a system call). Linux keeps it in orig_ax for IRQs
    public var vector: UInt64 = 0
    /// The vector a handler stores after rewriting the whole frame (execve,
    /// signal delivery, rt_sigreturn): the system-call return path then uses
    /// iretq, which restores every register, instead of sysret, which loses rcx
    /// and r11 (Boot/syscall.S).
    public static let rewrittenVector: UInt64 = 257
    /// CPU error code, or the 0 the stub pushed in its place.
    public var errorCode: UInt64 = 0
    public var rip: UInt64 = 0, cs: UInt64 = 0, rflags: UInt64 = 0, rsp: UInt64 = 0, ss: UInt64 = 0

    /// Size of the frame in bytes; the stubs' `add rsp, N` when popping must agree.
    public static let byteSize = 22 * 8

    /// A frame with every register zero; tests fill in what they need.
    public init() {}

    /// True when the CPU was running user code (CS requested privilege level 3).
    /// Linux: user_mode()
    @inlinable public var isUserMode: Bool { cs & 3 == 3 }
}
