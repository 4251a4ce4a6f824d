// What a faulting access tried to do, as the page-fault error code reports it
// (arch/x86: X86_PF_WRITE, X86_PF_INSTR, X86_PF_USER), reduced to what the
// classification needs.

/// The access that faulted.
public struct FaultAccess: Equatable, Sendable {
    /// The kind of access. Linux: FAULT_FLAG_WRITE / FAULT_FLAG_INSTRUCTION
    public enum Kind: Equatable, Sendable {
        case read, write, execute
    }

    public var kind: Kind
    /// The CPU was in user mode; false for the kernel touching user memory
    /// (copy_from_user and friends). Linux: X86_PF_USER
    public var fromUserMode: Bool

    public init(_ kind: Kind, fromUserMode: Bool = true) {
        self.kind = kind
        self.fromUserMode = fromUserMode
    }
}

extension VMA {
    /// The region's flags allow this kind of access. As on x86 a readable page can not
    /// be made write- or exec-only, any access bit allows a read. Linux: access_error()
    /// (arch/x86/mm/fault.c) for writes and reads; Keel also checks VM_EXEC here, where
    /// x86 Linux maps the page NX and SIGSEGVs on the second fault.
    public func permits(_ kind: FaultAccess.Kind) -> Bool {
        switch kind {
        case .read: return flags.isAccessible
        case .write: return flags.contains(.write)
        case .execute: return flags.contains(.exec)
        }
    }
}
