// The per-process /proc files: the memory map, and the status and stat views of
// the task. Linux: fs/proc/task_mmu.c (show_map), fs/proc/array.c
// (proc_pid_status, do_task_stat)

enum ProcPidFiles {
    /// Linux: show_map() for each VMA; empty for a process without memory (a zombie)
    static func maps(_ task: Task, into window: inout TextWindow) {
        guard let mm = task.mmReference() else { return }
        mm.mmapLock.withRead {
            mm.vmas.writeProcMaps(context: MapsContext(startBrk: mm.startBrk, brk: mm.brk, startStack: mm.startStack),
                                  files: MappedFileNames(), to: &window)
        }
        mm.put()
    }

    /// Linux: proc_pid_status()
    /// Keel adds the task's scheduling class, WRR weight and CPU (Linux shows
    /// the CPU in /proc/<pid>/stat and the policy through sched_getscheduler).
    static func status(_ task: Task) -> String {
        var text = ""
        info(task).writeStatus(to: &text)
        if let e = Scheduler.entity(of: task) {
            text += "Policy:\t\(e.policy.name)\nWeight:\t\(e.weight.value)\nCpu:\t\(e.cpu)\n"
        }
        return text
    }

    /// Linux: do_task_stat()
    static func stat(_ task: Task) -> String {
        var text = ""
        info(task).writeStat(to: &text)
        return text
    }

    private static func info(_ task: Task) -> ProcTaskInfo {
        let state: ProcTaskState
        switch task.state {
        case .runnable: state = .running
        case .sleeping: state = .sleeping
        case .zombie: state = .zombie
        }
        var memory: ProcTaskMemory? = nil
        if let mm = task.mmReference() {
            memory = mm.mmapLock.withRead {
                ProcTaskMemory(totalPages: mm.vmas.totalVM, residentPages: UInt64(mm.rssPages),
                               startBrk: mm.startBrk, startStack: mm.startStack, lockedPages: mm.vmas.lockedVM)
            }
            mm.put()
        }
        // The process's CPU time: its live and exited threads', and its reaped
        // children's. Linux: thread_group_cputime_adjusted(), signal->cutime
        let (parentPid, threads, exitCode, own, children) = Task.tasklistLock.withLock {
            let leader = task.groupLeader ?? task
            return (task.parent?.tgid ?? 0, max(leader.threads.count, 1), task.exitStatus,
                    task.processTicksLocked(), leader.reapedChildrenTicks)
        }
        return ProcTaskInfo(name: task.commName, state: state, pid: task.pid, tgid: task.tgid,
                            parentPid: parentPid, threads: threads, memory: memory, exitCode: exitCode,
                            userTime: Scheduler.clockTicks(own.user), systemTime: Scheduler.clockTicks(own.system),
                            childrenUserTime: Scheduler.clockTicks(children.user),
                            childrenSystemTime: Scheduler.clockTicks(children.system))
    }
}

/// Names the files behind file-backed VMAs for /proc/<pid>/maps: path, device
/// and inode number. Linux: the vm_file part of show_map_vma()
struct MappedFileNames: MappedFileLookup {
    func mappedFileInfo(_ file: MappedFileID) -> MappedFileInfo {
        guard let name = MappedFiles.name(file) else {
            return MappedFileInfo(path: "(unreachable)", deviceMajor: 0, deviceMinor: 0, inode: file.rawValue)
        }
        let inode = name.inode, device = inode.superBlock.device
        let path = name.path + (inode.nlink == 0 ? " (deleted)" : "")
        return MappedFileInfo(path: path, deviceMajor: device.major, deviceMinor: device.minor, inode: inode.ino)
    }
}
