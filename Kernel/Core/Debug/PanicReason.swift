// Why the kernel is stopping, decided once in the trap handler so the printer only has
// to format. Swift turns overflow, out-of-bounds, force-unwrap of nil and failed
// preconditions into a bare ud2 (docs/ARCHITECTURE.md, "Build facts"), so a #UD on a ud2 is a Swift trap, not a
// bad instruction; a fault on a stack guard page is a stack overflow, not a stray pointer.

/// What brought the kernel down. Linux: the die() / panic() callers
public enum PanicReason {
    /// An exception the kernel cannot handle; `cr2` matters for #PF (and #DF after one).
    case exception(ExceptionVector, frame: InterruptFrame, cr2: UInt64)
    /// #UD on the ud2 the Swift compiler emits for runtime traps. Linux: report_bug()
    case swiftTrap(frame: InterruptFrame)
    /// A fault on the unmapped page below a kernel stack. Linux: handle_stack_overflow()
    case stackOverflow(guardAddress: UInt64, frame: InterruptFrame)
    /// panic() called by kernel code; the trace starts at `framePointer` (0: no trace).
    case explicit(message: String, framePointer: UInt64)

    /// The `ud2` opcode bytes 0f 0b, read as a little-endian 16-bit word.
    static let ud2: UInt64 = 0x0b0f

    /// Classifies a fatal exception. `isStackGuard` says whether an address lies in a
    /// kernel stack's guard page; `memory` lets the check peek at the bytes at RIP.
    public init<Memory: StackMemory>(
        vector: ExceptionVector, frame: InterruptFrame, cr2: UInt64,
        memory: Memory, isStackGuard: (UInt64) -> Bool
    ) {
        switch vector {
        case .invalidOpcode where memory.isReadableKernelAddress(frame.rip)
            && memory.read64(frame.rip) & 0xffff == Self.ud2:
            self = .swiftTrap(frame: frame)
        // Without room to push the #PF frame on the guard page the CPU escalates to #DF,
        // with CR2 still naming the guard page.
        case .pageFault where isStackGuard(cr2), .doubleFault where isStackGuard(cr2):
            self = .stackOverflow(guardAddress: cr2, frame: frame)
        default:
            self = .exception(vector, frame: frame, cr2: cr2)
        }
    }

    /// The saved registers, when the panic came from a trap.
    public var frame: InterruptFrame? {
        switch self {
        case .exception(_, let frame, _), .swiftTrap(let frame), .stackOverflow(_, let frame): frame
        case .explicit: nil
        }
    }

    /// CR2 as captured for the panic; nil when the reason did not record it.
    public var faultAddress: UInt64? {
        switch self {
        case .exception(_, _, let cr2): cr2
        case .stackOverflow(let guardAddress, _): guardAddress
        case .swiftTrap, .explicit: nil
        }
    }
}
