// An inode: one file, directory, symlink or device, whatever names lead to it.
// Its kind carries the type and the data that goes with it, so a directory
// always has entries and a symlink always has a target; the mode's type bits
// are derived from the kind and cannot disagree with it.

/// What an inode is, with its contents. Linux: the S_IFMT bits of i_mode plus the
/// fields each type uses (i_mapping, i_link, i_rdev, i_op/i_fop)
public enum InodeKind {
    /// A regular file with its bytes. Linux: S_IFREG
    case regular(FileData)
    /// A regular file whose text is made at open (/proc); its size is 0 as on Linux.
    case generated(any GeneratedFile)
    /// Linux: S_IFDIR
    case directory(any DirectoryOperations)
    /// Linux: S_IFLNK with i_link
    case symlink(String)
    /// A device special file; opening it finds the driver by number. Linux: S_IFCHR with i_rdev
    case characterDevice(DeviceNumber)
    /// An anonymous pipe (pipe(2)); it has no name and cannot be opened by path.
    /// Linux: S_IFIFO on pipefs
    case pipe

    public var fileType: FileType {
        switch self {
        case .regular, .generated: .regular
        case .directory: .directory
        case .symlink: .symlink
        case .characterDevice: .characterDevice
        case .pipe: .fifo
        }
    }
}

/// Linux: struct inode
public final class Inode {
    /// Linux: i_ino
    public let ino: UInt64
    /// Linux: i_sb
    public let superBlock: SuperBlock
    public var kind: InodeKind
    /// Permission, setuid, setgid and sticky bits. Linux: i_mode & S_IALLUGO
    public var permissions: UInt32
    /// Names that lead here; a directory also counts its "." and each child's "..". Linux: i_nlink
    public var nlink: UInt32
    /// Linux: i_uid, i_gid
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    /// Seconds since the epoch (also reported as atime and ctime). Linux: i_mtime
    public var mtime: Int64 = 0

    public init(ino: UInt64, superBlock: SuperBlock, kind: InodeKind, permissions: UInt32) {
        self.ino = ino
        self.superBlock = superBlock
        self.kind = kind
        self.permissions = permissions & permissionBitsMask
        nlink = kind.fileType == .directory ? 2 : 1
    }

    public var fileType: FileType { kind.fileType }
    /// Type and permission bits. Linux: i_mode
    public var mode: UInt32 { fileType.rawValue | permissions }
    public var isRegular: Bool { fileType == .regular }
    public var isDirectory: Bool { fileType == .directory }
    public var isSymlink: Bool { fileType == .symlink }

    /// Bytes of data: a file's length, a symlink's target length, 0 otherwise. Linux: i_size
    public var size: Int {
        switch kind {
        case .regular(let data): data.count
        case .symlink(let target): target.utf8.count
        case .pipe: 0
        case .generated, .directory, .characterDevice: 0
        }
    }

    /// The directory's operations, nil if this is not a directory.
    public var directory: (any DirectoryOperations)? {
        if case .directory(let operations) = kind { return operations }
        return nil
    }

    /// Copies file bytes starting at `offset` into `buffer`; returns how many (0 at
    /// or past the end, and for anything but a regular file with data). What execve
    /// and file-backed page faults read with. Linux: kernel_read()
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        guard case .regular(let data) = kind else { return 0 }
        let bytes = data.bytes(from: offset, count: buffer.count)
        if let target = buffer.baseAddress, let source = bytes.baseAddress {
            target.copyMemory(from: source, byteCount: bytes.count)
        }
        return bytes.count
    }
}
