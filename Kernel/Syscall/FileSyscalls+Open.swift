// open, openat, creat and close. O_CREAT makes the file under the namespace
// lock, so two creators of one name agree on who made it (O_EXCL).
// Linux: fs/open.c (do_sys_openat2, close_fd) and fs/namei.c (path_openat,
// open_last_lookups, lookup_open)

import Synchronization

extension FileSyscalls {
    /// open(path, flags, mode). Linux: do_sys_open(AT_FDCWD, ...)
    static func open(_ a: SyscallArgs) throws(Errno) -> Int {
        try open(dirfd: AT_FDCWD, path: a.address(0), flags: a.u64(1), mode: a.u64(2))
    }

    /// openat(dirfd, path, flags, mode)
    static func openat(_ a: SyscallArgs) throws(Errno) -> Int {
        try open(dirfd: a.int(0), path: a.address(1), flags: a.u64(2), mode: a.u64(3))
    }

    /// creat(path, mode): open(path, O_CREAT|O_WRONLY|O_TRUNC, mode). Linux: SYSCALL_DEFINE2(creat)
    static func creat(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = OpenFlags([.create, .writeOnly, .truncate]).rawValue
        return try open(dirfd: AT_FDCWD, path: a.address(0), flags: UInt64(flags), mode: a.u64(1))
    }

    /// memfd_create(name, flags): an unnamed tmpfs file, open for reading and
    /// writing, named "memfd:NAME" in /proc/<pid>/fd and maps. MFD_ALLOW_SEALING
    /// lets fcntl(F_ADD_SEALS) seal it; without it the file starts sealed
    /// against sealing. EINVAL for unknown flags, MFD_HUGETLB (Keel has no
    /// hugetlbfs) and names over 249 bytes; EFAULT for a bad name.
    /// Linux: SYSCALL_DEFINE2(memfd_create) (mm/memfd.c)
    static func memfdCreate(_ a: SyscallArgs) throws(Errno) -> Int {
        let MFD_CLOEXEC: UInt64 = 1, MFD_ALLOW_SEALING: UInt64 = 2, MFD_HUGETLB: UInt64 = 4
        let MFD_NOEXEC_SEAL: UInt64 = 8, MFD_EXEC: UInt64 = 0x10
        let flags = a.u64(1) & 0xffff_ffff                     // an unsigned int in Linux
        guard flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) == 0,
              flags & MFD_HUGETLB == 0,
              flags & (MFD_NOEXEC_SEAL | MFD_EXEC) != (MFD_NOEXEC_SEAL | MFD_EXEC) else { throw .EINVAL }
        let name: String
        do {
            name = try UserCopy.readString(at: a.address(0), maxLength: Shmem.memfdNameMax)
        } catch .ENAMETOOLONG {
            throw .EINVAL
        }
        let dentry = Shmem.file(named: "memfd:" + name, size: 0)
        guard let mapping = dentry.inode.mapping else { Panic.now("memfd: a tmpfs file without a page cache") }
        if flags & MFD_NOEXEC_SEAL != 0 {
            dentry.inode.permissions = 0o666
            mapping.seals.store(Seal.exec, ordering: .relaxed)
        } else if flags & MFD_ALLOW_SEALING != 0 {
            mapping.seals.store(0, ordering: .relaxed)
        }
        let file = try OpenFile.open(dentry, flags: [.readWrite, .largeFile])
        return try files.install(file, closeOnExec: flags & MFD_CLOEXEC != 0)
    }

    /// close(fd). Linux: close_fd()
    static func close(_ a: SyscallArgs) throws(Errno) -> Int {
        try files.close(a.int(0))
        return 0
    }

    /// Linux: do_sys_openat2() → do_filp_open() → path_openat()
    private static func open(dirfd: Int, path address: VirtAddr, flags raw: UInt64, mode: UInt64) throws(Errno) -> Int {
        var flags = OpenFlags(rawValue: UInt32(truncatingIfNeeded: raw))
        let path = try userPath(address)
        // O_TMPFILE: an unnamed file; Keel's file systems cannot make one. Linux: EOPNOTSUPP from vfs_tmpfile()
        if flags.contains(.temporary) { throw flags.contains(.directory) ? .EOPNOTSUPP : .EINVAL }
        if flags.contains(.path) { flags = flags.intersection([.path, .directory, .noFollow, .closeOnExec]) }
        let dentry = flags.contains(.create)
            ? try openCreating(dirfd, path, flags: flags, permissions: UInt32(truncatingIfNeeded: mode) & 0o7777)
            : try lookup(dirfd, path, follow: !flags.contains(.noFollow))
        let file = try OpenFile.open(dentry, flags: flags)
        return try files.install(file, closeOnExec: flags.contains(.closeOnExec))
    }

    /// The dentry O_CREAT opens: the existing file (EEXIST with O_EXCL, which
    /// also refuses a final symlink), or a new regular file with `permissions`
    /// less the umask. Linux: open_last_lookups() → lookup_open()
    private static func openCreating(_ dirfd: Int, _ path: String, flags: OpenFlags,
                                     permissions: UInt32) throws(Errno) -> Dentry {
        if PathWalk.hasTrailingSlash(path) { throw .EISDIR }
        let umask = Scheduler.current.fs.umask
        let found = try changing(dirfd, path) { (parent, name) throws(Errno) -> Dentry? in
            guard let name else { throw .EISDIR }
            guard let directory = parent.inode.directory else { throw .ENOTDIR }
            if var existing = try directory.lookup(name) {
                if flags.contains(.exclusive) { throw .EEXIST }
                if existing.isSymlink && !flags.contains(.noFollow) { return nil }    // walked below
                while let mounted = FS.mounts.root(covering: existing) { existing = mounted }
                return parent.child(name, existing)
            }
            let inode = try Namei.create(name, in: parent, .regular, permissions: permissions & ~umask, as: .root)
            return parent.child(name, inode)
        }
        if let found { return found }
        return try lookup(dirfd, path, follow: true)
    }
}
