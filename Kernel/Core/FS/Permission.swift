// Who may do what to an inode: the rwx bits for owner, group and others, the
// superuser's override, and the read-only file system. Keel's tasks all run as
// root for now, so in practice only the exec bits and EROFS ever refuse.

/// Linux: MAY_EXEC, MAY_WRITE, MAY_READ (the same values as access(2)'s X_OK, W_OK, R_OK)
public struct AccessMask: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let exec = AccessMask(rawValue: 1)
    public static let write = AccessMask(rawValue: 2)
    public static let read = AccessMask(rawValue: 4)
}

/// The identity permission checks are made for. Linux: struct cred (fsuid, fsgid)
public struct Credentials: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// Linux: GLOBAL_ROOT_UID with every capability
    public static let root = Credentials(uid: 0, gid: 0)
}

extension Inode {
    /// Throws unless `credentials` may access this inode as `mask` asks.
    /// Linux: inode_permission() → sb_permission() + generic_permission()
    public func checkPermission(_ mask: AccessMask, as credentials: Credentials) throws(Errno) {
        let writesData = fileType == .regular || fileType == .directory || fileType == .symlink
        if mask.contains(.write) && superBlock.isReadOnly && writesData { throw .EROFS }
        let shift: UInt32 = credentials.uid == uid ? 6 : credentials.gid == gid ? 3 : 0
        let granted = AccessMask(rawValue: (permissions >> shift) & 7)
        if granted.isSuperset(of: mask) { return }
        // CAP_DAC_OVERRIDE: root reads and writes anything, searches any directory,
        // and executes a file if anyone may. Linux: capable_wrt_inode_uidgid()
        if credentials.uid == 0 && (!mask.contains(.exec) || isDirectory || permissions & 0o111 != 0) { return }
        throw .EACCES
    }

    /// The checks open(2) makes once the path is resolved, in Linux's order.
    /// Linux: do_open() and may_open()
    public func checkOpen(_ flags: OpenFlags, as credentials: Credentials) throws(Errno) {
        if flags.contains(.create) && isDirectory { throw .EISDIR }
        if flags.contains(.directory) && !isDirectory { throw .ENOTDIR }
        if flags.contains(.truncate) && isRegular && superBlock.isReadOnly { throw .EROFS }
        let access = flags.requiredAccess
        switch fileType {
        case .symlink: throw .ELOOP
        case .directory where access.contains(.write): throw .EISDIR
        default: break
        }
        try checkPermission(access, as: credentials)
    }
}
