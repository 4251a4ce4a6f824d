// open, openat and close. Keel's files are all on the read-only rootfs or in
// /proc, so creating a file fails (EROFS, or EACCES in /proc) once the lookup
// has shown that it would have to be created. Linux: fs/open.c
// (do_sys_openat2, close_fd) and fs/namei.c (path_openat, open_last_lookups)

extension FileSyscalls {
    /// open(path, flags, mode). Linux: do_sys_open(AT_FDCWD, ...)
    static func open(_ a: SyscallArgs) throws(Errno) -> Int {
        try open(dirfd: AT_FDCWD, path: a.address(0), flags: a.u64(1))
    }

    /// openat(dirfd, path, flags, mode)
    static func openat(_ a: SyscallArgs) throws(Errno) -> Int {
        try open(dirfd: a.int(0), path: a.address(1), flags: a.u64(2))
    }

    /// close(fd). Linux: close_fd()
    static func close(_ a: SyscallArgs) throws(Errno) -> Int {
        try files.close(a.int(0))
        return 0
    }

    /// Linux: do_sys_openat2() → do_filp_open() → path_openat()
    private static func open(dirfd: Int, path address: VirtAddr, flags raw: UInt64) throws(Errno) -> Int {
        let flags = OpenFlags(rawValue: UInt32(truncatingIfNeeded: raw))
        let path = try userPath(address)
        let exclusive = flags.contains([.create, .exclusive])
        let dentry: Dentry
        do throws(Errno) {
            // O_CREAT|O_EXCL must not follow a final symlink: the name itself must be new.
            dentry = try lookup(dirfd, path, follow: !flags.contains(.noFollow) && !exclusive)
        } catch {
            guard error == .ENOENT, flags.contains(.create) else { throw error }
            throw try creationError(dirfd, path)
        }
        if exclusive { throw .EEXIST }
        let file = try OpenFile.open(dentry, flags: flags)
        return try files.install(file, closeOnExec: flags.contains(.closeOnExec))
    }

    /// Why `path`, which does not exist, cannot be created: ENOENT/ENOTDIR if its
    /// directory does not exist either, EROFS on a read-only file system, EACCES
    /// in a directory that cannot hold new files. Linux: lookup_open()
    private static func creationError(_ dirfd: Int, _ path: String) throws(Errno) -> Errno {
        let start = path.utf8.first == UInt8(ascii: "/") ? FS.root : try lookup(dirfd, ".", follow: true)
        let (directory, _) = try PathWalk.resolveParent(path, root: FS.root, from: start)
        return directory.inode.superBlock.isReadOnly ? .EROFS : .EACCES
    }
}
