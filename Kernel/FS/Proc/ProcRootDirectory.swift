// The /proc directory itself: the system-wide files, "self", "sys" (the
// tunables, ProcSysDirectory.swift), and one directory per process (thread-group leader), named by its pid.
// Linux: proc_root_lookup() → proc_pid_lookup(), proc_root_readdir()

final class ProcRootDirectory: FixedDirectory {
    /// The system-wide files, in listing order. Add new /proc files here.
    /// Linux: the proc_create_single() calls of fs/proc/meminfo.c, mm/vmstat.c, ...
    nonisolated(unsafe) private static let files: [(name: String, show: () throws(Errno) -> String)] = [
        ("buddyinfo", ProcSystemFiles.buddyinfo),
        ("meminfo", ProcSystemFiles.meminfo),
        ("mounts", ProcSystemFiles.mounts),
        ("sched_wrr", ProcSystemFiles.schedWRR),
        ("slabinfo", ProcSystemFiles.slabinfo),
        ("swaps", { Swap.procSwaps }),
        ("vmstat", ProcSystemFiles.vmstat),
        ("zoneinfo", ProcSystemFiles.zoneinfo),
    ]
    /// The binary per-frame tables (Kernel/FS/Proc/PageInspectionFiles.swift),
    /// readable by root only as in Linux; listed after the text files.
    private static let tables: [(name: String, table: KPageFile.Table)] = [
        ("kpagecount", .count),
        ("kpageflags", .flags),
        ("kpageorder", .order),
    ]
    private static let firstFileIno: UInt64 = 16
    private static var firstTableIno: UInt64 { firstFileIno + UInt64(files.count) }
    private static let selfIno: UInt64 = 2

    func lookup(_ name: String) -> Inode? {
        if name == "self" {
            // Linux: proc_self_get_link(), which prints the caller's tgid
            return Inode(ino: Self.selfIno, superBlock: ProcFS.superBlock,
                         kind: .symlink(String(Scheduler.current.tgid)), permissions: 0o777)
        }
        if name == "sys" { return ProcSys.root }
        if let index = Self.files.firstIndex(where: { $0.name == name }) {
            return ProcFS.fileInode(ino: Self.firstFileIno + UInt64(index), ProcFS.text(Self.files[index].show))
        }
        if let index = Self.tables.firstIndex(where: { $0.name == name }) {
            return Inode(ino: Self.firstTableIno + UInt64(index), superBlock: ProcFS.superBlock,
                         kind: .special(KPageFile(Self.tables[index].table)), permissions: 0o400)
        }
        guard let pid = ProcFS.number(named: name), pid > 0, Task.lookup(pid: pid) != nil else { return nil }
        return ProcPidDirectory.inode(pid: pid)
    }

    func entries() -> [DirectoryEntry] {
        var entries: [DirectoryEntry] = []
        for (index, file) in Self.files.enumerated() {
            entries.append(DirectoryEntry(name: file.name, ino: Self.firstFileIno + UInt64(index), type: .regular))
        }
        for (index, table) in Self.tables.enumerated() {
            entries.append(DirectoryEntry(name: table.name, ino: Self.firstTableIno + UInt64(index), type: .regular))
        }
        entries.append(DirectoryEntry(name: "self", ino: Self.selfIno, type: .symlink))
        entries.append(DirectoryEntry(name: "sys", ino: ProcSys.ino, type: .directory))
        for task in Task.all where task.pid == task.tgid {
            entries.append(DirectoryEntry(name: String(task.pid), ino: ProcPidDirectory.ino(pid: task.pid), type: .directory))
        }
        return entries
    }
}
