// An inode: one file, directory, symlink or device, whatever names lead to it.
// Its kind carries the type and the object that does the work for it, so a
// directory always has directory operations and a symlink always has a target;
// the mode's type bits are derived from the kind and cannot disagree with it.
//
// Locking: the kind never changes. Each attribute (permissions, owner, link
// count, times) is one atomic word, so stat on one CPU never sees half of a
// chmod on another; several attributes changed together (a rename's times)
// are changed under the namespace lock (Kernel/FS/Namespace.swift), which
// every change to a name holds. A file's bytes are its contents' business.

import Synchronization

/// What an inode is, with its contents. Linux: the S_IFMT bits of i_mode plus the
/// fields each type uses (i_mapping, i_link, i_rdev, i_op/i_fop)
public enum InodeKind {
    /// A regular file and where its bytes are. Linux: S_IFREG with i_mapping
    case regular(any FileContents)
    /// A regular file whose text is made at open (/proc); its size is 0 as on Linux.
    case generated(any GeneratedFile)
    /// A regular file its subsystem reads and writes itself (pagemap, tracefs
    /// control files); its size is 0 as on Linux.
    case special(any SpecialFile)
    /// Linux: S_IFDIR
    case directory(any DirectoryOperations)
    /// Linux: S_IFLNK with i_link
    case symlink(String)
    /// A /proc link that leads to an object, not to a path: following it
    /// jumps straight to the dentry the link names (an open file's), so it
    /// works for a file that has no name any more, or never had one in this
    /// tree (a memfd, a pipe). readlink shows a path for people. lstat shows
    /// a symlink. Linux: S_IFLNK with proc_pid_link_inode_operations, whose
    /// get_link calls nd_jump_link() (a "magic link")
    case magicLink(any MagicLink)
    /// A device special file; opening it finds the driver by number. Linux: S_IFCHR with i_rdev
    case characterDevice(DeviceNumber)
    /// A disk: opening it reads and writes its sectors. Linux: S_IFBLK with i_rdev
    case blockDevice(DeviceNumber)
    /// A named pipe made by mknod(2). Linux: S_IFIFO
    case fifo
    /// An anonymous pipe (pipe(2)); it has no name and cannot be opened by path.
    /// Linux: S_IFIFO on pipefs
    case pipe

    public var fileType: FileType {
        switch self {
        case .regular, .generated, .special: .regular
        case .directory: .directory
        case .symlink, .magicLink: .symlink
        case .characterDevice: .characterDevice
        case .blockDevice: .blockDevice
        case .pipe, .fifo: .fifo
        }
    }
}

/// What a magic link (`InodeKind.magicLink`) leads to. Both are asked anew
/// each time (the target by a path walk, under the namespace lock held for
/// reading): what the link names may change (a descriptor closed, dup2'ed
/// over) or go (ENOENT).
public protocol MagicLink: AnyObject {
    /// Where following the link lands: the path walk goes on from this dentry
    /// as if the walk had come there by name. Linux: the get_link of
    /// proc_pid_link_inode_operations → proc_fd_link() + nd_jump_link()
    func target() throws(Errno) -> Dentry
    /// What readlink(2) shows. Linux: proc_pid_readlink() → d_path()
    func text() throws(Errno) -> String
}

/// Linux: struct inode
public final class Inode: @unchecked Sendable {   // every mutable field is atomic
    /// Linux: i_ino
    public let ino: UInt64
    /// Linux: i_sb
    public let superBlock: SuperBlock
    public let kind: InodeKind
    private let permissionBits: Atomic<UInt32>
    private let links: Atomic<UInt32>
    /// uid in the high half, gid in the low: chown changes both at once.
    private let owner = Atomic<UInt64>(0)
    /// Nanoseconds since the epoch. Linux: i_atime, i_mtime, i_ctime
    private let accessNanoseconds = Atomic<Int64>(0)
    private let modifyNanoseconds = Atomic<Int64>(0)
    private let changeNanoseconds = Atomic<Int64>(0)
    /// Address spaces running this file as their program: while there are any,
    /// it cannot be opened for writing or truncated (ETXTBSY), so a running
    /// program's pages, read from the file as they fault, stay what was
    /// executed. Linux: a negative i_writecount (deny_write_access())
    private let executions = Atomic<Int32>(0)

    public init(ino: UInt64, superBlock: SuperBlock, kind: InodeKind, permissions: UInt32) {
        self.ino = ino
        self.superBlock = superBlock
        self.kind = kind
        permissionBits = Atomic(permissions & permissionBitsMask)
        links = Atomic(kind.fileType == .directory ? 2 : 1)
        let now = FileTime.now().nanoseconds
        accessNanoseconds.store(now, ordering: .relaxed)
        modifyNanoseconds.store(now, ordering: .relaxed)
        changeNanoseconds.store(now, ordering: .relaxed)
    }

    public var fileType: FileType { kind.fileType }
    /// Type and permission bits. Linux: i_mode
    public var mode: UInt32 { fileType.rawValue | permissions }
    public var isRegular: Bool { fileType == .regular }
    public var isDirectory: Bool { fileType == .directory }
    public var isSymlink: Bool { fileType == .symlink }

    /// Permission, setuid, setgid and sticky bits. Linux: i_mode & S_IALLUGO
    public var permissions: UInt32 {
        get { permissionBits.load(ordering: .relaxed) }
        set { permissionBits.store(newValue & permissionBitsMask, ordering: .relaxed) }
    }

    /// Names that lead here; a directory also counts its "." and each child's "..". Linux: i_nlink
    public var nlink: UInt32 {
        get { links.load(ordering: .relaxed) }
        set { links.store(newValue, ordering: .relaxed) }
    }

    /// Linux: inc_nlink(), drop_nlink()
    public func addLink() { links.add(1, ordering: .relaxed) }
    public func dropLink() {
        var old = links.load(ordering: .relaxed)
        while old > 0 {
            let (done, seen) = links.compareExchange(expected: old, desired: old - 1, ordering: .relaxed)
            if done { return }
            old = seen
        }
    }

    /// Linux: i_uid, i_gid
    public var uid: UInt32 { UInt32(truncatingIfNeeded: owner.load(ordering: .relaxed) >> 32) }
    public var gid: UInt32 { UInt32(truncatingIfNeeded: owner.load(ordering: .relaxed)) }
    public func setOwner(uid: UInt32, gid: UInt32) {
        owner.store(UInt64(uid) << 32 | UInt64(gid), ordering: .relaxed)
    }

    /// Linux: i_atime, i_mtime, i_ctime
    public var accessTime: FileTime {
        get { FileTime(nanoseconds: accessNanoseconds.load(ordering: .relaxed)) }
        set { accessNanoseconds.store(newValue.nanoseconds, ordering: .relaxed) }
    }
    public var modifyTime: FileTime {
        get { FileTime(nanoseconds: modifyNanoseconds.load(ordering: .relaxed)) }
        set { modifyNanoseconds.store(newValue.nanoseconds, ordering: .relaxed) }
    }
    public var changeTime: FileTime {
        get { FileTime(nanoseconds: changeNanoseconds.load(ordering: .relaxed)) }
        set { changeNanoseconds.store(newValue.nanoseconds, ordering: .relaxed) }
    }

    /// After the contents changed: mtime and ctime are now. Linux: file_update_time()
    public func touchModified() {
        let now = FileTime.now()
        modifyTime = now
        changeTime = now
    }

    /// After an attribute changed (chmod, link, rename): ctime is now. Linux: inode_set_ctime_current()
    public func touchChanged() { changeTime = FileTime.now() }

    /// Linux: deny_write_access(), allow_write_access()
    public func denyWrite() { executions.add(1, ordering: .relaxed) }
    public func allowWrite() { executions.subtract(1, ordering: .relaxed) }
    /// Some process runs this file: writing it is ETXTBSY.
    public var isExecuting: Bool { executions.load(ordering: .relaxed) > 0 }

    /// Bytes of data: a file's length, a symlink's target length, 0 otherwise. Linux: i_size
    public var size: Int {
        switch kind {
        case .regular(let contents): contents.size
        case .symlink(let target): target.utf8.count
        case .magicLink: 64     // Linux: proc_fd_instantiate()'s i_size = 64
        case .generated, .special, .directory, .characterDevice, .blockDevice, .fifo, .pipe: 0
        }
    }

    /// The directory's operations, nil if this is not a directory.
    public var directory: (any DirectoryOperations)? {
        if case .directory(let operations) = kind { return operations }
        return nil
    }

    /// The regular file's contents, nil for anything else.
    public var contents: (any FileContents)? {
        if case .regular(let contents) = kind { return contents }
        return nil
    }

    /// What readlink(2) shows: a symlink's target, a magic link's text; nil
    /// for anything that is not a link. Linux: vfs_readlink()
    public func linkText() throws(Errno) -> String? {
        switch kind {
        case .symlink(let target): target
        case .magicLink(let link): try link.text()
        default: nil
        }
    }

    /// The device number of a device node. Linux: i_rdev
    public var deviceNumber: DeviceNumber? {
        switch kind {
        case .characterDevice(let number), .blockDevice(let number): number
        default: nil
        }
    }

    /// Copies file bytes starting at `offset` into `buffer` (a kernel buffer);
    /// returns how many (0 at or past the end, and for anything but a regular
    /// file). What execve and file-backed page faults read with. Linux: kernel_read()
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard case .regular(let contents) = kind, offset >= 0 else { return 0 }
        return try contents.read(into: buffer, at: offset)
    }
}

/// A file time: nanoseconds since the epoch, which covers 1677 to 2262.
/// Linux: struct timespec64 in an inode
public struct FileTime: Equatable, Sendable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public init(seconds: Int64, nanoseconds: Int64 = 0) {
        let clamped = max(min(seconds, Int64.max / 1_000_000_000 - 1), Int64.min / 1_000_000_000 + 1)
        self.nanoseconds = clamped * 1_000_000_000 + nanoseconds
    }

    public var timespec: Timespec {
        var seconds = nanoseconds / 1_000_000_000, rest = nanoseconds % 1_000_000_000
        if rest < 0 { seconds -= 1; rest += 1_000_000_000 }
        return Timespec(seconds: seconds, nanoseconds: rest)
    }

    /// The wall clock, set by the kernel at boot (the host tests leave it at
    /// the epoch). Linux: current_time()
    nonisolated(unsafe) public static var clock: () -> Int64 = { 0 }
    public static func now() -> FileTime { FileTime(nanoseconds: clock()) }
}
