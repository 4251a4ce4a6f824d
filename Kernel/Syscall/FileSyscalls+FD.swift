// Operations on descriptors themselves: duplicating them, their flags, the
// file offset, access advice and device control. Linux: fs/file.c (dup, dup2, dup3),
// fs/fcntl.c, fs/read_write.c (lseek), mm/fadvise.c, fs/ioctl.c

import Synchronization

extension FileSyscalls {
    /// Linux: F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC and FD_CLOEXEC
    static let F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030
    static let F_ADD_SEALS = 1033, F_GET_SEALS = 1034
    static let FD_CLOEXEC = 1
    /// Linux: FIONBIO, FIONCLEX, FIOCLEX (the ioctls every file understands)
    static let FIONBIO: UInt32 = 0x5421, FIONCLEX: UInt32 = 0x5450, FIOCLEX: UInt32 = 0x5451

    /// dup(fd): the lowest free descriptor, sharing the open file. Linux: ksys_dup()
    static func dup(_ a: SyscallArgs) throws(Errno) -> Int {
        try files.install(file(a.int(0)), closeOnExec: false)
    }

    /// dup2(old, new): dup3 without flags, except that old == new is allowed.
    /// Linux: ksys_dup2()
    static func dup2(_ a: SyscallArgs) throws(Errno) -> Int {
        let old = a.int(0), new = a.int(1)
        if old == new {
            _ = try file(old)
            return new
        }
        return try dup3(old: old, new: new, flags: 0)
    }

    /// dup3(old, new, flags). Linux: ksys_dup3()
    static func dup3(_ a: SyscallArgs) throws(Errno) -> Int {
        try dup3(old: a.int(0), new: a.int(1), flags: a.int(2))
    }

    /// fcntl(fd, cmd, arg). Linux: do_fcntl()
    static func fcntl(_ a: SyscallArgs) throws(Errno) -> Int {
        let fd = a.int(0)
        let file = try file(fd)
        switch a.int(1) {
        case F_DUPFD, F_DUPFD_CLOEXEC:
            let minimum = a.u64(2) & 0xffff_ffff          // an unsigned int in Linux
            guard minimum < FileDescriptorTable<OpenFile>.limit else { throw .EINVAL }
            return try files.install(file, closeOnExec: a.int(1) == F_DUPFD_CLOEXEC, minimum: Int(minimum))
        case F_GETFD:
            return files.isCloseOnExec(fd) ? FD_CLOEXEC : 0
        case F_SETFD:
            files.setCloseOnExec(fd, a.int(2) & FD_CLOEXEC != 0)
            return 0
        case F_GETFL:
            return Int(file.flags.rawValue)
        case F_SETFL:
            file.setStatusFlags(OpenFlags(rawValue: UInt32(truncatingIfNeeded: a.u64(2))), in: OpenFlags.settable)
            return 0
        case F_ADD_SEALS, F_GET_SEALS:
            // Only shmem files have seals. Linux: memfd_fcntl()
            guard case .regular(let mapping) = file.operations, mapping.isShmem else { throw .EINVAL }
            if a.int(1) == F_GET_SEALS { return Int(mapping.seals.load(ordering: .relaxed)) }
            guard file.writable else { throw .EPERM }
            try mapping.addSeals(UInt32(truncatingIfNeeded: a.u64(2)))
            return 0
        default:
            throw .EINVAL
        }
    }

    /// lseek(fd, offset, whence). Linux: ksys_lseek() → vfs_llseek()
    static func lseek(_ a: SyscallArgs) throws(Errno) -> Int {
        Int(try file(a.int(0)).seek(Int64(bitPattern: a.u64(1)), whence: a.int(2)))
    }

    /// Linux: POSIX_FADV_NORMAL ... POSIX_FADV_NOREUSE (0 through 5)
    static let POSIX_FADV_NOREUSE = 5

    /// fadvise64(fd, offset, len, advice): how the program will read the file.
    /// Advice only: EBADF, ESPIPE for a pipe or FIFO, EINVAL for a negative
    /// length or unknown advice, else 0; Keel does no readahead to tune and
    /// keeps no clean pages it could drop early. Linux: ksys_fadvise64_64() →
    /// generic_fadvise()
    static func fadvise64(_ a: SyscallArgs) throws(Errno) -> Int {
        let file = try file(a.int(0))
        guard file.path.inode.fileType != .fifo else { throw .ESPIPE }
        guard Int64(bitPattern: a.u64(2)) >= 0, (0...POSIX_FADV_NOREUSE).contains(a.int(3)) else { throw .EINVAL }
        return 0
    }

    /// ioctl(fd, cmd, arg): the generic commands, then the device's.
    /// Linux: do_vfs_ioctl() → vfs_ioctl()
    static func ioctl(_ a: SyscallArgs) throws(Errno) -> Int {
        let fd = a.int(0), command = UInt32(truncatingIfNeeded: a.u64(1))
        let file = try file(fd)
        switch command {
        case FIOCLEX, FIONCLEX:
            files.setCloseOnExec(fd, command == FIOCLEX)
            return 0
        case FIONBIO:
            let on = try UserCopy.read(Int32.self, at: a.address(2)) != 0
            file.setStatusFlags(on ? .nonBlocking : [], in: .nonBlocking)
            return 0
        default:
            return try file.ioctl(command, argument: a.address(2))
        }
    }

    /// Linux: ksys_dup3() → do_dup2()
    private static func dup3(old: Int, new: Int, flags: Int) throws(Errno) -> Int {
        guard flags & ~Int(OpenFlags.closeOnExec.rawValue) == 0 else { throw .EINVAL }
        guard old != new else { throw .EINVAL }
        guard new >= 0 && new < FileDescriptorTable<OpenFile>.limit else { throw .EBADF }
        try files.replace(new, with: file(old), closeOnExec: flags != 0)
        return new
    }
}
