// What a file is rather than what it holds: its mode, owner, times and size,
// the file system's totals, and making data durable. Keel runs everything as
// root, so the owner checks all pass; EROFS still refuses.
// Linux: fs/open.c (chmod_common, chown_common, do_sys_truncate,
// do_sys_ftruncate, vfs_fallocate), fs/utimes.c, fs/statfs.c, fs/stat.c
// (statx), fs/sync.c

extension FileSyscalls {
    /// Linux: UTIME_NOW, UTIME_OMIT
    static let UTIME_NOW = (1 << 30) - 1
    static let UTIME_OMIT = (1 << 30) - 2

    /// chmod(path, mode)
    static func chmod(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeMode(lookup(AT_FDCWD, userPath(a.address(0)), follow: true).inode, a.u64(1))
    }

    /// fchmod(fd, mode)
    static func fchmod(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeMode(attributeTarget(a.int(0)), a.u64(1))
    }

    /// fchmodat(dirfd, path, mode): the system call has no flags argument.
    static func fchmodat(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeMode(lookup(a.int(0), userPath(a.address(1)), follow: true).inode, a.u64(2))
    }

    /// Linux: chmod_common() → notify_change()
    private static func changeMode(_ inode: Inode, _ mode: UInt64) throws(Errno) -> Int {
        try checkWritableFileSystem(inode)
        if inode.superBlock.hasFixedAttributes { throw .EPERM }
        inode.permissions = UInt32(truncatingIfNeeded: mode) & 0o7777
        inode.touchChanged()
        try inode.superBlock.operations?.writeAttributes(of: inode)
        return 0
    }

    /// chown(path, uid, gid)
    static func chown(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeOwner(lookup(AT_FDCWD, userPath(a.address(0)), follow: true).inode, a.u64(1), a.u64(2))
    }

    /// lchown(path, uid, gid): a final symlink itself.
    static func lchown(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeOwner(lookup(AT_FDCWD, userPath(a.address(0)), follow: false).inode, a.u64(1), a.u64(2))
    }

    /// fchown(fd, uid, gid)
    static func fchown(_ a: SyscallArgs) throws(Errno) -> Int {
        try changeOwner(attributeTarget(a.int(0)), a.u64(1), a.u64(2))
    }

    /// fchownat(dirfd, path, uid, gid, flags)
    static func fchownat(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = a.int(4)
        guard flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) == 0 else { throw .EINVAL }
        let dentry = try lookup(a.int(0), userPath(a.address(1)), follow: flags & AT_SYMLINK_NOFOLLOW == 0,
                                allowEmpty: flags & AT_EMPTY_PATH != 0)
        return try changeOwner(dentry.inode, a.u64(2), a.u64(3))
    }

    /// -1 leaves an id as it is. Changing the owner of anything but a
    /// directory clears setuid, and setgid when the group may execute.
    /// Linux: chown_common() → notify_change() (ATTR_KILL_SUID, ATTR_KILL_SGID)
    private static func changeOwner(_ inode: Inode, _ uid: UInt64, _ gid: UInt64) throws(Errno) -> Int {
        try checkWritableFileSystem(inode)
        if inode.superBlock.hasFixedAttributes { throw .EPERM }
        let newUID = UInt32(truncatingIfNeeded: uid), newGID = UInt32(truncatingIfNeeded: gid)
        inode.setOwner(uid: newUID == UInt32.max ? inode.uid : newUID, gid: newGID == UInt32.max ? inode.gid : newGID)
        if !inode.isDirectory {
            var permissions = inode.permissions & ~0o4000
            if permissions & 0o010 != 0 { permissions &= ~0o2000 }
            inode.permissions = permissions
        }
        inode.touchChanged()
        try inode.superBlock.operations?.writeAttributes(of: inode)
        return 0
    }

    /// utimensat(dirfd, path, times, flags): a NULL path with a descriptor
    /// sets that file's times (futimens).
    static func utimensat(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = a.int(3)
        guard flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) == 0 else { throw .EINVAL }
        let times = try readTimes(a.address(2), nanoseconds: true)
        let inode: Inode
        if a.address(1).value == 0 {
            guard a.int(0) != AT_FDCWD else { throw .EFAULT }
            inode = try file(a.int(0)).inode
        } else {
            inode = try lookup(a.int(0), userPath(a.address(1)), follow: flags & AT_SYMLINK_NOFOLLOW == 0,
                               allowEmpty: flags & AT_EMPTY_PATH != 0).inode
        }
        return try setTimes(inode, times)
    }

    /// utimes(path, times): struct timeval[2], microseconds.
    static func utimes(_ a: SyscallArgs) throws(Errno) -> Int {
        let times = try readTimes(a.address(1), nanoseconds: false)
        return try setTimes(lookup(AT_FDCWD, userPath(a.address(0)), follow: true).inode, times)
    }

    /// utime(path, times): struct utimbuf {actime, modtime}, whole seconds.
    static func utime(_ a: SyscallArgs) throws(Errno) -> Int {
        var times: (FileTime?, FileTime?)? = nil
        if a.address(1).value != 0 {
            let raw = try userWords(a.address(1), count: 2)
            times = (FileTime(seconds: raw[0]), FileTime(seconds: raw[1]))
        }
        return try setTimes(lookup(AT_FDCWD, userPath(a.address(0)), follow: true).inode, times)
    }

    /// Two timespecs (or timevals) at `address`: nil for NULL (both now); a
    /// nil element for UTIME_OMIT. EINVAL for a fraction out of range.
    /// Linux: do_utimes() with utimes_common()'s UTIME_NOW/UTIME_OMIT
    private static func readTimes(_ address: VirtAddr, nanoseconds: Bool) throws(Errno) -> (FileTime?, FileTime?)? {
        guard address.value != 0 else { return nil }
        let raw = try userWords(address, count: 4)
        func time(_ seconds: Int64, _ fraction: Int64) throws(Errno) -> FileTime? {
            if nanoseconds && fraction == Int64(UTIME_OMIT) { return nil }
            if nanoseconds && fraction == Int64(UTIME_NOW) { return FileTime.now() }
            let limit: Int64 = nanoseconds ? 1_000_000_000 : 1_000_000
            guard fraction >= 0 && fraction < limit else { throw .EINVAL }
            return FileTime(seconds: seconds, nanoseconds: nanoseconds ? fraction : fraction * 1000)
        }
        return (try time(raw[0], raw[1]), try time(raw[2], raw[3]))
    }

    /// `count` 64-bit words from user memory (struct timespec[2] and the like).
    private static func userWords(_ address: VirtAddr, count: Int) throws(Errno) -> [Int64] {
        var bytes = [UInt8](repeating: 0, count: 8 * count)
        try bytes.withMutableBytes { (buffer) throws(Errno) in
            try UserCopy.copyIn(buffer.baseAddress!, from: address, count: buffer.count)
        }
        return bytes.withUnsafeBytes { raw in (0..<count).map { raw.load(fromByteOffset: 8 * $0, as: Int64.self) } }
    }

    /// Linux: vfs_utimes()
    private static func setTimes(_ inode: Inode, _ times: (FileTime?, FileTime?)?) throws(Errno) -> Int {
        try checkWritableFileSystem(inode)
        let now = FileTime.now()
        let (access, modify) = times ?? (now, now)
        if let access { inode.accessTime = access }
        if let modify { inode.modifyTime = modify }
        inode.changeTime = now
        try inode.superBlock.operations?.writeAttributes(of: inode)
        return 0
    }

    /// truncate(path, length). Linux: do_sys_truncate()
    static func truncate(_ a: SyscallArgs) throws(Errno) -> Int {
        let length = Int64(bitPattern: a.u64(1))
        guard length >= 0 else { throw .EINVAL }
        let inode = try lookup(AT_FDCWD, userPath(a.address(0)), follow: true).inode
        if inode.isDirectory { throw .EISDIR }
        guard let contents = inode.contents else { throw .EINVAL }
        try inode.checkPermission(.write, as: .root)
        if inode.isExecuting { throw .ETXTBSY }
        contents.lockForWriting()
        defer { contents.unlockForWriting() }
        try contents.truncate(to: Int(clamping: length))
        inode.touchModified()
        try inode.superBlock.operations?.writeAttributes(of: inode)
        return 0
    }

    /// ftruncate(fd, length). Linux: do_sys_ftruncate()
    static func ftruncate(_ a: SyscallArgs) throws(Errno) -> Int {
        let length = Int64(bitPattern: a.u64(1))
        guard length >= 0 else { throw .EINVAL }
        try file(a.int(0)).truncate(to: length)
        return 0
    }

    /// fallocate(fd, mode, offset, len): mode 0 only (EOPNOTSUPP otherwise).
    /// Linux: vfs_fallocate()
    static func fallocate(_ a: SyscallArgs) throws(Errno) -> Int {
        let mode = a.int(1), offset = Int64(bitPattern: a.u64(2)), length = Int64(bitPattern: a.u64(3))
        guard offset >= 0, length > 0 else { throw .EINVAL }
        let file = try file(a.int(0))
        guard file.writable else { throw .EBADF }
        guard mode == 0 else { throw .EOPNOTSUPP }
        switch file.operations {
        case .regular(let contents):
            guard length <= Int64.max - offset else { throw .EFBIG }
            contents.lockForWriting()
            defer { contents.unlockForWriting() }
            try contents.allocate(offset: Int(clamping: offset), length: Int(clamping: length))
            file.inode.touchModified()
            try file.inode.superBlock.operations?.writeAttributes(of: file.inode)
            return 0
        case .directory: throw .EISDIR
        case .device: throw file.inode.fileType == .fifo ? .ESPIPE : .ENODEV
        case .generated, .special, .path: throw .ENODEV
        }
    }

    /// statfs(path, buf). Linux: user_statfs()
    static func statfs(_ a: SyscallArgs) throws(Errno) -> Int {
        try copyStatfs(lookup(AT_FDCWD, userPath(a.address(0)), follow: true).inode, to: a.address(1))
    }

    /// fstatfs(fd, buf). Linux: fd_statfs()
    static func fstatfs(_ a: SyscallArgs) throws(Errno) -> Int {
        try copyStatfs(file(a.int(0)).inode, to: a.address(1))
    }

    private static func copyStatfs(_ inode: Inode, to address: VirtAddr) throws(Errno) -> Int {
        var bytes = [UInt8](repeating: 0, count: FileSystemStats.byteSize)
        let stats = inode.superBlock.statistics()
        bytes.withUnsafeMutableBytes { stats.write(to: $0.baseAddress!, device: inode.superBlock.device) }
        try bytes.copyOut(to: address)
        return 0
    }

    /// statx(dirfd, path, flags, mask, buf). Linux: do_statx()
    static func statx(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = a.int(2), mask = UInt32(truncatingIfNeeded: a.u64(3))
        let AT_STATX_SYNC_TYPE = 0x6000
        guard flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) == 0,
              flags & AT_STATX_SYNC_TYPE != AT_STATX_SYNC_TYPE, mask & 0x8000_0000 == 0 else { throw .EINVAL }
        let dentry = try lookup(a.int(0), userPath(a.address(1)), follow: flags & AT_SYMLINK_NOFOLLOW == 0,
                                allowEmpty: flags & AT_EMPTY_PATH != 0)
        var bytes = [UInt8](repeating: 0, count: KernelStat.statxByteSize)
        let mountID = UInt64(dentry.inode.superBlock.device.minor)
        bytes.withUnsafeMutableBytes { dentry.inode.stat().writeStatx(to: $0.baseAddress!, mountID: mountID) }
        try bytes.copyOut(to: a.address(4))
        return 0
    }

    /// fsync(fd) and fdatasync(fd): the file's data and its file system's
    /// metadata reach the disk. EINVAL for what cannot be synced (a pipe, a
    /// terminal, a /proc file). Linux: do_fsync() → vfs_fsync_range()
    static func fsync(_ a: SyscallArgs) throws(Errno) -> Int {
        let file = try file(a.int(0))
        switch file.operations {
        case .regular(let contents): try contents.sync()
        case .directory: break
        case .device, .generated, .special, .path: throw file.operations.isPath ? .EBADF : .EINVAL
        }
        try file.inode.superBlock.sync()
        return 0
    }

    /// sync(): every file system. Linux: ksys_sync()
    static func sync(_ a: SyscallArgs) throws(Errno) -> Int {
        FS.syncAll()
        return 0
    }

    /// syncfs(fd): the file system holding `fd`. Linux: SYSCALL_DEFINE1(syncfs)
    static func syncfs(_ a: SyscallArgs) throws(Errno) -> Int {
        try file(a.int(0)).inode.superBlock.sync()
        return 0
    }

    /// The inode behind a descriptor for fchmod/fchown: EBADF for O_PATH.
    private static func attributeTarget(_ fd: Int) throws(Errno) -> Inode {
        let file = try file(fd)
        if file.operations.isPath { throw .EBADF }
        return file.inode
    }

    /// EROFS on a read-only file system (devices and pipes are exempt).
    /// Linux: mnt_want_write()
    private static func checkWritableFileSystem(_ inode: Inode) throws(Errno) {
        if inode.superBlock.isReadOnly { throw .EROFS }
    }
}

extension FileOperations {
    var isPath: Bool {
        if case .path = self { return true }
        return false
    }
}
