// The out-of-memory killer. When a page fault finds no free frame above the min
// watermark, Keel does what Linux does with nothing left to reclaim: it picks
// the process whose death gives back the most memory, kills it, and lets the
// faulting task retry once the victim's memory is free. The memory below the
// min watermark (the reserve, Kernel/Core/Memory/GFP.swift `memalloc`) is
// kept for the kernel's own metadata, so the victim's exit and every kernel
// structure on the way can still allocate.
// Linux: mm/oom_kill.c out_of_memory(), select_bad_process(), oom_badness(),
// oom_kill_process(); pagefault_out_of_memory()
//
// Faults on several CPUs may run out at once: `oomLock` lets one of them choose
// and kill while the others wait for it, then find the victim already dying.

import Synchronization

enum OOMKiller {
    /// The thread-group leader last killed, until its memory is gone: no second
    /// process dies while the first is still giving memory back. Protected by
    /// `oomLock`. Linux: tsk_is_oom_victim() / oom_victims
    nonisolated(unsafe) private static var victimPID: Int32? = nil
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

    /// A page fault in `task` found no memory. Linux: pagefault_out_of_memory() → out_of_memory()
    static func outOfMemory(faulting task: Task) -> Verdict {
        if Signals.fatalPending(task) { return .killed }
        // Reclaim first: only when it frees nothing does a process die.
        // Linux: __alloc_pages_direct_reclaim() before __alloc_pages_may_oom()
        if Vmscan.tryToFreePages() > 0 { return .retry }
        let verdict = oomLock.withLock { () -> Verdict in
            if victimIsDying { return .retry }
            let leader = Task.tasklistLock.withLock { task.groupLeader ?? task }
            guard let victim = selectVictim() ?? (task.pid == 1 ? nil : leader) else {
                // Only init is left to kill: Linux panics ("no killable processes"); Keel
                // kills init and powers off, which `make run` reports as status 137.
                Console.write("Out of memory and no killable processes: killing init\n")
                task.fatalSignal = Signal.SIGKILL
                return .killed
            }
            kill(victim)
            return victim === leader ? .killed : .retry
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
            guard !victimIsDying, let victim = selectVictim() else { return }
            kill(victim)
        }
    }

    /// True while the last victim still has threads (and so memory) left (oomLock held).
    private static var victimIsDying: Bool {
        guard let pid = victimPID else { return false }
        let alive = Task.tasklistLock.withLock { Task.lookupLocked(pid: pid).map { !$0.threads.isEmpty } ?? false }
        if alive { return true }
        victimPID = nil
        return false
    }

    /// Pages a process would give back by dying: its resident pages and its page
    /// tables. Linux: oom_badness() (rss + swap entries + page-table pages)
    static func badness(_ mm: MM) -> Int {
        mm.rssPages + mm.pageTable.tablePages(below: VirtAddr(KernelLayout.taskSize))
    }

    /// The process with the highest badness, never init and never a process
    /// already dying. Linux: select_bad_process() (init is OOM_SCORE_ADJ_MIN-like, unkillable)
    private static func selectVictim() -> Task? {
        var chosen: Task? = nil
        var chosenPoints = 0
        for task in Task.all where task.pid == task.tgid && task.pid != 1 && !Signals.fatalPending(task) {
            guard let mm = processMM(task) else { continue }
            let points = mm.mmapLock.withRead { badness(mm) }
            mm.put()
            if points > chosenPoints {
                chosen = task
                chosenPoints = points
            }
        }
        return chosen
    }

    /// A reference to the mm of a live process `leader` leads (its own, or
    /// its first thread's once the leader thread has exited), or nil.
    private static func processMM(_ leader: Task) -> MM? {
        let first = Task.tasklistLock.withLock { leader.threads.first }
        return leader.mmReference() ?? first?.mmReference()
    }

    /// SIGKILL to every thread of the victim, and Linux's report line.
    /// Linux: oom_kill_process() → __oom_kill_process()
    private static func kill(_ leader: Task) {
        guard let mm = processMM(leader) else { return }
        let kB = Int(pageSize / 1024)
        let (totalVM, tables) = mm.mmapLock.withRead {
            (Int(mm.vmas.totalVM), mm.pageTable.tablePages(below: VirtAddr(KernelLayout.taskSize)))
        }
        Console.write("Out of memory: Killed process \(leader.pid) (\(leader.commName)) total-vm:\(totalVM * kB)kB, "
                      + "anon-rss:\(mm.rssPages * kB)kB, file-rss:0kB, shmem-rss:0kB, UID:0 "
                      + "pgtables:\(tables * kB)kB oom_score_adj:0\n")
        mm.put()
        VMStat.count(.oomKills)
        victimPID = leader.pid
        Task.tasklistLock.lock()
        for thread in leader.threads {
            thread.fatalSignal = Signal.SIGKILL
            Signals.send(Signal.SIGKILL, to: thread)
        }
        Task.tasklistLock.unlock()
    }
}
