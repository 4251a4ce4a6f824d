// read, write, their positioned forms pread64/pwrite64 and their scatter-gather
// forms readv/writev. Linux: fs/read_write.c

extension FileSyscalls {
    /// read(fd, buf, count). Linux: ksys_read() → vfs_read()
    static func read(_ a: SyscallArgs) throws(Errno) -> Int {
        let file = try readableFile(a.int(0))
        var buffer = try UserIOVector(address: a.address(1), count: a.size(2))
        return try file.read(&buffer)
    }

    /// write(fd, buf, count). Linux: ksys_write() → vfs_write()
    static func write(_ a: SyscallArgs) throws(Errno) -> Int {
        let file = try writableFile(a.int(0))
        var buffer = try UserIOVector(address: a.address(1), count: a.size(2))
        return try file.write(&buffer)
    }

    /// pread64(fd, buf, count, offset): reads at `offset`, leaving the file offset
    /// alone. Linux: ksys_pread64()
    static func pread64(_ a: SyscallArgs) throws(Errno) -> Int {
        let position = Int64(bitPattern: a.u64(3))
        guard position >= 0 else { throw .EINVAL }
        let file = try file(a.int(0))
        guard file.isSeekable else { throw .ESPIPE }
        guard file.readable else { throw .EBADF }
        var buffer = try UserIOVector(address: a.address(1), count: a.size(2))
        return try file.read(&buffer, at: position)
    }

    /// pwrite64(fd, buf, count, offset): writes at `offset`, leaving the file
    /// offset alone (O_APPEND still appends, as on Linux). Linux: ksys_pwrite64()
    static func pwrite64(_ a: SyscallArgs) throws(Errno) -> Int {
        let position = Int64(bitPattern: a.u64(3))
        guard position >= 0 else { throw .EINVAL }
        let file = try file(a.int(0))
        guard file.isSeekable else { throw .ESPIPE }
        guard file.writable else { throw .EBADF }
        var buffer = try UserIOVector(address: a.address(1), count: a.size(2))
        return try file.write(&buffer, at: position)
    }

    /// readv(fd, iov, iovcnt). Linux: do_readv() → vfs_readv()
    static func readv(_ a: SyscallArgs) throws(Errno) -> Int {
        let file = try readableFile(a.int(0))
        var buffer = try UserIOVector(vectorAt: a.address(1), count: a.int(2))
        return try file.read(&buffer)
    }

    /// writev(fd, iov, iovcnt). Linux: do_writev() → vfs_writev()
    static func writev(_ a: SyscallArgs) throws(Errno) -> Int {
        let file = try writableFile(a.int(0))
        var buffer = try UserIOVector(vectorAt: a.address(1), count: a.int(2))
        return try file.write(&buffer)
    }

    /// EBADF unless `fd` is open for reading, checked before the buffer. Linux: FMODE_READ
    private static func readableFile(_ fd: Int) throws(Errno) -> OpenFile {
        let file = try file(fd)
        guard file.readable else { throw .EBADF }
        return file
    }

    /// Linux: FMODE_WRITE
    private static func writableFile(_ fd: Int) throws(Errno) -> OpenFile {
        let file = try file(fd)
        guard file.writable else { throw .EBADF }
        return file
    }
}
