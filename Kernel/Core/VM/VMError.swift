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

    /// The error number a system call returns (negated) for this failure.
    public var errno: Errno {
        switch self {
        case .invalidArgument: return .EINVAL
        case .noMemory: return .ENOMEM
        case .accessDenied: return .EACCES
        case .notPermitted: return .EPERM
        }
    }
}
