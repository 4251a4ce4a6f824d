// /proc/<pid>/fd and /proc/<pid>/fdinfo: one entry per open descriptor of a
// process, named by its number.
//
// fd/N is a magic link (InodeKind.magicLink, followed by PathWalk): readlink
// shows the open file's path as Linux prints it ("/tmp/x", "/tmp/x (deleted)",
// "pipe:[ino]", "/memfd:NAME (deleted)", "/dev/console"), and a path walk
// through it lands on the open file's own dentry, not on that text, so
// opening it opens the same file anew, with the new open's flags and an
// offset of its own, even when no name leads to the file any more. Its mode
// says how the descriptor was opened: r-x for reading, -wx for writing, rwx
// for both, and only for the owner.
//
// fdinfo/N is a text file: the descriptor's offset, flags (with O_CLOEXEC
// when the descriptor has it) and inode number.
//
// Nothing is kept: each lookup, readlink and read asks the process's
// descriptor table again, so a descriptor closed in between is ENOENT, as on
// Linux. The table is found under the task's alloc_lock and read under its
// own file_lock, one after the other; the open file is used with a
// reference taken under it (Linux: fget_task()).
//
// Inode numbers: the two directories are /proc/<pid>'s +67 and +68; an entry
// is 2^44 (fd) or 2^45 (fdinfo) + pid << 12 + N, above every /proc/<pid> number
// (pid << 8 < 2^39); N < 1024 (RLIMIT_NOFILE).
// Linux: fs/proc/fd.c (proc_readfd_common, proc_fd_instantiate,
// tid_fd_update_inode, proc_fd_link, seq_show), fs/d_path.c (d_path, pipefs_dname)

final class ProcFdDirectory: FixedDirectory {
    /// Which of the two directories. Linux: proc_fd_operations, proc_fdinfo_operations
    enum Kind {
        case links, info
    }

    private let pid: Int32
    private let kind: Kind

    private init(pid: Int32, kind: Kind) {
        self.pid = pid
        self.kind = kind
    }

    /// /proc/<pid>/fd (mode 0500) or /proc/<pid>/fdinfo (0555).
    /// Linux: proc_pid_make_inode() for the "fd" and "fdinfo" entries of tgid_base_stuff[]
    static func inode(pid: Int32, kind: Kind) -> Inode {
        Inode(ino: ino(pid: pid, kind: kind), superBlock: ProcFS.superBlock,
              kind: .directory(ProcFdDirectory(pid: pid, kind: kind)), permissions: kind == .links ? 0o500 : 0o555)
    }

    static func ino(pid: Int32, kind: Kind) -> UInt64 { ProcPidDirectory.ino(pid: pid) + (kind == .links ? 67 : 68) }

    private func entryIno(_ fd: Int) -> UInt64 {
        (kind == .links ? 1 << 44 : 1 << 45) | UInt64(pid) << 12 | UInt64(fd)
    }

    /// Linux: proc_lookupfd_common() → proc_fd_instantiate() / proc_fdinfo_instantiate()
    func lookup(_ name: String) -> Inode? {
        guard let number = ProcFS.number(named: name), let task = Task.lookup(pid: pid),
              let found = task.filesReference.fileAndCloseOnExec(Int(number)) else { return nil }
        let fd = Int(number), pid = self.pid
        switch kind {
        case .links:
            return Inode(ino: entryIno(fd), superBlock: ProcFS.superBlock,
                         kind: .magicLink(ProcFdLink(pid: pid, fd: fd)), permissions: Self.linkPermissions(found.0))
        case .info:
            return ProcFS.fileInode(ino: entryIno(fd)) { (window: inout TextWindow) throws(Errno) in
                let (file, closeOnExec) = try ProcFdLink.file(pid: pid, fd: fd)
                window.write(Self.info(file, closeOnExec: closeOnExec))
            }
        }
    }

    /// Linux: proc_readfd_common(), which lists the descriptors lowest first
    func entries() -> [DirectoryEntry] {
        guard let task = Task.lookup(pid: pid) else { return [] }
        return task.filesReference.openDescriptors.map { fd in
            DirectoryEntry(name: String(fd), ino: entryIno(fd), type: kind == .links ? .symlink : .regular)
        }
    }

    /// r-x for a file open for reading, -wx for writing, both for both, none
    /// for O_PATH (neither). Linux: tid_fd_update_inode() from f_mode
    private static func linkPermissions(_ file: OpenFile) -> UInt32 {
        guard !file.flags.contains(.path) else { return 0 }
        return (file.readable ? 0o500 : 0) | (file.writable ? 0o300 : 0)
    }

    /// The text of fdinfo/N. Keel has no mount ids, so Linux's "mnt_id:" line
    /// is left out. Linux: seq_show()
    private static func info(_ file: OpenFile, closeOnExec: Bool) -> String {
        let flags = file.flags.rawValue | (closeOnExec ? OpenFlags.closeOnExec.rawValue : 0)
        return "pos:\t" + Fmt.dec(file.offsetPeek) + "\nflags:\t0" + String(flags, radix: 8)
            + "\nino:\t" + Fmt.dec(file.inode.ino) + "\n"
    }
}

/// /proc/<pid>/fd/N. Linux: proc_fd_link(), proc_pid_readlink()
final class ProcFdLink: MagicLink {
    private let pid: Int32
    private let fd: Int

    init(pid: Int32, fd: Int) {
        self.pid = pid
        self.fd = fd
    }

    /// The open file behind descriptor `fd` of process `pid`, and its
    /// close-on-exec bit; ENOENT if either is gone. Linux: fget_task()
    static func file(pid: Int32, fd: Int) throws(Errno) -> (OpenFile, Bool) {
        guard let task = Task.lookup(pid: pid), let found = task.filesReference.fileAndCloseOnExec(fd) else {
            throw .ENOENT
        }
        return found
    }

    /// The open file's own dentry. Linux: proc_fd_link() → nd_jump_link()
    func target() throws(Errno) -> Dentry {
        try Self.file(pid: pid, fd: fd).0.path
    }

    /// The path as the reader sees it from its root; a pipe (pipefs, which no
    /// path leads to) is "pipe:[ino]". Linux: d_path() with pipefs's d_dname,
    /// pipefs_dname()
    func text() throws(Errno) -> String {
        let file = try Self.file(pid: pid, fd: fd).0
        if case .pipe = file.inode.kind { return "pipe:[" + Fmt.dec(file.inode.ino) + "]" }
        return file.path.displayPath(root: Scheduler.current.fs.root)
    }
}
