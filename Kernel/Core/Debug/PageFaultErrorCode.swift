// The error code the CPU pushes with a page fault says what the access was and why the
// MMU refused it. The panic report prints it the way Linux's show_fault_oops() does, so
// a Keel oops reads like the Linux ones in the lecture notes.

/// Page-fault error code bits. Linux: enum x86_pf_error_code (arch/x86/include/asm/trap_pf.h)
public struct PageFaultErrorCode: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Set: the page was present and a protection check failed; clear: not present. Linux: X86_PF_PROT
    public static let protection = PageFaultErrorCode(rawValue: 1 << 0)
    /// The access was a write. Linux: X86_PF_WRITE
    public static let write = PageFaultErrorCode(rawValue: 1 << 1)
    /// The access came from CPL 3. Linux: X86_PF_USER
    public static let user = PageFaultErrorCode(rawValue: 1 << 2)
    /// A reserved bit was set in a paging-structure entry. Linux: X86_PF_RSVD
    public static let reservedBit = PageFaultErrorCode(rawValue: 1 << 3)
    /// The access was an instruction fetch (only reported with NX enabled). Linux: X86_PF_INSTR
    public static let instructionFetch = PageFaultErrorCode(rawValue: 1 << 4)
    /// A protection-key check failed. Linux: X86_PF_PK
    public static let protectionKey = PageFaultErrorCode(rawValue: 1 << 5)
    /// The access was a shadow-stack access (CET). Linux: X86_PF_SHSTK
    public static let shadowStack = PageFaultErrorCode(rawValue: 1 << 6)
    /// An SGX enclave access-control violation. Linux: X86_PF_SGX
    public static let sgx = PageFaultErrorCode(rawValue: 1 << 15)

    /// The bits in Linux's order with their X86_PF_ suffixes, for `flagNames`.
    private static let named: [(PageFaultErrorCode, String)] = [
        (.protection, "PROT"), (.write, "WRITE"), (.user, "USER"), (.reservedBit, "RSVD"),
        (.instructionFetch, "INSTR"), (.protectionKey, "PK"), (.shadowStack, "SHSTK"), (.sgx, "SGX"),
    ]

    /// Who accessed what, e.g. "supervisor write access in kernel mode".
    /// `userMode` is where the CPU was (CS.RPL), which differs from the USER bit when the
    /// kernel touches user memory on a user's behalf. Linux: show_fault_oops() first "#PF:" line
    public func accessDescription(userMode: Bool) -> String {
        let who = contains(.user) ? "user" : "supervisor"
        // Linux's wording has no shadow-stack case; Keel adds one so every bit shows.
        let what = contains(.instructionFetch) ? "instruction fetch"
            : contains(.shadowStack) ? "shadow stack access"
            : contains(.write) ? "write access" : "read access"
        return who + " " + what + " in " + (userMode ? "user" : "kernel") + " mode"
    }

    /// Why the MMU refused, e.g. "not-present page". Linux: show_fault_oops() second "#PF:" line
    public var cause: String {
        if !contains(.protection) { return "not-present page" }
        if contains(.reservedBit) { return "reserved bit violation" }
        if contains(.protectionKey) { return "protection keys violation" }
        // Linux checks X86_PF_RMP (SEV-SNP) here; Keel reports the SGX bit instead.
        if contains(.sgx) { return "SGX access-control violation" }
        return "permissions violation"
    }

    /// "error_code(0x0002) - not-present page", as Linux prints after "#PF: ".
    public var errorCodeDescription: String {
        "error_code(0x" + Fmt.hex(rawValue, digits: 4) + ") - " + cause
    }

    /// The set bits by their Linux names, e.g. "PROT|WRITE|USER"; "none" for 0.
    public var flagNames: String {
        var out = ""
        for (bit, name) in Self.named where contains(bit) {
            if !out.isEmpty { out += "|" }
            out += name
        }
        return out.isEmpty ? "none" : out
    }
}
