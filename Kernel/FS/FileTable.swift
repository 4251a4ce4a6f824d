// The open files of a task: its descriptor table (Kernel/Core/FS) holding open
// files. Threads created with CLONE_FILES share one, possibly running on other
// CPUs; every access holds the big kernel lock, which each method checks (Linux
// has files->file_lock; Keel's finer locking is the SMP locking work). fork
// copies the table, and the copies share the open files themselves, offsets
// included, as Linux's do.
// Linux: struct files_struct (include/linux/fdtable.h), fs/file.c

final class FileTable {
    /// Protected by the big kernel lock (checked on every access).
    private var table: FileDescriptorTable<OpenFile> {
        _read { BigKernelLock.assertHeld("a file table"); yield entries }
        _modify { BigKernelLock.assertHeld("a file table"); yield &entries }
    }
    private var entries = FileDescriptorTable<OpenFile>()

    init() {}

    /// The open file behind `fd`; EBADF if there is none. Linux: fdget()
    func file(_ fd: Int) throws(Errno) -> OpenFile {
        guard let file = table.entry(fd) else { throw .EBADF }
        return file
    }

    /// Installs `file` at the lowest free descriptor not below `minimum`. EMFILE
    /// when all are taken. Linux: get_unused_fd_flags() + fd_install()
    func install(_ file: OpenFile, closeOnExec: Bool, minimum: Int = 0) throws(Errno) -> Int {
        try table.install(file, closeOnExec: closeOnExec, minimum: minimum)
    }

    /// Makes `fd` refer to `file`; what it referred to is closed if that was its
    /// last reference. Linux: do_dup2()
    func replace(_ fd: Int, with file: OpenFile, closeOnExec: Bool) throws(Errno) {
        _ = try table.replace(fd, with: file, closeOnExec: closeOnExec)
    }

    /// Linux: close_fd(); the open file goes away with its last descriptor.
    func close(_ fd: Int) throws(Errno) {
        guard table.remove(fd) != nil else { throw .EBADF }
    }

    func isCloseOnExec(_ fd: Int) -> Bool { table.isCloseOnExec(fd) }
    func setCloseOnExec(_ fd: Int, _ on: Bool) { table.setCloseOnExec(fd, on) }

    /// Linux: dup_fd()
    func copy() -> FileTable {
        let copy = FileTable()
        copy.table = table
        return copy
    }

    /// Closes every close-on-exec descriptor. Linux: do_close_on_exec()
    func closeOnExec() {
        _ = table.removeCloseOnExec()
    }

    /// A table with /dev/console open read-write as 0, 1 and 2, for init.
    /// Linux: console_on_rootfs()
    static func console() -> FileTable {
        let table = FileTable()
        do throws(Errno) {
            let console = try OpenFile.open(FS.lookup("/dev/console", from: FS.root), flags: .readWrite)
            for fd in 0...2 { try table.replace(fd, with: console, closeOnExec: false) }
        } catch {
            Log.warning("Warning: unable to open an initial console (\(error.name)).")
        }
        return table
    }
}
