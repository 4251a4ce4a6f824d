// The calls that make, remove and move names: mkdir, mknod, symlink, link,
// unlink, rmdir, rename, and chroot. Each resolves its parent directory and
// last name with the tree held still (FS.changing), and Namei (Kernel/Core)
// checks Linux's rules before the file system makes the change.
// Linux: fs/namei.c (do_mkdirat, do_mknodat, do_symlinkat, do_linkat,
// do_unlinkat, do_rmdir, do_renameat2), fs/open.c (chroot)

extension FileSyscalls {
    /// Linux: AT_REMOVEDIR, AT_SYMLINK_FOLLOW
    static let AT_REMOVEDIR = 0x200
    static let AT_SYMLINK_FOLLOW = 0x400

    /// mkdir(path, mode)
    static func mkdir(_ a: SyscallArgs) throws(Errno) -> Int {
        try mkdir(dirfd: AT_FDCWD, path: a.address(0), mode: a.u64(1))
    }

    /// mkdirat(dirfd, path, mode)
    static func mkdirat(_ a: SyscallArgs) throws(Errno) -> Int {
        try mkdir(dirfd: a.int(0), path: a.address(1), mode: a.u64(2))
    }

    /// The mode loses the umask's bits, and setuid/setgid. Linux: do_mkdirat()
    private static func mkdir(dirfd: Int, path address: VirtAddr, mode: UInt64) throws(Errno) -> Int {
        let path = try userPath(address)
        let permissions = UInt32(truncatingIfNeeded: mode) & 0o1777 & ~Scheduler.current.fs.umask
        try changing(dirfd, path) { (parent, name) throws(Errno) in
            _ = try Namei.create(name, in: parent, .directory, permissions: permissions, as: .root)
        }
        return 0
    }

    /// mknod(path, mode, dev)
    static func mknod(_ a: SyscallArgs) throws(Errno) -> Int {
        try mknod(dirfd: AT_FDCWD, path: a.address(0), mode: a.u64(1), device: a.u64(2))
    }

    /// mknodat(dirfd, path, mode, dev)
    static func mknodat(_ a: SyscallArgs) throws(Errno) -> Int {
        try mknod(dirfd: a.int(0), path: a.address(1), mode: a.u64(2), device: a.u64(3))
    }

    /// A regular file (type 0 or S_IFREG), a device node or a named pipe;
    /// EPERM for a directory (mkdir makes those) and a socket (Keel has no
    /// sockets), EINVAL for no type at all. Linux: do_mknodat() → may_mknod()
    private static func mknod(dirfd: Int, path address: VirtAddr, mode: UInt64, device: UInt64) throws(Errno) -> Int {
        let path = try userPath(address)
        let bits = UInt32(truncatingIfNeeded: mode)
        let number = DeviceNumber(decoding: UInt32(truncatingIfNeeded: device))
        let kind: NewInodeKind
        switch FileType(mode: bits == bits & 0o7777 ? bits | FileType.regular.rawValue : bits) {
        case .regular: kind = .regular
        case .characterDevice: kind = .characterDevice(number)
        case .blockDevice: kind = .blockDevice(number)
        case .fifo: kind = .fifo
        case .directory, .socket: throw .EPERM
        case .symlink, nil: throw .EINVAL
        }
        let permissions = bits & 0o7777 & ~Scheduler.current.fs.umask
        try changing(dirfd, path) { (parent, name) throws(Errno) in
            _ = try Namei.create(name, in: parent, kind, permissions: permissions, as: .root)
        }
        return 0
    }

    /// symlink(target, linkpath)
    static func symlink(_ a: SyscallArgs) throws(Errno) -> Int {
        try symlink(target: a.address(0), dirfd: AT_FDCWD, path: a.address(1))
    }

    /// symlinkat(target, newdirfd, linkpath)
    static func symlinkat(_ a: SyscallArgs) throws(Errno) -> Int {
        try symlink(target: a.address(0), dirfd: a.int(1), path: a.address(2))
    }

    /// The target is stored as given, not checked; an empty one is ENOENT.
    /// Linux: do_symlinkat()
    private static func symlink(target address: VirtAddr, dirfd: Int, path pathAddress: VirtAddr) throws(Errno) -> Int {
        let target = try userPath(address)
        let path = try userPath(pathAddress)
        guard !target.isEmpty else { throw .ENOENT }
        try changing(dirfd, path) { (parent, name) throws(Errno) in
            _ = try Namei.create(name, in: parent, .symlink(target), permissions: 0o777, as: .root)
        }
        return 0
    }

    /// link(oldpath, newpath)
    static func link(_ a: SyscallArgs) throws(Errno) -> Int {
        try link(oldDirfd: AT_FDCWD, old: a.address(0), newDirfd: AT_FDCWD, new: a.address(1), flags: 0)
    }

    /// linkat(olddirfd, oldpath, newdirfd, newpath, flags)
    static func linkat(_ a: SyscallArgs) throws(Errno) -> Int {
        try link(oldDirfd: a.int(0), old: a.address(1), newDirfd: a.int(2), new: a.address(3), flags: a.int(4))
    }

    /// A final symlink is linked itself unless AT_SYMLINK_FOLLOW.
    /// Linux: do_linkat()
    private static func link(oldDirfd: Int, old: VirtAddr, newDirfd: Int, new: VirtAddr, flags: Int) throws(Errno) -> Int {
        guard flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) == 0 else { throw .EINVAL }
        let oldPath = try userPath(old), newPath = try userPath(new)
        let source = try lookup(oldDirfd, oldPath, follow: flags & AT_SYMLINK_FOLLOW != 0,
                                allowEmpty: flags & AT_EMPTY_PATH != 0)
        if PathWalk.hasTrailingSlash(newPath) && !source.inode.isDirectory { throw .ENOENT }
        try changing(newDirfd, newPath) { (parent, name) throws(Errno) in
            try Namei.link(source.inode, as: name, in: parent, as: .root)
        }
        return 0
    }

    /// unlink(path)
    static func unlink(_ a: SyscallArgs) throws(Errno) -> Int {
        try remove(dirfd: AT_FDCWD, path: a.address(0), directory: false)
    }

    /// rmdir(path)
    static func rmdir(_ a: SyscallArgs) throws(Errno) -> Int {
        try remove(dirfd: AT_FDCWD, path: a.address(0), directory: true)
    }

    /// unlinkat(dirfd, path, flags): AT_REMOVEDIR makes it rmdir.
    static func unlinkat(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = a.int(2)
        guard flags & ~AT_REMOVEDIR == 0 else { throw .EINVAL }
        return try remove(dirfd: a.int(0), path: a.address(1), directory: flags & AT_REMOVEDIR != 0)
    }

    /// Linux: do_unlinkat(), do_rmdir()
    private static func remove(dirfd: Int, path address: VirtAddr, directory: Bool) throws(Errno) -> Int {
        let path = try userPath(address)
        let lastName = PathWalk.components(of: path).last
        try changing(dirfd, path) { (parent, name) throws(Errno) in
            if directory {
                try Namei.rmdir(name, lastName: lastName, in: parent, mounts: FS.mounts, as: .root)
            } else {
                try Namei.unlink(name, in: parent, mustBeDirectory: PathWalk.hasTrailingSlash(path),
                                 mounts: FS.mounts, as: .root)
            }
        }
        return 0
    }

    /// rename(oldpath, newpath)
    static func rename(_ a: SyscallArgs) throws(Errno) -> Int {
        try rename(oldDirfd: AT_FDCWD, old: a.address(0), newDirfd: AT_FDCWD, new: a.address(1), flags: 0)
    }

    /// renameat(olddirfd, oldpath, newdirfd, newpath)
    static func renameat(_ a: SyscallArgs) throws(Errno) -> Int {
        try rename(oldDirfd: a.int(0), old: a.address(1), newDirfd: a.int(2), new: a.address(3), flags: 0)
    }

    /// renameat2(olddirfd, oldpath, newdirfd, newpath, flags)
    static func renameat2(_ a: SyscallArgs) throws(Errno) -> Int {
        try rename(oldDirfd: a.int(0), old: a.address(1), newDirfd: a.int(2), new: a.address(3),
                   flags: UInt32(truncatingIfNeeded: a.u64(4)))
    }

    /// Both parents are found with the tree held still. Linux: do_renameat2()
    private static func rename(oldDirfd: Int, old: VirtAddr, newDirfd: Int, new: VirtAddr, flags: UInt32) throws(Errno) -> Int {
        let oldPath = try userPath(old), newPath = try userPath(new)
        let (root, pwd) = Scheduler.current.fs.rootAndPwd
        let oldStart = try start(oldDirfd, oldPath, pwd: pwd), newStart = try start(newDirfd, newPath, pwd: pwd)
        try FS.withTreeLocked { () throws(Errno) in
            let (oldParent, oldName) = try PathWalk.resolveParent(oldPath, root: root, from: oldStart, mounts: FS.mounts)
            let (newParent, newName) = try PathWalk.resolveParent(newPath, root: root, from: newStart, mounts: FS.mounts)
            let slashes = PathWalk.hasTrailingSlash(oldPath) || PathWalk.hasTrailingSlash(newPath)
            try Namei.rename(oldName, in: oldParent, to: newName, in: newParent, flags: RenameFlags(rawValue: flags),
                             slashes: slashes, mounts: FS.mounts, as: .root)
        }
        return 0
    }

    /// chroot(path): the task's root moves; its current directory does not.
    /// Linux: SYSCALL_DEFINE1(chroot) → set_fs_root()
    static func chroot(_ a: SyscallArgs) throws(Errno) -> Int {
        let dentry = try lookup(AT_FDCWD, userPath(a.address(0)), follow: true)
        guard dentry.inode.isDirectory else { throw .ENOTDIR }
        try dentry.inode.checkPermission(.exec, as: .root)
        Scheduler.current.fs.root = dentry
        return 0
    }

    /// umask(mask): sets the mask, returns the old one. Linux: SYSCALL_DEFINE1(umask)
    static func umask(_ a: SyscallArgs) throws(Errno) -> Int {
        let fs = Scheduler.current.fs
        let old = fs.umask
        fs.umask = UInt32(truncatingIfNeeded: a.u64(0))
        return Int(old)
    }
}
