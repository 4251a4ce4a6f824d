// The calls that make, remove and move names, with Linux's checks in Linux's
// order: the path walk has found the parent directory and the last name; these
// check what may happen there and ask the directory's file system to do it.
// They run under the namespace lock held exclusively (Kernel/FS/Namespace.swift),
// so nothing changes between a check and the change it allows.
// Linux: fs/namei.c (filename_create, vfs_mkdir, vfs_mknod, vfs_symlink,
// vfs_link, do_unlinkat, do_rmdir, do_renameat2, vfs_rename, may_delete)

/// Linux: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT
public struct RenameFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let noReplace = RenameFlags(rawValue: 1)
    public static let exchange = RenameFlags(rawValue: 2)
    public static let whiteout = RenameFlags(rawValue: 4)
}

public enum Namei {
    /// Creates `name` in `parent`: EEXIST if it exists (or is "." / ".."),
    /// EROFS, EACCES without write and search permission.
    /// Linux: filename_create() then vfs_create() / vfs_mkdir() / vfs_symlink() / vfs_mknod()
    public static func create(_ name: String?, in parent: Dentry, _ kind: NewInodeKind, permissions: UInt32,
                              as credentials: Credentials) throws(Errno) -> Inode {
        guard let name else { throw .EEXIST }
        guard let directory = parent.inode.directory else { throw .ENOTDIR }
        if try directory.lookup(name) != nil { throw .EEXIST }
        try mayCreate(in: parent.inode, as: credentials)
        return try directory.create(name, kind, permissions: permissions & permissionBitsMask, owner: credentials,
                                    in: parent.inode)
    }

    /// A new name for `inode`. EPERM for a directory, EXDEV across file
    /// systems, ENOENT for a file whose last name is gone. Linux: vfs_link()
    public static func link(_ inode: Inode, as name: String?, in parent: Dentry,
                            as credentials: Credentials) throws(Errno) {
        guard let name else { throw .EEXIST }
        guard let directory = parent.inode.directory else { throw .ENOTDIR }
        if try directory.lookup(name) != nil { throw .EEXIST }
        try mayCreate(in: parent.inode, as: credentials)
        guard inode.superBlock === parent.inode.superBlock else { throw .EXDEV }
        guard !inode.isDirectory else { throw .EPERM }
        guard inode.nlink > 0 else { throw .ENOENT }
        try directory.link(inode, as: name, in: parent.inode)
    }

    /// unlink(2): not for directories (EISDIR), nor "." and "..".
    /// `mustBeDirectory` is a trailing slash. Linux: do_unlinkat()
    public static func unlink(_ name: String?, in parent: Dentry, mustBeDirectory: Bool,
                              mounts: MountTable, as credentials: Credentials) throws(Errno) {
        guard let name else { throw .EISDIR }
        guard let directory = parent.inode.directory else { throw .ENOTDIR }
        guard let inode = try directory.lookup(name) else { throw .ENOENT }
        if mustBeDirectory && !inode.isDirectory { throw .ENOTDIR }
        try mayDelete(inode, in: parent.inode, as: credentials)
        if inode.isDirectory { throw .EISDIR }
        if mounts.isBusy(inode) { throw .EBUSY }
        try directory.remove(name, inode, in: parent.inode)
    }

    /// rmdir(2): EINVAL for ".", ENOTEMPTY for "..", EBUSY for a mount point
    /// or a root. `lastName` is the path's last component as written.
    /// Linux: do_rmdir()
    public static func rmdir(_ name: String?, lastName: String?, in parent: Dentry,
                             mounts: MountTable, as credentials: Credentials) throws(Errno) {
        guard let name else {
            switch lastName {
            case "..": throw .ENOTEMPTY
            case ".": throw .EINVAL
            default: throw .EBUSY                 // "/"
            }
        }
        guard let directory = parent.inode.directory else { throw .ENOTDIR }
        guard let inode = try directory.lookup(name) else { throw .ENOENT }
        try mayDelete(inode, in: parent.inode, as: credentials)
        guard inode.isDirectory else { throw .ENOTDIR }
        if mounts.isBusy(inode) || mounts.root(covering: inode) != nil { throw .EBUSY }
        try directory.remove(name, inode, in: parent.inode)
    }

    /// rename(2) and renameat2(2) without RENAME_EXCHANGE and RENAME_WHITEOUT
    /// (EINVAL). A trailing slash on either name (`slashes`) requires a
    /// directory. Linux: do_renameat2() → vfs_rename()
    public static func rename(_ oldName: String?, in oldParent: Dentry, to newName: String?, in newParent: Dentry,
                              flags: RenameFlags, slashes: Bool, mounts: MountTable,
                              as credentials: Credentials) throws(Errno) {
        guard flags.subtracting([.noReplace, .exchange, .whiteout]).isEmpty else { throw .EINVAL }
        guard !flags.contains([.noReplace, .exchange]) else { throw .EINVAL }
        guard !flags.contains(.exchange), !flags.contains(.whiteout) else { throw .EINVAL }
        guard oldParent.inode.superBlock === newParent.inode.superBlock else { throw .EXDEV }
        guard let oldName else { throw .EBUSY }
        guard let newName else { throw flags.contains(.noReplace) ? .EEXIST : .EBUSY }
        guard let oldDirectory = oldParent.inode.directory, let newDirectory = newParent.inode.directory
        else { throw .ENOTDIR }
        guard let inode = try oldDirectory.lookup(oldName) else { throw .ENOENT }
        let replaced = try newDirectory.lookup(newName)
        if slashes && !inode.isDirectory { throw .ENOTDIR }
        if replaced != nil && flags.contains(.noReplace) { throw .EEXIST }
        // Moving a directory under itself: its own name is on the new parent's chain.
        if inode.isDirectory && isOnChain(inode, of: newParent) { throw .EINVAL }
        // The target is an ancestor of the source.
        if let replaced, replaced.isDirectory && isOnChain(replaced, of: oldParent) { throw .ENOTEMPTY }
        if replaced === inode { return }          // two names of one inode: nothing happens
        try mayDelete(inode, in: oldParent.inode, as: credentials)
        if let replaced {
            try mayDelete(replaced, in: newParent.inode, as: credentials)
            if inode.isDirectory && !replaced.isDirectory { throw .ENOTDIR }
            if !inode.isDirectory && replaced.isDirectory { throw .EISDIR }
        } else {
            try mayCreate(in: newParent.inode, as: credentials)
        }
        if mounts.isBusy(inode) || replaced.map({ mounts.isBusy($0) }) == true { throw .EBUSY }
        try oldDirectory.rename(oldName, inode, in: oldParent.inode, to: newName, in: newParent.inode,
                                replacing: replaced)
    }

    /// Whether `inode` is `dentry`'s inode or one of its ancestors'.
    private static func isOnChain(_ inode: Inode, of dentry: Dentry) -> Bool {
        var node: Dentry? = dentry
        while let current = node {
            if current.inode === inode { return true }
            node = current.parent
        }
        return false
    }

    /// Write and search permission in the directory. Linux: may_create()
    private static func mayCreate(in directory: Inode, as credentials: Credentials) throws(Errno) {
        try directory.checkPermission([.write, .exec], as: credentials)
    }

    /// Write and search permission, and the sticky bit: in a sticky directory
    /// only the owner of the file or of the directory (or root) may remove a
    /// name. Linux: may_delete() → check_sticky()
    private static func mayDelete(_ inode: Inode, in directory: Inode, as credentials: Credentials) throws(Errno) {
        try directory.checkPermission([.write, .exec], as: credentials)
        let sticky = directory.permissions & 0o1000 != 0
        if sticky && credentials.uid != 0 && credentials.uid != inode.uid && credentials.uid != directory.uid {
            throw .EPERM
        }
    }
}
