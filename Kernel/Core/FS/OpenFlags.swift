// The flags argument of open(2), bit for bit as x86-64 Linux defines them. The
// low two bits are not flags but the access mode (read, write or both).

/// Linux: the O_* values of include/uapi/asm-generic/fcntl.h
public struct OpenFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let writeOnly = OpenFlags(rawValue: 0o1)            // O_WRONLY
    public static let readWrite = OpenFlags(rawValue: 0o2)            // O_RDWR
    public static let create = OpenFlags(rawValue: 0o100)             // O_CREAT
    public static let exclusive = OpenFlags(rawValue: 0o200)          // O_EXCL
    public static let noControllingTTY = OpenFlags(rawValue: 0o400)   // O_NOCTTY
    public static let truncate = OpenFlags(rawValue: 0o1000)          // O_TRUNC
    public static let append = OpenFlags(rawValue: 0o2000)            // O_APPEND
    public static let nonBlocking = OpenFlags(rawValue: 0o4000)       // O_NONBLOCK
    public static let async = OpenFlags(rawValue: 0o20000)            // FASYNC
    public static let direct = OpenFlags(rawValue: 0o40000)           // O_DIRECT
    /// Always set on 64-bit Linux, so fcntl(F_GETFL) shows it. Linux: O_LARGEFILE, force_o_largefile()
    public static let largeFile = OpenFlags(rawValue: 0o100000)       // O_LARGEFILE
    public static let directory = OpenFlags(rawValue: 0o200000)       // O_DIRECTORY
    public static let noFollow = OpenFlags(rawValue: 0o400000)        // O_NOFOLLOW
    public static let noAccessTime = OpenFlags(rawValue: 0o1000000)   // O_NOATIME
    public static let closeOnExec = OpenFlags(rawValue: 0o2000000)    // O_CLOEXEC
    /// A place in the tree without I/O. Linux: O_PATH
    public static let path = OpenFlags(rawValue: 0o10000000)          // O_PATH
    /// An unnamed file in the directory given. Linux: __O_TMPFILE (O_TMPFILE is it | O_DIRECTORY)
    public static let temporary = OpenFlags(rawValue: 0o20000000)     // __O_TMPFILE

    /// The access-mode bits. Linux: O_ACCMODE
    public static let accessModeMask: UInt32 = 0o3
    /// What fcntl(F_SETFL) may change. Linux: SETFL_MASK
    public static let settable: OpenFlags = [.append, .nonBlocking, .async, .direct, .noAccessTime]
    /// Used only while opening, not kept in the open file. Linux: the bits do_dentry_open() clears
    public static let openOnly: OpenFlags = [.create, .exclusive, .noControllingTTY, .truncate, .closeOnExec]

    /// O_RDONLY (0) and O_RDWR allow reading. Linux: FMODE_READ
    public var allowsRead: Bool { rawValue & Self.accessModeMask == 0 || rawValue & Self.accessModeMask == 2 }
    /// O_WRONLY and O_RDWR allow writing. Linux: FMODE_WRITE
    public var allowsWrite: Bool { rawValue & Self.accessModeMask == 1 || rawValue & Self.accessModeMask == 2 }

    /// The permissions opening needs: the access mode's (mode 3 asks for both),
    /// plus write for O_TRUNC. Linux: ACC_MODE() and MAY_WRITE for O_TRUNC in build_open_flags()
    public var requiredAccess: AccessMask {
        var mask: AccessMask = []
        switch rawValue & Self.accessModeMask {
        case 0: mask = .read
        case 1: mask = .write
        default: mask = [.read, .write]
        }
        if contains(.truncate) { mask.insert(.write) }
        return mask
    }

    /// The flags an open file keeps: access mode and status flags, with O_LARGEFILE.
    public var fileStatusFlags: OpenFlags { subtracting(Self.openOnly).union(.largeFile) }

    /// What an O_PATH file keeps: no access mode, only these. Linux: O_PATH_FLAGS in build_open_flags()
    public var pathStatusFlags: OpenFlags { intersection([.path, .directory, .noFollow]) }
}
