// An open file: what open(2) creates and file descriptors point to. It records
// how the file was opened and where the next read starts; dup'ed descriptors
// and forked children share it (and so share the offset). What read, write and
// seek do depends on what was opened, decided once at open.
// Linux: struct file (include/linux/fs.h), do_dentry_open(), fs/read_write.c

/// How an open file's operations behave. Linux: file->f_op, chosen at open from the inode
enum FileOperations {
    /// Bytes in memory: read at the offset, seek anywhere.
    case regular(FileData)
    /// getdents64 only; the offset counts entries ("." is 0, ".." is 1).
    /// Linux: dcache_readdir() / proc_readdir()
    case directory(any DirectoryOperations)
    /// A driver; no offset. Linux: the driver's file_operations
    case device(any CharacterDevice)
    /// Text printed anew by every read (/proc), read at the offset.
    /// Linux: seq_read()
    case generated(any GeneratedFile)
}

final class OpenFile {
    /// The name it was opened by: for fchdir, getdents64's ".." and openat. Linux: f_path
    let path: Dentry
    /// Access mode and status flags (O_APPEND, O_NONBLOCK, ...), as F_GETFL shows
    /// them. One word that fcntl(F_SETFL) replaces whole and readers peek at
    /// without a lock, as Linux reads f_flags. Linux: f_flags
    var flags: OpenFlags
    /// Where the next read or write starts: shared by every descriptor and
    /// process this open file was dup'ed or forked into. Protected by
    /// `positionLock`. Linux: f_pos
    var offset: Int64 = 0
    /// Held across a read, seek or getdents that uses `offset`, user copies
    /// included (so two readers sharing the file never read the same bytes).
    /// Devices and pipes have no offset and never take it: a read waiting for
    /// input must not hold up a writer. Linux: f_pos_lock (fdget_pos(), FMODE_ATOMIC_POS)
    let positionLock = SleepLock(OpenFile.positionLockClass)
    static let positionLockClass = LockClass("&f->f_pos_lock", sleeping: true)
    let operations: FileOperations

    private init(path: Dentry, flags: OpenFlags, operations: FileOperations) {
        self.path = path
        self.flags = flags
        self.operations = operations
    }

    var inode: Inode { path.inode }
    /// Most bytes one read of a generated (/proc) file returns: a short count the
    /// reader loops over, as for Linux's seq_file, with no more kernel memory.
    static let maxGeneratedRead = 64 * 1024
    /// Linux: FMODE_READ
    var readable: Bool { flags.allowsRead }
    /// Linux: FMODE_WRITE
    var writable: Bool { flags.allowsWrite }
    /// Has an offset: lseek, pread and pwrite work. Linux: FMODE_LSEEK, FMODE_PREAD, FMODE_PWRITE
    var isSeekable: Bool {
        if case .device = operations { return false }
        return true
    }

    /// Opens the file `path` names, after open(2)'s checks. Everything runs as
    /// root for now. Linux: vfs_open() → do_dentry_open()
    static func open(_ path: Dentry, flags: OpenFlags) throws(Errno) -> OpenFile {
        let inode = path.inode
        try inode.checkOpen(flags, as: .root)
        let operations: FileOperations
        switch inode.kind {
        case .regular(let data):
            operations = .regular(data)
        case .generated(let generator):
            guard !flags.allowsWrite else { throw .EACCES }
            var nothing = TextWindow(start: 0, capacity: 0)
            try generator.generate(into: &nothing)      // ESRCH now for a process already gone
            operations = .generated(generator)
        case .directory(let directory):
            operations = .directory(directory)
        case .characterDevice(let number):
            guard let driver = CharacterDevices.driver(for: number) else { throw .ENXIO }
            operations = .device(driver)
        case .symlink:
            throw .ELOOP
        case .pipe:
            throw .ENXIO
        }
        return OpenFile(path: path, flags: flags.fileStatusFlags, operations: operations)
    }

    /// A file with no name in the tree, driven by `driver` (a pipe end).
    /// Linux: alloc_file_pseudo()
    static func pseudo(_ name: Dentry, flags: OpenFlags, driver: any CharacterDevice) -> OpenFile {
        OpenFile(path: name, flags: flags.fileStatusFlags, operations: .device(driver))
    }

    /// Reads into `buffer` at `position`, or at the file offset (which then
    /// advances) when nil. Linux: vfs_read() → f_op->read / read_iter
    func read(_ buffer: inout UserIOVector, at position: Int64? = nil) throws(Errno) -> Int {
        guard readable else { throw .EBADF }
        switch operations {
        case .regular(let data):
            return try positionLock.withLock { () throws(Errno) in
                try readBytes(&buffer, at: position) { data.bytes(from: $0, count: $1) }
            }
        case .generated(let generator):
            return try positionLock.withLock { () throws(Errno) in try readGenerated(generator, &buffer, at: position) }
        case .directory:
            throw .EISDIR
        case .device(let driver):
            return try driver.read(&buffer, file: self)
        }
    }

    /// One read of a /proc file (positionLock held).
    private func readGenerated(_ generator: any GeneratedFile, _ buffer: inout UserIOVector,
                               at position: Int64?) throws(Errno) -> Int {
        // One read prints the text again and keeps at most this much of it.
        let start = position ?? offset
        guard start < Int64(Int.max / 2) else { return 0 }
        var window = TextWindow(start: Int(start), capacity: min(buffer.remaining, Self.maxGeneratedRead))
        try generator.generate(into: &window)
        return try window.bytes.withBytes { (bytes) throws(Errno) in
            try readBytes(&buffer, at: position) { _, _ in bytes }
        }
    }

    /// Writes from `buffer`. Only devices are writable so far: regular files live
    /// on the read-only rootfs and cannot be opened for writing. Linux: vfs_write()
    func write(_ buffer: inout UserIOVector) throws(Errno) -> Int {
        guard writable else { throw .EBADF }
        guard case .device(let driver) = operations else { throw .EINVAL }
        return try driver.write(&buffer, file: self)
    }

    /// Moves the offset. A regular file can be seeked relative to its end; a
    /// directory or /proc file only from the start or the current offset.
    /// Linux: vfs_llseek() → generic_file_llseek() / dcache_dir_lseek() / seq_lseek() / no_llseek()
    func seek(_ offset: Int64, whence: Int) throws(Errno) -> Int64 {
        var size: Int64? = nil
        switch operations {
        case .device: throw .ESPIPE
        case .regular(let data): size = Int64(data.count)
        case .directory, .generated: break
        }
        return try positionLock.withLock { () throws(Errno) -> Int64 in
            self.offset = try FileOffset.seek(offset, whence: whence, current: self.offset, size: size)
            return self.offset
        }
    }

    /// Fills `writer` with directory entries from the offset on and advances it.
    /// Returns true when the listing is complete (nothing left that did not fit).
    /// Linux: iterate_dir() with filldir64()
    func readDirectory(into writer: inout DirentWriter) throws(Errno) -> Bool {
        guard case .directory(let directory) = operations else { throw .ENOTDIR }
        positionLock.lock()
        defer { positionLock.unlock() }
        let parent = path.parent ?? path
        var listing: [DirectoryEntry] = [
            DirectoryEntry(name: ".", ino: inode.ino, type: .directory),
            DirectoryEntry(name: "..", ino: parent.inode.ino, type: .directory),
        ]
        listing += directory.entries()
        var position = Int(clamping: offset)
        while position < listing.count {
            let entry = listing[position]
            guard writer.append(name: entry.name, ino: entry.ino, type: entry.type, nextOffset: Int64(position + 1))
            else { return false }
            position += 1
            offset = Int64(position)
        }
        return true
    }

    /// Device-specific control; ENOTTY for anything that is not a device.
    /// Linux: vfs_ioctl() → f_op->unlocked_ioctl
    func ioctl(_ command: UInt32, argument: VirtAddr) throws(Errno) -> Int {
        guard case .device(let driver) = operations else { throw .ENOTTY }
        return try driver.ioctl(command, argument: argument, file: self)
    }

    /// Copies bytes that `bytesAt(offset, count)` yields to `buffer`.
    private func readBytes(_ buffer: inout UserIOVector, at position: Int64?,
                           _ bytesAt: (Int, Int) -> UnsafeRawBufferPointer) throws(Errno) -> Int {
        let start = position ?? offset
        guard start < Int64(Int.max) else { return 0 }
        let n = try buffer.copyOut(bytesAt(Int(start), buffer.remaining))
        if position == nil { offset = start + Int64(n) }
        return n
    }
}
