// The open files of a task: its descriptor table (Kernel/Core/FS) holding open
// files. Threads created with CLONE_FILES share one, possibly running on other
// CPUs; every access holds the table's `lock`. A lookup hands out a reference
// to the open file, used after the lock is gone (Linux: fget()); a close takes
// the reference out under the lock and lets it go after, since the last
// reference may close a pipe end and wake its peer. fork copies the table, and
// the copies share the open files themselves, offsets included, as Linux's do.
// Linux: struct files_struct (include/linux/fdtable.h), fs/file.c

final class FileTable {
    /// Protected by `lock`.
    private var table = FileDescriptorTable<OpenFile>()
    /// Taken alone or inside nothing but sleeping locks; the table grows (an
    /// allocation) under it. Linux: files_struct.file_lock
    private let lock = SpinLock(FileTable.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&files->file_lock")

    init() {}

    /// The open file behind `fd`, a reference the caller keeps after the lock
    /// is gone; EBADF if there is none. Linux: fdget() / fget()
    func file(_ fd: Int) throws(Errno) -> OpenFile {
        guard let file = lock.withLock({ table.entry(fd) }) else { throw .EBADF }
        return file
    }

    /// Installs `file` at the lowest free descriptor not below `minimum`. EMFILE
    /// when all are taken. Linux: get_unused_fd_flags() + fd_install()
    func install(_ file: OpenFile, closeOnExec: Bool, minimum: Int = 0) throws(Errno) -> Int {
        try lock.withLock { () throws(Errno) in try table.install(file, closeOnExec: closeOnExec, minimum: minimum) }
    }

    /// Makes `fd` refer to `file`; what it referred to is closed if that was its
    /// last reference, after the lock is gone. Linux: do_dup2()
    func replace(_ fd: Int, with file: OpenFile, closeOnExec: Bool) throws(Errno) {
        let old = try lock.withLock { () throws(Errno) in try table.replace(fd, with: file, closeOnExec: closeOnExec) }
        release(old)
    }

    /// Linux: close_fd(); the open file goes away with its last descriptor.
    func close(_ fd: Int) throws(Errno) {
        guard let old = lock.withLock({ table.remove(fd) }) else { throw .EBADF }
        release(old)
    }

    /// The open file behind `fd` and its close-on-exec bit, read together
    /// (/proc/<pid>/fdinfo); nil if `fd` is not open. Linux: fget_task() +
    /// close_on_exec() in seq_show()
    func fileAndCloseOnExec(_ fd: Int) -> (OpenFile, Bool)? {
        lock.withLock { () -> (OpenFile, Bool)? in
            guard let file = table.entry(fd) else { return nil }
            return (file, table.isCloseOnExec(fd))
        }
    }

    /// The open descriptors, lowest first (/proc/<pid>/fd). Linux: proc_readfd_common()
    var openDescriptors: [Int] { lock.withLock { table.openDescriptors } }

    func isCloseOnExec(_ fd: Int) -> Bool { lock.withLock { table.isCloseOnExec(fd) } }
    func setCloseOnExec(_ fd: Int, _ on: Bool) { lock.withLock { table.setCloseOnExec(fd, on) } }

    /// Linux: dup_fd()
    func copy() -> FileTable {
        let copy = FileTable()
        copy.table = lock.withLock { table }
        return copy
    }

    /// Closes every close-on-exec descriptor. Linux: do_close_on_exec()
    func closeOnExec() {
        let closed = lock.withLock { table.removeCloseOnExec() }
        release(closed)
    }

    /// The point where references taken out of the table go, outside the lock:
    /// a last one runs the file's release (a pipe end wakes its peer, under
    /// the pipe's own lock). Linux: fput() after spin_unlock(&files->file_lock)
    private func release<T>(_ references: consuming T) {
        _ = consume references
    }

    /// A table with /dev/console open read-write as 0, 1 and 2, for init.
    /// Linux: console_on_rootfs()
    static func console() -> FileTable {
        let table = FileTable()
        do throws(Errno) {
            let console = try OpenFile.open(FS.lookup("/dev/console", root: FS.root, from: FS.root), flags: .readWrite)
            for fd in 0...2 { try table.replace(fd, with: console, closeOnExec: false) }
        } catch {
            Log.warning("Warning: unable to open an initial console (\(error.name)).")
        }
        return table
    }
}
