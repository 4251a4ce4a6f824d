// Directories: listing one, and the current directory. Linux: fs/readdir.c
// (getdents64), fs/d_path.c (getcwd), fs/open.c (chdir, fchdir)

extension FileSyscalls {
    /// Largest kernel buffer one getdents64 fills; a bigger user buffer just gets
    /// this much per call.
    static let maxDirentBuffer = 32 * 1024

    /// getdents64(fd, dirp, count): as many whole records as fit; 0 at the end;
    /// EINVAL if not even the next one fits. Linux: ksys_getdents64()
    static func getdents64(_ a: SyscallArgs) throws(Errno) -> Int {
        let file = try file(a.int(0))
        let destination = a.address(1), count = Int(a.u64(2) & 0xffff_ffff)
        guard file.inode.isDirectory else { throw .ENOTDIR }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(min(count, maxDirentBuffer), 1), alignment: 8)
        defer { buffer.deallocate() }
        var writer = DirentWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(count, buffer.count)]))
        try file.readDirectory(into: &writer) { (used) throws(Errno) in
            try UserCopy.copyOut(to: destination, from: UnsafeRawPointer(buffer.baseAddress!), count: used)
        }
        return writer.used
    }

    /// getcwd(buf, size): the path with its NUL; returns its length including
    /// the NUL. ERANGE if it does not fit. Linux: SYSCALL_DEFINE2(getcwd)
    static func getcwd(_ a: SyscallArgs) throws(Errno) -> Int {
        let (root, pwd) = Scheduler.current.fs.rootAndPwd
        var bytes = Array(pwd.path(below: root).utf8)
        bytes.append(0)
        guard bytes.count <= a.size(1) else { throw .ERANGE }
        try bytes.copyOut(to: a.address(0))
        return bytes.count
    }

    /// chdir(path). Linux: SYSCALL_DEFINE1(chdir) → set_fs_pwd()
    static func chdir(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeDirectory(to: lookup(AT_FDCWD, userPath(a.address(0)), follow: true))
    }

    /// fchdir(fd): to the directory open as `fd`. Linux: SYSCALL_DEFINE1(fchdir)
    static func fchdir(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeDirectory(to: file(a.int(0)).path)
    }

    /// ENOTDIR unless a directory; EACCES without search permission.
    private static func changeDirectory(to dentry: Dentry) throws(Errno) -> Int {
        guard dentry.inode.isDirectory else { throw .ENOTDIR }
        try dentry.inode.checkPermission(.exec, as: .root)
        Scheduler.current.fs.pwd = dentry
        return 0
    }
}
