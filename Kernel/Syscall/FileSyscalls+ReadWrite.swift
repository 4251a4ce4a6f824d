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

    /// sendfile(out_fd, in_fd, offset, count): copies from a regular file (its
    /// page cache) to any file open for writing, a page at a time through a
    /// kernel buffer: no user memory in between. With `offset` the input is
    /// read from *offset, which is updated, and its file offset left alone;
    /// without, its file offset advances by what was written. A short write
    /// ends the copy with the count so far. Linux: do_sendfile() over splice
    static func sendfile(_ a: SyscallArgs) throws(Errno) -> Int {
        let input = try readableFile(a.int(1))
        let output = try writableFile(a.int(0))
        guard case .regular = input.operations else { throw .EINVAL }
        guard !output.flags.contains(.append) else { throw .EINVAL }     // Linux: "the output may not append"
        let offsetPointer = a.address(2)
        let start: Int64
        if offsetPointer.value != 0 {
            start = try UserCopy.read(Int64.self, at: offsetPointer)
            guard start >= 0 else { throw .EINVAL }
        } else {
            start = try input.seek(0, whence: SeekWhence.current.rawValue)
        }
        // A count with the sign bit set is EINVAL; a large one is cut to
        // MAX_RW_COUNT. Linux: rw_verify_area(), do_sendfile()
        guard a.size(3) >= 0 else { throw .EINVAL }
        let count = min(a.size(3), UserIOVector.maxTransfer)
        var total = 0
        try Slab.withBuffer(bytes: Int(pageSize)) { (page) throws(Errno) in
            while total < count {
                if total > 0 && Signals.interrupted(Scheduler.current) { break }
                let piece = UnsafeMutableRawBufferPointer(rebasing: page[0..<min(page.count, count - total)])
                var source = UserIOVector(kernel: piece)
                let read = try input.read(&source, at: start + Int64(total))
                if read == 0 { break }
                var sink = UserIOVector(kernel: UnsafeMutableRawBufferPointer(rebasing: piece[0..<read]))
                let written: Int
                do throws(Errno) {
                    written = try output.write(&sink)
                } catch {
                    if total == 0 { throw error }
                    break
                }
                total += written
                if written < read { break }
            }
        }
        let end = start + Int64(total)
        if offsetPointer.value != 0 {
            try UserCopy.write(end, at: offsetPointer)
        } else {
            _ = try input.seek(end, whence: SeekWhence.set.rawValue)
        }
        return total
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
