// The out-of-memory killer. When a page fault finds no free frame above the min
// watermark, Keel does what Linux does with nothing left to reclaim: it picks
// the process whose death gives back the most memory, kills it, and lets the
// faulting task retry once the victim's memory is free. The memory below the
// min watermark (the reserve, Kernel/Core/Memory/GFP.swift `memalloc`) is
// kept for the kernel's own metadata, so the victim's exit and every kernel
// structure on the way can still allocate.
//
// The choice is Linux's oom_badness (Kernel/Core/Memory/OOMScore.swift): the
// resident pages, swap entries and page tables of a process, plus its
// oom_score_adj in thousandths of all memory; -1000 is never chosen, nor init,
// nor a kernel thread (they have no pid here). The kill prints Linux's report
// (the "invoked oom-killer" line and the tasks dump at KERN_INFO, the "Killed
// process" line), sends SIGKILL to every thread of the victim and of any other
// process sharing its mm, and hands the victim to the OOM reaper
// (OOMReaper.swift), which takes its private memory at once instead of
// waiting for every thread to reach its exit.
// Linux: mm/oom_kill.c out_of_memory(), select_bad_process(), oom_evaluate_task(),
// oom_badness(), dump_header(), dump_tasks(), oom_kill_process(),
// __oom_kill_process(); pagefault_out_of_memory()
//
// Faults on several CPUs may run out at once: `oomLock` lets one of them choose
// and kill while the others wait for it, then find the victim already dying.

import Synchronization

enum OOMKiller {
    /// The thread-group leader last killed and its mm, until its memory is
    /// gone (its threads have exited, or the reaper has taken the mm): no
    /// second process dies while the first is still giving memory back.
    /// Protected by `oomLock`. Linux: tsk_is_oom_victim() / signal->oom_mm
    nonisolated(unsafe) private static var victim: (pid: Int32, mm: MM)? = nil
    /// One chooser at a time. A sleeping lock: choosing reads every mm under its
    /// mmap_lock. Linux: oom_lock (a mutex)
    private static let oomLock = SleepLock(LockClass("oom_lock", sleeping: true))
    /// Set when the slab layer had to take a page from the reserve: memory is
    /// exhausted even if no page fault has noticed yet. Set under the slab locks,
    /// read on every system call's way out: an atomic flag. Linux: the
    /// reserve's use by __GFP_MEMALLOC requests, which wakes reclaim
    private static let reserveFlag = Atomic<Bool>(false)
    static var reserveInUse: Bool {
        get { reserveFlag.load(ordering: .relaxed) }
        set { reserveFlag.store(newValue, ordering: .relaxed) }
    }

    /// What a task whose allocation failed does next.
    enum Verdict {
        /// Another process is dying for it: retry the access when it has run.
        case retry
        /// The task itself is the victim (it has a fatal signal): give up.
        case killed
    }

    /// The allocation that failed, as the report's first line names it.
    /// Linux: oc->gfp_mask, oc->order
    enum Request {
        /// A user page for a fault. Linux: GFP_HIGHUSER_MOVABLE (0x100cca), order 0
        case userPage
        /// Kernel metadata (the slab dipped into the reserve). Linux: GFP_KERNEL (0xcc0), order 0
        case kernel

        var gfpMask: UInt32 { self == .userPage ? 0x100cca : 0xcc0 }
        var gfpNames: String { self == .userPage ? "GFP_HIGHUSER_MOVABLE" : "GFP_KERNEL" }
    }

    /// A page fault in `task` found no memory. `nodes`: the nodes its memory
    /// policy lets the page come from (nil: any). When they are not all the
    /// machine's, only they count: reclaim shrinks them, free memory means
    /// theirs, and the victim is not a task bound to other nodes, whose
    /// death would give them nothing. Linux: pagefault_out_of_memory() →
    /// out_of_memory() with constrained_alloc()'s CONSTRAINT_MEMORY_POLICY
    static func outOfMemory(faulting task: Task, nodes: NodeMask?) -> Verdict {
        if Signals.fatalPending(task) { return .killed }
        let constraint = nodes.flatMap { NUMA.online.rawValue & ~$0.rawValue == 0 ? nil : $0 }
        // Reclaim first: only when it frees nothing does a process die.
        // Linux: __alloc_pages_direct_reclaim() before __alloc_pages_may_oom()
        // Without free swap only file pages can go, and a task that evicts
        // the program text it runs on, page by page, would never reach the
        // OOM killer: then progress means free memory back above the low
        // watermark, not a few pages. Linux: should_reclaim_retry()'s
        // watermark check
        let free = PageAllocator.freePages(on: constraint)
        let wanted = max(PageAllocator.highWatermarkPages(on: constraint) - free, ScanCounts.swapClusterMax)
        if Vmscan.tryToFreePages(toReclaim: wanted, nodes: constraint) > 0
            && (Swap.hasSwap || PageAllocator.freePages(on: constraint) >= PageAllocator.lowWatermarkPages(on: constraint)) {
            return .retry
        }
        let verdict = oomLock.withLock { () -> Verdict in
            if victimIsDying || memoryCameBack(on: constraint) { return .retry }
            let leader = Task.tasklistLock.withLock { task.groupLeader ?? task }
            guard let chosen = selectVictim(within: constraint) ?? (task.pid == 1 ? nil : leader) else {
                // Only init is left to kill: Linux panics ("System is deadlocked
                // on memory"); Keel kills init and powers off, which `make run`
                // reports as status 137.
                Console.write("Out of memory and no killable processes: killing init\n")
                task.fatalSignal = Signal.SIGKILL
                return .killed
            }
            kill(chosen, invokedBy: task, for: .userPage)
            return chosen === leader ? .killed : .retry
        }
        if verdict == .retry { waitForVictim() }
        return verdict
    }

    /// Sleeps one tick: the victim needs a CPU to exit (yield would not give it
    /// one when nothing else is runnable here). Linux: schedule_timeout_killable(1)
    /// in out_of_memory()
    private static func waitForVictim() {
        let deadline = Clock.monotonicNanoseconds + 1_000_000_000 / UInt64(HZ)
        while !Scheduler.sleep(until: deadline, unless: { Clock.monotonicNanoseconds >= deadline }) {}
    }

    /// Called on the way out of every system call: the slab used the reserve, so
    /// kill before the reserve runs out too.
    static func checkReserve() {
        // A plain load first: this runs on every system call's way out.
        guard reserveFlag.load(ordering: .relaxed), reserveFlag.exchange(false, ordering: .relaxed) else { return }
        oomLock.withLock {
            guard !victimIsDying, !memoryCameBack(on: nil), let chosen = selectVictim(within: nil) else { return }
            kill(chosen, invokedBy: Scheduler.current, for: .kernel)
        }
    }

    /// A page can be had above the min watermark after all (on `nodes`, if
    /// given): an earlier kill (or an exit) gave memory back since this
    /// caller ran out, and nobody needs to die.
    /// Linux: the last get_page_from_freelist() in __alloc_pages_may_oom()
    private static func memoryCameBack(on nodes: NodeMask?) -> Bool {
        let page: PhysAddr?
        if let nodes, let first = (0..<PageAllocator.nodeCount).first(where: { nodes.contains($0) }) {
            page = PageAllocator.allocate(on: NodeChoice(preferred: first, allowed: nodes))
        } else {
            page = PageAllocator.allocate()
        }
        guard let page else { return false }
        PageAllocator.free(page)
        return true
    }

    /// True while the last victim still has threads, and so memory, left and the
    /// reaper has not taken its mm yet (oomLock held). Linux: oom_evaluate_task()
    /// aborting on an OOM victim without MMF_OOM_SKIP
    private static var victimIsDying: Bool {
        guard let (pid, mm) = victim else { return false }
        let alive = Task.tasklistLock.withLock { Task.lookupLocked(pid: pid).map { !$0.threads.isEmpty } ?? false }
        if alive && !mm.oomSkip { return true }
        victim = nil
        return false
    }

    /// Pages a process's death would give back, for /proc/<pid>/oom_score and
    /// the choice: nil for one that is never chosen. The caller holds `mm`'s
    /// mmapLock (its page tables stay put while they are counted).
    /// Linux: oom_badness()
    static func badness(_ mm: MM, adj: Int) -> Int? {
        guard !mm.oomSkip else { return nil }
        return OOMScore.badness(usage(mm), adj: adj, totalPages: totalPages)
    }

    private static func usage(_ mm: MM) -> OOMScore.Usage {
        OOMScore.Usage(residentPages: mm.rssPages, swapEntries: mm.swapEntries, pageTablePages: tablePages(mm))
    }

    /// Linux: mm_pgtables_bytes(mm) / PAGE_SIZE
    private static func tablePages(_ mm: MM) -> Int {
        mm.pageTable.tablePages(below: VirtAddr(KernelLayout.taskSize))
    }

    /// The memory badness is measured against. Linux: totalram_pages() + total_swap_pages
    static var totalPages: Int { PageAllocator.managedPages + Swap.totals.total }

    /// A process's oom_score_adj (kept by its group leader). Linux: signal->oom_score_adj
    static func scoreAdj(_ task: Task) -> Int {
        Task.tasklistLock.withLock { (task.groupLeader ?? task).oomScoreAdj }
    }

    /// The process with the highest badness, never init and never a process
    /// already dying; of equal ones the last in pid order, as Linux's walk keeps
    /// the last. Linux: select_bad_process() → oom_evaluate_task()
    /// With `nodes`, a process whose own policy binds it to other nodes
    /// only is passed over. Linux: oom_cpuset_eligible() → mempolicy_in_oom_domain()
    private static func selectVictim(within nodes: NodeMask?) -> Task? {
        var chosen: Task? = nil
        var chosenPoints = Int.min
        for task in Task.all where task.pid == task.tgid && task.pid != 1 && !Signals.fatalPending(task) {
            if let nodes, let policy = task.allocLock.withLock({ task.memPolicy }), policy.mode == .bind,
               policy.nodes.intersection(nodes).isEmpty { continue }
            guard let mm = processMM(task) else { continue }
            // A vfork child runs on its parent's memory: killing it gives none back.
            // Linux: in_vfork() in oom_badness()
            if Task.tasklistLock.withLock({ task.parent.map { uses(mm, $0) } ?? false }) {
                mm.put()
                continue
            }
            let adj = scoreAdj(task)
            let points = mm.mmapLock.withRead { badness(mm, adj: adj) }
            mm.put()
            if let points, points >= chosenPoints {
                chosen = task
                chosenPoints = points
            }
        }
        return chosen
    }

    /// A reference to the mm of a live process `leader` leads (its own, or
    /// its first thread's once the leader thread has exited), or nil.
    /// Linux: find_lock_task_mm()
    static func processMM(_ leader: Task) -> MM? {
        let first = Task.tasklistLock.withLock { leader.threads.first }
        return leader.mmReference() ?? first?.mmReference()
    }

    /// The report's row for a process. Linux: dump_task(), __oom_kill_process()
    private static func row(_ leader: Task, _ mm: MM) -> OOMScore.TaskRow {
        let (totalVM, tables) = mm.mmapLock.withRead { (Int(mm.vmas.totalVM), tablePages(mm)) }
        return OOMScore.TaskRow(pid: leader.pid, uid: 0, tgid: leader.tgid, totalVMPages: totalVM, rss: mm.rss,
                                pageTableBytes: tables * Int(pageSize), swapEntries: mm.swapEntries, adj: scoreAdj(leader),
                                name: leader.commName)
    }

    /// Who asked and every killable process, before the kill. Linux: dump_header() + dump_tasks()
    private static func dumpHeader(_ task: Task, _ request: Request) {
        Log.warning(OOMScore.invokedLine(name: task.commName, gfpMask: request.gfpMask, gfpNames: request.gfpNames,
                                         order: 0, adj: scoreAdj(task)))
        guard Log.shows(.info) else { return }
        for line in OOMScore.tasksHeading { Log.info(line) }
        for process in Task.all where process.pid == process.tgid && process.pid != 1 {
            guard let mm = processMM(process) else { continue }
            Log.info(OOMScore.taskLine(row(process, mm)))
            mm.put()
        }
    }

    /// The report, SIGKILL to every thread of the victim and of any other
    /// process using its mm, and the victim to the reaper.
    /// Linux: oom_kill_process() → __oom_kill_process()
    private static func kill(_ leader: Task, invokedBy task: Task, for request: Request) {
        guard let mm = processMM(leader) else { return }
        dumpHeader(task, request)
        VMStat.count(.oomKills)
        Log.error(OOMScore.killLine(row(leader, mm), pageKiB: Int(pageSize / 1024)))
        victim = (leader.pid, mm)
        var pinnedByInit = false
        Task.tasklistLock.lock()
        for process in Task.processesLocked where process === leader || uses(mm, process) {
            guard process.pid != 1 else {
                pinnedByInit = true
                continue
            }
            for thread in process.threads {
                thread.fatalSignal = Signal.SIGKILL
                Signals.send(Signal.SIGKILL, to: thread)
            }
        }
        Task.tasklistLock.unlock()
        if pinnedByInit {
            // Init lives on this memory: nothing of it may be taken before the
            // victim's own exit. Linux: can_oom_reap = false, MMF_OOM_SKIP
            mm.oomSkip = true
            Log.info("oom killer \(leader.pid) (\(leader.commName)) has mm pinned by 1 (\(Task.lookup(pid: 1)?.commName ?? "init"))")
        } else {
            OOMReaper.queue(leader, mm)
        }
        mm.put()
    }

    /// `process` (tasklistLock held) runs on `mm`: a vfork child or a
    /// CLONE_VM process, which dies with the victim. Linux: process_shares_mm()
    private static func uses(_ mm: MM, _ process: Task) -> Bool {
        process.threads.contains { thread in thread.allocLock.withLock { thread.mm === mm } }
    }
}
