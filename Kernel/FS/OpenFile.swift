// An open file: what open(2) creates and file descriptors point to. It records
// how the file was opened and where the next read starts; dup'ed descriptors
// and forked children share it (and so share the offset). What read, write and
// seek do depends on what was opened, decided once at open. Threads and forked
// processes use one open file on several CPUs at once: the offset is under the
// file's `positionLock` (a sleeping lock, for files that have an offset), the
// status flags are one atomic word, and everything else is fixed at open.
// Linux: struct file (include/linux/fs.h), do_dentry_open(), fs/read_write.c

import Synchronization

/// How an open file's operations behave. Linux: file->f_op, chosen at open from the inode
enum FileOperations {
    /// A regular file's contents, its page cache: read and write at the
    /// offset, seek anywhere, map.
    case regular(AddressSpace)
    /// getdents64 only; the offset counts entries ("." is 0, ".." is 1).
    /// Linux: dcache_readdir() / proc_readdir()
    case directory(any DirectoryOperations)
    /// A driver; no offset. Linux: the driver's file_operations
    case device(any CharacterDevice)
    /// Text printed anew by every read (/proc), read at the offset.
    /// Linux: seq_read()
    case generated(any GeneratedFile)
    /// A file its subsystem reads and writes itself (pagemap, tracefs), through
    /// a kernel page. Linux: the subsystem's own read and write
    case special(any SpecialFile)
    /// O_PATH: a place in the tree, for fstat, fchdir and *at() calls; no I/O.
    /// Linux: empty_fops with FMODE_PATH
    case path
}

final class OpenFile {
    /// The name it was opened by: for fchdir, getdents64's ".." and openat. Linux: f_path
    let path: Dentry
    /// Access mode and status flags (O_APPEND, O_NONBLOCK, ...), as F_GETFL shows
    /// them: one atomic word. Pipe and console reads and writes peek at
    /// O_NONBLOCK without a lock; fcntl(F_SETFL) and ioctl(FIONBIO),
    /// perhaps on two CPUs at once, change it by compare-and-swap
    /// (`setStatusFlags`), so neither loses the other's change.
    /// Linux: f_flags, changed under f_lock
    private let flagBits: Atomic<UInt32>
    /// Where the next read starts: shared by every descriptor and process this
    /// open file was dup'ed or forked into. Protected by `positionLock`. Linux: f_pos
    private var offset: Int64 = 0
    /// Held across a read, seek or getdents that uses `offset`, user copies
    /// included (so two readers sharing the file never read the same bytes,
    /// and a getdents whose copy fails leaves the offset as it was).
    /// pread has a position of its own and does not take it; devices and pipes
    /// have no offset and never take it: a read waiting for input must not
    /// hold up a writer. Taken before any other lock: inside it come a /proc
    /// file's (tasklist_lock, alloc_lock, mmap_lock while it prints) and
    /// mmap_lock for a fault in the user copy.
    /// Linux: f_pos_lock (fdget_pos(), FMODE_ATOMIC_POS)
    private let positionLock = SleepLock(OpenFile.positionLockClass)
    private static let positionLockClass = LockClass("&f->f_pos_lock", sleeping: true)
    let operations: FileOperations

    private init(path: Dentry, flags: OpenFlags, operations: FileOperations) {
        self.path = path
        flagBits = Atomic(flags.rawValue)
        self.operations = operations
    }

    var inode: Inode { path.inode }
    /// The offset, read without `positionLock` by /proc/<pid>/fdinfo (whose
    /// reader may hold that very lock: it may be reading its own fdinfo). One
    /// aligned word, so the value is an old one or a new one, never torn.
    /// Linux: seq_show()'s unlocked read of f_pos
    var offsetPeek: Int64 { offset }
    var flags: OpenFlags { OpenFlags(rawValue: flagBits.load(ordering: .relaxed)) }
    /// Most bytes one read of a generated (/proc) file returns: a short count the
    /// reader loops over, as for Linux's seq_file, with no more kernel memory.
    static let maxGeneratedRead = 64 * 1024
    /// How much of a /proc file's text a read from its start keeps for the
    /// reads that follow (`readGenerated`); a longer text is printed anew for
    /// each read past it.
    /// It is small (every system-wide /proc text fits) because each open file
    /// may hold one; a reader that reaches the end lets it go.
    static let snapshotLimit = 16 * 1024
    /// The text the last read from offset 0 printed, and whether that was all
    /// of it. Protected by `positionLock`. Linux: seq_file's buf
    private var snapshot: [UInt8]? = nil
    private var snapshotIsWhole = false
    /// Linux: FMODE_READ
    var readable: Bool { flags.allowsRead }
    /// Linux: FMODE_WRITE
    var writable: Bool { flags.allowsWrite }
    /// Has an offset: lseek, pread and pwrite work. Linux: FMODE_LSEEK, FMODE_PREAD, FMODE_PWRITE
    var isSeekable: Bool {
        switch operations {
        case .device, .path: false
        case .special(let file): file.isSeekable
        default: true
        }
    }

    /// Opens the file `path` names, after open(2)'s checks. Everything runs as
    /// root for now. Linux: vfs_open() → do_dentry_open()
    static func open(_ path: Dentry, flags: OpenFlags) throws(Errno) -> OpenFile {
        let inode = path.inode
        if flags.contains(.path) {
            if flags.contains(.directory) && !inode.isDirectory { throw .ENOTDIR }
            return OpenFile(path: path, flags: flags.pathStatusFlags, operations: .path)
        }
        try inode.checkOpen(flags, as: .root)
        let operations: FileOperations
        switch inode.kind {
        case .regular:
            guard let contents = inode.mapping else { Panic.now("open: a regular file without a page cache") }
            // A running program's file. Linux: get_write_access() in do_dentry_open()
            if flags.allowsWrite && inode.isExecuting { throw .ETXTBSY }
            if flags.contains(.truncate) && flags.allowsWrite {
                contents.lockForWriting()
                defer { contents.unlockForWriting() }
                try contents.truncate(to: 0)
                inode.touchModified()
                try inode.superBlock.operations?.writeAttributes(of: inode)
            }
            operations = .regular(contents)
        case .generated(let generator):
            guard !flags.allowsWrite else { throw .EACCES }
            var nothing = TextWindow(start: 0, capacity: 0)
            try generator.generate(into: &nothing)      // ESRCH now for a process already gone
            operations = .generated(generator)
        case .special(let file):
            try file.open(flags: flags)
            operations = .special(file)
        case .directory(let directory):
            operations = .directory(directory)
        case .characterDevice(let number):
            guard let driver = CharacterDevices.driver(for: number) else { throw .ENXIO }
            let file = OpenFile(path: path, flags: flags.fileStatusFlags, operations: .device(driver))
            try driver.open(file: file, flags: flags)
            return file
        case .symlink, .magicLink:
            throw .ELOOP
        case .pipe, .fifo, .blockDevice:
            // Named pipes and opening a disk by its node are not done yet.
            throw .ENXIO
        }
        return OpenFile(path: path, flags: flags.fileStatusFlags, operations: operations)
    }

    /// A file with no name in the tree, driven by `driver` (a pipe end).
    /// Linux: alloc_file_pseudo()
    static func pseudo(_ name: Dentry, flags: OpenFlags, driver: any CharacterDevice) -> OpenFile {
        OpenFile(path: name, flags: flags.fileStatusFlags, operations: .device(driver))
    }

    /// Replaces the status flags in `mask` with those `value` has there, in
    /// one compare-and-swap. Linux: setfl() and ioctl_fionbio() under f_lock
    func setStatusFlags(_ value: OpenFlags, in mask: OpenFlags) {
        var old = flagBits.load(ordering: .relaxed)
        while true {
            let new = (old & ~mask.rawValue) | (value.rawValue & mask.rawValue)
            let (exchanged, seen) = flagBits.compareExchange(expected: old, desired: new, ordering: .relaxed)
            if exchanged { return }
            old = seen
        }
    }

    /// Reads into `buffer` at `position`, or at the file offset (which then
    /// advances) when nil. Linux: vfs_read() → f_op->read / read_iter
    func read(_ buffer: inout UserIOVector, at position: Int64? = nil) throws(Errno) -> Int {
        guard readable else { throw .EBADF }
        switch operations {
        case .regular(let contents):
            return try withOffset(unless: position) { () throws(Errno) in
                try readContents(contents, &buffer, at: position)
            }
        case .generated(let generator):
            return try withOffset(unless: position) { () throws(Errno) in
                try readGenerated(generator, &buffer, at: position)
            }
        case .special(let file):
            if !file.isSeekable && position != nil { throw .ESPIPE }
            try file.checkRead(count: buffer.remaining, at: Int(clamping: position ?? offset))
            if !file.isSeekable { return try readSpecial(file, &buffer, at: 0) }
            return try withOffset(unless: position) { () throws(Errno) in
                try readSpecial(file, &buffer, at: position)
            }
        case .directory:
            throw .EISDIR
        case .device(let driver):
            return try driver.read(&buffer, file: self)
        case .path:
            throw .EBADF
        }
    }

    /// Copies file bytes from the page cache to the user. Linux: filemap_read()
    private func readContents(_ contents: AddressSpace, _ buffer: inout UserIOVector,
                              at position: Int64?) throws(Errno) -> Int {
        let start = position ?? offset
        guard start < Int64(Int.max / 2) else { return 0 }
        let total = try contents.read(to: &buffer, at: Int(start))
        if position == nil { offset = start + Int64(total) }
        return total
    }

    /// Reads a special file through a kernel page, piece by piece: the file
    /// fills the page under its own locks, the user copy (which may fault)
    /// comes after. A stream's read returns what its first piece brought: it
    /// may have waited for it, and must not wait again with bytes in hand.
    /// Linux: pagemap_read()'s and tracing_read_pipe()'s kernel buffer
    private func readSpecial(_ file: any SpecialFile, _ buffer: inout UserIOVector,
                             at position: Int64?) throws(Errno) -> Int {
        let nonBlocking = flags.contains(.nonBlocking)
        let (total, end) = try Self.copyOut(to: &buffer, from: position ?? offset, onePiece: !file.isSeekable) {
            (piece, at) throws(Errno) in try file.read(into: piece, at: at, nonBlocking: nonBlocking)
        }
        if position == nil && file.isSeekable { offset = end }
        return total
    }

    /// The loop of every read through a kernel page: `fill` puts the bytes at
    /// a file position into the page, which is then copied to the user, until
    /// the buffer is full, the file ends, a copy faults or a signal comes (after
    /// some bytes). Returns the bytes copied and the position after them.
    private static func copyOut(to buffer: inout UserIOVector, from position: Int64, onePiece: Bool,
                                _ fill: (UnsafeMutableRawBufferPointer, Int) throws(Errno) -> Int) throws(Errno) -> (Int, Int64) {
        try Slab.withBuffer(bytes: Int(pageSize)) { (bounce) throws(Errno) -> (Int, Int64) in
            var start = position
            var total = 0
            while buffer.remaining > 0 && start < Int64(Int.max / 2) {
                if total > 0 && Signals.interrupted(Scheduler.current) { break }
                let n = try fill(UnsafeMutableRawBufferPointer(rebasing: bounce[0..<min(bounce.count, buffer.remaining)]), Int(start))
                if n == 0 { break }
                let copied = try buffer.copyOut(UnsafeRawBufferPointer(rebasing: bounce[0..<n]))
                total += copied
                start += Int64(copied)
                if copied < n || onePiece { break }
                Scheduler.condResched()
            }
            return (total, start)
        }
    }

    /// The loop of every write through a kernel page: a page of the user's
    /// bytes at a time goes to `take`, which says how many it kept, until the
    /// buffer is empty, `take` keeps less or fails (after some bytes: a short
    /// count), a copy faults or a signal comes. Returns the bytes written and
    /// the position after them.
    private static func copyIn(from buffer: inout UserIOVector, to position: Int64,
                               _ take: (UnsafeRawBufferPointer, Int) throws(Errno) -> Int) throws(Errno) -> (Int, Int64) {
        try Slab.withBuffer(bytes: Int(pageSize)) { (bounce) throws(Errno) -> (Int, Int64) in
            var start = position
            var total = 0
            while buffer.remaining > 0 {
                if total > 0 && Signals.interrupted(Scheduler.current) { break }
                let n = try buffer.copyIn(UnsafeMutableRawBufferPointer(rebasing: bounce[0..<min(bounce.count, buffer.remaining)]))
                if n == 0 { break }
                let taken: Int
                do throws(Errno) {
                    taken = try take(UnsafeRawBufferPointer(rebasing: bounce[0..<n]), Int(start))
                } catch {
                    if total == 0 { throw error }
                    break
                }
                total += taken
                start += Int64(taken)
                if taken < n { break }
                Scheduler.condResched()
            }
            return (total, start)
        }
    }

    /// Writes to a special file: one page of the user's bytes at a time, each
    /// handed to the file, which says how much it took.
    /// Linux: the subsystem's write(), which copies from the user itself
    private func writeSpecial(_ file: any SpecialFile, _ buffer: inout UserIOVector,
                              at position: Int64?) throws(Errno) -> Int {
        let (total, end) = try Self.copyIn(from: &buffer, to: file.isSeekable ? position ?? offset : 0) {
            (bytes, at) throws(Errno) in try file.write(from: bytes, at: at)
        }
        if position == nil && file.isSeekable { offset = end }
        return total
    }

    /// Copies user bytes into the file's page cache, holding the file's writer
    /// lock throughout (an O_APPEND write finds the end and writes there as
    /// one step). A full file system after some bytes is a short count.
    /// Linux: generic_file_write_iter() under inode_lock()
    private func writeContents(_ contents: AddressSpace, _ buffer: inout UserIOVector,
                               at position: Int64?) throws(Errno) -> Int {
        contents.lockForWriting()
        defer { contents.unlockForWriting() }
        let start = flags.contains(.append) ? Int64(contents.size) : position ?? offset
        guard start <= Int64(Int.max / 2) else { throw .EFBIG }
        let total = try contents.write(from: &buffer, at: Int(start))
        if position == nil { offset = start + Int64(total) }
        if total > 0 {
            inode.touchModified()
            // The bytes are written; a failure to record the time is the file
            // system's to report (ext2 logs it), not a reason to fail the write.
            do throws(Errno) {
                try inode.superBlock.operations?.writeAttributes(of: inode)
            } catch {
                Log.error("write: inode \(inode.ino): mtime not recorded (\(error.name))")
            }
        }
        return total
    }

    /// Runs `body` holding `positionLock` when it uses the offset (`position`
    /// nil); a read at a position of its own (pread) leaves the offset alone
    /// and takes no lock. Linux: fdget_pos() for read(), fdget() for pread64()
    private func withOffset<R>(unless position: Int64?, _ body: () throws(Errno) -> R) throws(Errno) -> R {
        if position != nil { return try body() }
        return try positionLock.withLock(body)
    }

    /// One read of a /proc file (positionLock held unless `position` is given).
    /// A read from the start prints the text and keeps up to `snapshotLimit`
    /// bytes of it; the reads that follow it continue in that same text, so a
    /// reader taking a file in small pieces never joins the head of one
    /// printing to the tail of another (a /proc/sched_wrr that changed between
    /// two reads). Past the kept part, and for pread, each read prints the
    /// text anew and keeps its window of it.
    /// Linux: seq_read(), whose buffer outlives the read that filled it
    private func readGenerated(_ generator: any GeneratedFile, _ buffer: inout UserIOVector,
                               at position: Int64?) throws(Errno) -> Int {
        let start = position ?? offset
        guard start < Int64(Int.max / 2) else { return 0 }
        if position == nil {
            if start == 0 {
                var window = TextWindow(start: 0, capacity: Self.snapshotLimit)
                try generator.generate(into: &window)
                snapshot = window.bytes
                snapshotIsWhole = window.written <= Self.snapshotLimit
            }
            if let text = snapshot, start < Int64(text.count) || snapshotIsWhole {
                let from = min(Int(start), text.count)
                let n = try text.withBytes { (bytes) throws(Errno) in
                    try readBytes(&buffer, at: nil) { _, count in
                        UnsafeRawBufferPointer(rebasing: bytes[from..<min(from + count, text.count)])
                    }
                }
                if n == 0 { snapshot = nil }
                return n
            }
        }
        // One read prints the text again and keeps at most this much of it.
        var window = TextWindow(start: Int(start), capacity: min(buffer.remaining, Self.maxGeneratedRead))
        try generator.generate(into: &window)
        return try window.bytes.withBytes { (bytes) throws(Errno) in
            try readBytes(&buffer, at: position) { _, _ in bytes }
        }
    }

    /// Writes from `buffer` at `position`, or at the file offset (which then
    /// advances) when nil; O_APPEND writes at the end either way, as on Linux.
    /// Linux: vfs_write() → f_op->write_iter
    func write(_ buffer: inout UserIOVector, at position: Int64? = nil) throws(Errno) -> Int {
        guard writable else { throw .EBADF }
        switch operations {
        case .regular(let contents):
            return try withOffset(unless: position) { () throws(Errno) in
                try writeContents(contents, &buffer, at: position)
            }
        case .device(let driver):
            return try driver.write(&buffer, file: self)
        case .special(let file):
            if !file.isSeekable {
                if position != nil { throw .ESPIPE }
                return try writeSpecial(file, &buffer, at: nil)
            }
            return try withOffset(unless: position) { () throws(Errno) in
                try writeSpecial(file, &buffer, at: position)
            }
        case .directory:
            throw .EISDIR
        case .generated, .path:
            throw .EINVAL
        }
    }

    /// ftruncate's work: the file must be open for writing. Linux: do_sys_ftruncate()
    func truncate(to size: Int64) throws(Errno) {
        guard size >= 0 else { throw .EINVAL }
        guard case .regular(let contents) = operations, writable else { throw .EINVAL }
        guard !flags.contains(.append) else { throw .EPERM }
        contents.lockForWriting()
        defer { contents.unlockForWriting() }
        try contents.truncate(to: Int(clamping: size))
        inode.touchModified()
        try inode.superBlock.operations?.writeAttributes(of: inode)
    }

    /// Moves the offset. A regular file can be seeked relative to its end; a
    /// directory or /proc file only from the start or the current offset.
    /// Linux: vfs_llseek() → generic_file_llseek() / dcache_dir_lseek() / seq_lseek() / no_llseek()
    func seek(_ offset: Int64, whence: Int) throws(Errno) -> Int64 {
        var size: Int64? = nil
        switch operations {
        case .device, .path: throw .ESPIPE
        case .special(let file) where !file.isSeekable: throw .ESPIPE
        case .special: break
        case .regular(let contents): size = Int64(contents.size)
        case .directory, .generated: break
        }
        return try positionLock.withLock { () throws(Errno) -> Int64 in
            self.offset = try FileOffset.seek(offset, whence: whence, current: self.offset, size: size)
            return self.offset
        }
    }

    /// getdents64's work: fills `writer` with directory entries from the offset
    /// on, hands the bytes filled to `copyOut` (to user memory) and only then
    /// advances the offset past them, all under `positionLock`, so callers
    /// sharing the file never list the same entries twice and a failed copy
    /// leaves the offset as it was. EINVAL when not even the next entry fits.
    /// Linux: iterate_dir() with filldir64(), under fdget_pos()
    func readDirectory(into writer: inout DirentWriter, copyOut: (Int) throws(Errno) -> Void) throws(Errno) {
        guard case .directory(let directory) = operations else { throw .ENOTDIR }
        positionLock.lock()
        defer { positionLock.unlock() }
        let parent = path.parent ?? path
        var listing: [DirectoryEntry] = [
            DirectoryEntry(name: ".", ino: inode.ino, type: .directory),
            DirectoryEntry(name: "..", ino: parent.inode.ino, type: .directory),
        ]
        FS.lock.lockRead()
        defer { FS.lock.unlockRead() }
        listing += try directory.entries()
        var position = Int(clamping: offset)
        while position < listing.count {
            let entry = listing[position]
            guard writer.append(name: entry.name, ino: entry.ino, type: entry.type, nextOffset: Int64(position + 1))
            else { break }
            position += 1
        }
        if writer.used == 0 {
            if position < listing.count { throw .EINVAL }
            return
        }
        try copyOut(writer.used)
        offset = Int64(position)
    }

    /// Device-specific control; ENOTTY for anything that is not a device.
    /// Linux: vfs_ioctl() → f_op->unlocked_ioctl
    func ioctl(_ command: UInt32, argument: VirtAddr) throws(Errno) -> Int {
        guard case .device(let driver) = operations else { throw .ENOTTY }
        return try driver.ioctl(command, argument: argument, file: self)
    }

    /// Which operations would not block (Kernel/FS/Poll.swift). Files in
    /// memory, directories and /proc files are always ready.
    /// Linux: vfs_poll(), DEFAULT_POLLMASK
    func poll(table: PollTable?) -> PollEvents {
        guard case .device(let driver) = operations else { return .neverBlocks }
        return driver.poll(file: self, table: table)
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
