// A task's capability sets: which of root's privileges it holds. Everyone on
// Keel runs as uid 0, so a task starts with every capability and execve gives
// them all back (Linux's rule for root: the new permitted set is the bounding
// set, the full one here). capset lowers them; Keel reports the sets (capget)
// but checks no capability anywhere, so dropping one takes no privilege away.
// Linux: include/linux/cred.h (cap_effective, cap_permitted, cap_inheritable),
// security/commoncap.c cap_capset(), cap_bprm_creds_from_file()

/// The effective, permitted and inheritable sets, bit n for capability n.
/// Linux: kernel_cap_t in struct cred
public struct CapabilitySets: Equatable, Sendable {
    /// Every capability up to CAP_CHECKPOINT_RESTORE (40). Linux: CAP_FULL_SET, CAP_LAST_CAP
    public static let full: UInt64 = (1 << 41) - 1
    /// Capability 8, which lets a task add to its inheritable set what it does
    /// not hold in permitted. Linux: CAP_SETPCAP
    public static let setpcap: UInt64 = 1 << 8

    public var effective: UInt64
    public var permitted: UInt64
    public var inheritable: UInt64

    /// Root's sets at boot. Linux: init_cred
    public static let root = CapabilitySets(effective: full, permitted: full, inheritable: 0)

    public init(effective: UInt64, permitted: UInt64, inheritable: UInt64) {
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
    }

    /// The sets capset(2) may install over these, or EPERM: permitted can only
    /// shrink, effective must lie in the new permitted, and inheritable may only
    /// gain what permitted holds (anything in the bounding set, with
    /// CAP_SETPCAP effective). Bits past the last capability are refused the
    /// same way. Linux: cap_capset()
    public func replaced(by new: CapabilitySets) throws(Errno) -> CapabilitySets {
        let inheritableLimit = effective & Self.setpcap != 0 ? inheritable | Self.full : inheritable | permitted
        guard new.inheritable & ~inheritableLimit == 0, new.inheritable & ~(inheritable | Self.full) == 0,
              new.permitted & ~permitted == 0, new.effective & ~new.permitted == 0 else { throw .EPERM }
        return new
    }

    /// After execve by root: permitted and effective are the full set again
    /// (the inheritable set is kept). Linux: cap_bprm_creds_from_file() for
    /// uid 0 without SECURE_NOROOT
    public var afterExec: CapabilitySets {
        CapabilitySets(effective: Self.full, permitted: Self.full, inheritable: inheritable)
    }
}
