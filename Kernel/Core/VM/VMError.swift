// Errors of the address-space operations, one case per errno Linux returns for
// the same situation, so system calls can hand back -errno unchanged.

/// Why an address-space operation failed.
public enum VMError: Error, Equatable, Sendable {
    /// Misaligned address, empty range or unknown protection bits. Linux: EINVAL
    case invalidArgument
    /// Overlapping insert, hole in an mprotect range, or no free gap large enough. Linux: ENOMEM
    case noMemory
    /// mprotect asked for an access the mapping's MAY bits forbid. Linux: EACCES
    case accessDenied
    /// MAP_FIXED below mmap_min_addr. Linux: EPERM
    case notPermitted

    /// The positive errno value (a system call returns its negation).
    public var errno: Int32 {
        switch self {
        case .notPermitted: return 1
        case .noMemory: return 12
        case .accessDenied: return 13
        case .invalidArgument: return 22
        }
    }
}
