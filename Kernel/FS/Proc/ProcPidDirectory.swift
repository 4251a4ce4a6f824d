// /proc/<pid>: the files about one process. Each file looks the task up again
// when opened, so a process that is gone by then fails the open with ESRCH.
// Linux: proc_pid_lookup(), tgid_base_stuff[] (fs/proc/base.c)

final class ProcPidDirectory: FixedDirectory {
    /// The files of every process directory, in listing order. Linux: tgid_base_stuff[]
    nonisolated(unsafe) private static let files: [(name: String, show: (Task, inout TextWindow) throws(Errno) -> Void)] = [
        ("maps", ProcPidFiles.maps),
        ("numa_maps", ProcPidFiles.numaMaps),
        ("oom_score", { task, window in window.write(ProcPidFiles.oomScore(task)) }),
        ("smaps", ProcPidFiles.smaps),
        ("smaps_rollup", ProcPidFiles.smapsRollup),
        ("stat", { task, window in window.write(ProcPidFiles.stat(task)) }),
        ("status", { task, window in window.write(ProcPidFiles.status(task)) }),
    ]

    let pid: Int32

    private init(pid: Int32) {
        self.pid = pid
    }

    static func ino(pid: Int32) -> UInt64 { UInt64(pid) << 8 }

    /// The directory inode for `pid`. Linux: proc_pid_make_inode()
    static func inode(pid: Int32) -> Inode {
        Inode(ino: ino(pid: pid), superBlock: ProcFS.superBlock, kind: .directory(ProcPidDirectory(pid: pid)),
              permissions: 0o555)
    }

    /// Inode numbers of the entries that are not printed files.
    private var exeIno: UInt64 { Self.ino(pid: pid) + 64 }
    private var netIno: UInt64 { Self.ino(pid: pid) + 65 }
    private var pagemapIno: UInt64 { Self.ino(pid: pid) + 66 }
    private var oomAdjIno: UInt64 { Self.ino(pid: pid) + 67 }
    private var oomScoreAdjIno: UInt64 { Self.ino(pid: pid) + 68 }

    func lookup(_ name: String) -> Inode? {
        if name == "exe" {
            // Linux: proc_exe_link(), the path of mm->exe_file; a process with
            // no mm (a kernel thread, a zombie) has none: ENOENT.
            guard let task = Task.lookup(pid: pid), let mm = task.mmReference() else { return nil }
            defer { mm.put() }
            guard let exe = mm.exeFile else { return nil }
            return Inode(ino: exeIno, superBlock: ProcFS.superBlock, kind: .symlink(exe.path), permissions: 0o777)
        }
        if name == "net" {
            // Keel has no network: the directory is there, as on Linux, and empty.
            return Inode(ino: netIno, superBlock: ProcFS.superBlock, kind: .directory(EmptyDirectory()),
                         permissions: 0o555)
        }
        if name == "fd" { return ProcFdDirectory.inode(pid: pid, kind: .links) }
        if name == "fdinfo" { return ProcFdDirectory.inode(pid: pid, kind: .info) }
        if name == "pagemap" {
            // Linux: proc_pagemap_operations, mode 0400
            return Inode(ino: pagemapIno, superBlock: ProcFS.superBlock, kind: .special(PagemapFile(pid: pid)),
                         permissions: 0o400)
        }
        if name == "oom_adj" || name == "oom_score_adj" {
            // Linux: REG("oom_adj", S_IRUGO|S_IWUSR, ...), REG("oom_score_adj", ...)
            let legacy = name == "oom_adj"
            return Inode(ino: legacy ? oomAdjIno : oomScoreAdjIno, superBlock: ProcFS.superBlock,
                         kind: .special(OOMAdjustFile(pid: pid, kind: legacy ? .legacy : .scoreAdj)), permissions: 0o644)
        }
        guard let index = Self.files.firstIndex(where: { $0.name == name }) else { return nil }
        let pid = self.pid, show = Self.files[index].show
        return ProcFS.fileInode(ino: Self.ino(pid: pid) + UInt64(index) + 1) { (window: inout TextWindow) throws(Errno) in
            guard let task = Task.lookup(pid: pid) else { throw .ESRCH }
            try show(task, &window)
        }
    }

    func entries() -> [DirectoryEntry] {
        [DirectoryEntry(name: "exe", ino: exeIno, type: .symlink), DirectoryEntry(name: "net", ino: netIno, type: .directory),
         DirectoryEntry(name: "pagemap", ino: pagemapIno, type: .regular),
         DirectoryEntry(name: "oom_adj", ino: oomAdjIno, type: .regular),
         DirectoryEntry(name: "oom_score_adj", ino: oomScoreAdjIno, type: .regular),
         DirectoryEntry(name: "fd", ino: ProcFdDirectory.ino(pid: pid, kind: .links), type: .directory),
         DirectoryEntry(name: "fdinfo", ino: ProcFdDirectory.ino(pid: pid, kind: .info), type: .directory)]
            + Self.files.enumerated().map { index, file in
                DirectoryEntry(name: file.name, ino: Self.ino(pid: pid) + UInt64(index) + 1, type: .regular)
            }
    }
}
