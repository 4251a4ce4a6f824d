// The kind of object an inode is, encoded in the top bits of its mode exactly as
// Linux stores it, so st_mode and the cpio header's mode carry the same numbers.

/// Linux: the S_IFMT values of include/uapi/linux/stat.h
public enum FileType: UInt32, Sendable {
    /// Linux: S_IFIFO
    case fifo = 0o010000
    /// Linux: S_IFCHR
    case characterDevice = 0o020000
    /// Linux: S_IFDIR
    case directory = 0o040000
    /// Linux: S_IFBLK
    case blockDevice = 0o060000
    /// Linux: S_IFREG
    case regular = 0o100000
    /// Linux: S_IFLNK
    case symlink = 0o120000
    /// Linux: S_IFSOCK
    case socket = 0o140000

    /// The type bits of a mode. Linux: S_IFMT
    public static let mask: UInt32 = 0o170000

    /// The type of a full mode (type and permission bits); nil for an unknown type.
    public init?(mode: UInt32) { self.init(rawValue: mode & Self.mask) }

    /// What getdents64 puts in d_type: the type bits shifted down. Linux: S_DT() / fs_umode_to_dtype()
    public var direntType: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 12) }
}

/// Permission, setuid, setgid and sticky bits. Linux: S_IALLUGO
public let permissionBitsMask: UInt32 = 0o7777
