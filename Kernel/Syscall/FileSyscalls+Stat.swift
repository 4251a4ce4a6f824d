// What a path or descriptor refers to: stat and its variants, access and
// readlink. Linux: fs/stat.c (vfs_fstatat, cp_new_stat, do_readlinkat),
// fs/open.c (do_faccessat)

extension FileSyscalls {
    /// stat(path, buf). Linux: vfs_stat()
    static func stat(_ a: SyscallArgs) throws(Errno) -> Int {
        try copyStat(lookup(AT_FDCWD, userPath(a.address(0)), follow: true).inode, to: a.address(1))
    }

    /// lstat(path, buf): a final symlink is reported, not followed. Linux: vfs_lstat()
    static func lstat(_ a: SyscallArgs) throws(Errno) -> Int {
        try copyStat(lookup(AT_FDCWD, userPath(a.address(0)), follow: false).inode, to: a.address(1))
    }

    /// fstat(fd, buf). Linux: vfs_fstat()
    static func fstat(_ a: SyscallArgs) throws(Errno) -> Int {
        try copyStat(file(a.int(0)).inode, to: a.address(1))
    }

    /// newfstatat(dirfd, path, buf, flags). Linux: vfs_fstatat()
    static func newfstatat(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = a.int(3)
        guard flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) == 0 else { throw .EINVAL }
        let dentry = try lookup(a.int(0), userPath(a.address(1)), follow: flags & AT_SYMLINK_NOFOLLOW == 0,
                                allowEmpty: flags & AT_EMPTY_PATH != 0)
        return try copyStat(dentry.inode, to: a.address(2))
    }

    /// access(path, mode). Linux: do_faccessat(AT_FDCWD, path, mode, 0)
    static func access(_ a: SyscallArgs) throws(Errno) -> Int {
        try access(dirfd: AT_FDCWD, path: a.address(0), mode: a.int(1), flags: 0)
    }

    /// faccessat(dirfd, path, mode): the system call has no flags argument.
    static func faccessat(_ a: SyscallArgs) throws(Errno) -> Int {
        try access(dirfd: a.int(0), path: a.address(1), mode: a.int(2), flags: 0)
    }

    /// faccessat2(dirfd, path, mode, flags)
    static func faccessat2(_ a: SyscallArgs) throws(Errno) -> Int {
        try access(dirfd: a.int(0), path: a.address(1), mode: a.int(2), flags: a.int(3))
    }

    /// readlink(path, buf, bufsiz). Linux: do_readlinkat(AT_FDCWD, ...)
    static func readlink(_ a: SyscallArgs) throws(Errno) -> Int {
        try readlink(dirfd: AT_FDCWD, path: a.address(0), buffer: a.address(1), size: a.int(2))
    }

    /// readlinkat(dirfd, path, buf, bufsiz)
    static func readlinkat(_ a: SyscallArgs) throws(Errno) -> Int {
        try readlink(dirfd: a.int(0), path: a.address(1), buffer: a.address(2), size: a.int(3))
    }

    /// Copies the x86-64 `struct stat` of `inode` to user memory. Linux: cp_new_stat()
    private static func copyStat(_ inode: Inode, to address: VirtAddr) throws(Errno) -> Int {
        var bytes = [UInt8](repeating: 0, count: KernelStat.byteSize)
        bytes.withUnsafeMutableBytes { inode.stat().write(to: $0.baseAddress!) }
        try bytes.copyOut(to: address)
        return 0
    }

    /// F_OK (0) only checks that the path resolves; R_OK, W_OK, X_OK check
    /// permission (all as root: only EROFS and the exec bits refuse). Linux: do_faccessat()
    private static func access(dirfd: Int, path address: VirtAddr, mode: Int, flags: Int) throws(Errno) -> Int {
        guard mode & ~7 == 0 else { throw .EINVAL }
        guard flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) == 0 else { throw .EINVAL }
        let dentry = try lookup(dirfd, userPath(address), follow: flags & AT_SYMLINK_NOFOLLOW == 0,
                                allowEmpty: flags & AT_EMPTY_PATH != 0)
        try dentry.inode.checkPermission(AccessMask(rawValue: UInt32(mode)), as: .root)
        return 0
    }

    /// A symlink's target (a /proc magic link's text), truncated to `size`
    /// bytes, without a NUL. EINVAL for anything else or a size below 1.
    /// Linux: do_readlinkat()
    private static func readlink(dirfd: Int, path address: VirtAddr, buffer: VirtAddr, size: Int) throws(Errno) -> Int {
        guard size > 0 else { throw .EINVAL }
        let dentry = try lookup(dirfd, userPath(address), follow: false)
        guard let target = try dentry.inode.linkText() else { throw .EINVAL }
        let bytes = Array(target.utf8.prefix(size))
        try bytes.copyOut(to: buffer)
        return bytes.count
    }
}
