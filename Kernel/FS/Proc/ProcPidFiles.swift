// The per-process /proc files: the memory map and the counts of its pages
// (smaps, smaps_rollup: the page walk here, the arithmetic and the layout in
// Kernel/Core/VM/ProcSmaps.swift), and the status and stat views of the task.
// Linux: fs/proc/task_mmu.c (show_map, show_smap, show_smaps_rollup),
// fs/proc/array.c (proc_pid_status, do_task_stat)

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

    /// Each region's maps line and the counts of its pages. Each read prints
    /// the text again into the reader's window, so only the regions in the
    /// window are walked: one wholly before it is skipped by its length (which
    /// does not depend on its counts), and printing stops once the text runs
    /// past the window (at open, which only checks the process is there,
    /// nothing is walked). Empty for a process without memory, as maps.
    /// Linux: show_smap() for each VMA (seq_file resumes at the VMA instead)
    static func smaps(_ task: Task, into window: inout TextWindow) {
        guard let mm = task.mmReference() else { return }
        defer { mm.put() }
        mm.mmapLock.withRead {
            let context = MapsContext(startBrk: mm.startBrk, brk: mm.brk, startStack: mm.startStack)
            let files = MappedFileNames()
            for vma in mm.vmas {
                guard !window.isFull else { break }
                if let length = vma.smapsLength(context: context, files: files), window.written + length <= window.start {
                    window.skip(length)
                    continue
                }
                var stats = MemorySizeStats()
                gatherStats(mm, vma, into: &stats)
                vma.writeSmaps(stats, context: context, files: files, to: &window)
            }
        }
    }

    /// The counts of every region together, under one header line from the
    /// first region's start to the last one's end. ESRCH for a process without
    /// memory (Linux fails the read, Keel already the open).
    /// Linux: show_smaps_rollup()
    static func smapsRollup(_ task: Task, into window: inout TextWindow) throws(Errno) {
        guard let mm = task.mmReference() else { throw .ESRCH }
        defer { mm.put() }
        guard !window.isFull else { return }
        mm.mmapLock.withRead {
            var stats = MemorySizeStats()
            var first: VirtAddr? = nil, last = VirtAddr(0)
            for vma in mm.vmas {
                if first == nil { first = vma.start }
                last = vma.end
                gatherStats(mm, vma, into: &stats)
            }
            stats.writeRollup(start: first ?? VirtAddr(0), end: last, to: &window)
        }
    }

    /// Adds every resident page of `vma` to `stats`. The caller holds mmap_lock
    /// for reading; the page-table lock is held over the region's walk, so no
    /// fault changes a PTE, and no page leaves, while it is counted. The zero
    /// page is no page of the process's (not in Rss). Linux: smap_gather_stats()
    /// → walk_page_vma() → smaps_pte_entry() with vm_normal_page()
    private static func gatherStats(_ mm: MM, _ vma: VMA, into stats: inout MemorySizeStats) {
        mm.pageTableLock.withLock {
            mm.pageTable.forEachLeaf(in: vma.start..<vma.end) { leaf in
                var virt = max(leaf.virt, vma.start)
                let leafEnd = min(leaf.virt + leaf.size.bytes, vma.end)
                let pte = leaf.entry.flags, locked = vma.flags.contains(.locked)
                while virt < leafEnd {
                    let frame = leaf.entry.frame + (virt - leaf.virt)
                    if frame != ZeroPage.frame {
                        let flags = PageAllocator.page(frame).pointee.flags
                        stats.account(SmapsPage(mapcount: MapCount.mappers(frame), isAnonymous: flags.contains(.anon),
                                                isSwapBacked: flags.contains(.swapBacked),
                                                isDirty: pte.contains(.dirty) || flags.contains(.dirty),
                                                isYoung: pte.contains(.accessed), isLocked: locked))
                    }
                    virt = virt + pageSize
                }
            }
            // A page being migrated is in no slot and left out for that moment.
            mm.pageTable.forEachSwapEntry(in: vma.start..<vma.end) { _, pte in
                guard let swap = pte.swapEntry, swap.isSwap else { return }
                stats.accountSwap(slotReferences: Swap.references(swap))
            }
        }
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
                ProcTaskMemory(totalPages: mm.vmas.totalVM, rss: mm.rss,
                               startBrk: mm.startBrk, startStack: mm.startStack, lockedPages: mm.vmas.lockedVM,
                               swapPages: UInt64(mm.swapEntries))
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
        var info = ProcTaskInfo(name: task.commName, state: state, pid: task.pid, tgid: task.tgid,
                                parentPid: parentPid, threads: threads, memory: memory, exitCode: exitCode,
                                userTime: Scheduler.clockTicks(own.user), systemTime: Scheduler.clockTicks(own.system),
                                childrenUserTime: Scheduler.clockTicks(children.user),
                                childrenSystemTime: Scheduler.clockTicks(children.system))
        // Keel has no cpusets: every online node is allowed.
        if let e = Scheduler.entity(of: task) {
            info.allowed = (cpus: CPUMask(rawValue: e.allowedCPUs.rawValue & Scheduler.onlineMask),
                            cpuBits: Scheduler.cpuCount, nodes: NUMA.online)
        }
        return info
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
