// The OOM reaper: a kernel thread that takes an OOM victim's private memory
// right after the kill, as MADV_DONTNEED would, instead of waiting for every
// thread of the victim to reach its exit. A victim thread may be stuck (asleep
// on a lock, or waiting for memory itself, which is why memory ran out), and
// while it is, exit_mmap cannot run; the reaper needs only the victim's
// mmap_lock for reading, taken by try-lock so a holder of the write side never
// blocks it, and retries ten times a tenth of a second apart.
//
// Why a thread and not the killer itself: the killer runs in whatever task
// ran out (a fault, a system call's way out), which may hold locks of its own
// and cannot afford to wait and retry; the reaper holds nothing, sleeps
// between attempts, and the killer is back to waiting for the victim at once.
//
// What is taken: every VMA that is not shared (private anonymous memory, and
// the private mappings of files, whose page-cache pages stay in the cache) and
// not mlocked (VM_LOCKED is a promise that the pages stay). The page tables
// stay: other threads of the victim may still fault under the read side. Then
// the mm is marked (`MM.oomSkip`): the killer may choose another victim if
// memory is still short, without waiting for this one's last thread.
// Linux: mm/oom_kill.c oom_reaper(), oom_reap_task(), oom_reap_task_mm(),
// __oom_reap_task_mm() (Linux 5.x, which skips VM_LOCKED through can_madv_lru_vma())

import Synchronization

enum OOMReaper {
    /// Victims waiting for the reaper, with their mm. Protected by `lock`.
    /// Linux: oom_reaper_list
    nonisolated(unsafe) private static var victims: [(leader: Task, mm: MM)] = []
    /// Linux: oom_reaper_lock
    private static let lock = SpinLock(LockClass("oom_reaper_lock"), disablesInterrupts: false)
    /// Set by `queue`, cleared by the reaper before it looks at `victims`, read
    /// in its sleep's condition: a victim queued between its look and its sleep
    /// is not missed.
    private static let kicked = Atomic<Bool>(false)
    /// The reaper thread, once it runs. Written once at boot.
    nonisolated(unsafe) private static var thread: Task? = nil

    /// Attempts before the reaper gives a victim up. Linux: MAX_OOM_REAP_RETRIES
    static let maxAttempts = 10
    /// Between attempts. Linux: schedule_timeout_idle(HZ/10)
    static let retryNanoseconds: UInt64 = 100_000_000

    /// Starts the reaper; without it OOM victims would keep their memory until
    /// their last thread exits, so failing to start it is a kernel bug.
    /// Linux: oom_init() → kthread_run(oom_reaper, NULL, "oom_reaper")
    static func start() {
        guard KernelThread.start("oom_reaper", { run() }) else { Panic.now("no memory for the oom_reaper thread") }
    }

    /// Hands a freshly killed victim to the reaper. `mm` is the victim's: the
    /// queue keeps the object, not a user reference, so a victim that exits
    /// frees its memory itself, whether the reaper has run or not (see
    /// `reapOnce`). Linux: queue_oom_reaper()
    static func queue(_ leader: Task, _ mm: MM) {
        lock.withLock { victims.append((leader, mm)) }
        kicked.store(true, ordering: .releasing)
        if let thread { Scheduler.wake(thread) }
    }

    /// Linux: oom_reaper()
    private static func run() {
        thread = Scheduler.current
        while true {
            while !Scheduler.sleep(unless: { kicked.load(ordering: .acquiring) }) {}
            kicked.store(false, ordering: .relaxed)
            while let next = lock.withLock({ victims.isEmpty ? nil : victims.removeFirst() }) {
                reap(next.leader, next.mm)
            }
        }
    }

    /// Linux: oom_reap_task()
    private static func reap(_ leader: Task, _ mm: MM) {
        for attempt in 0..<maxAttempts {
            if attempt > 0 {
                let deadline = Clock.monotonicNanoseconds + retryNanoseconds
                while !Scheduler.sleep(until: deadline, unless: { Clock.monotonicNanoseconds >= deadline }) {}
            }
            if reapOnce(leader, mm) { return }
        }
        Log.info("oom_reaper: unable to reap pid:\(leader.pid) (\(leader.commName))")
        // Let the killer go on to another victim. Linux: set_bit(MMF_OOM_SKIP)
        mm.oomSkip = true
    }

    /// How much of a VMA the reaper zaps between two looks at whether the
    /// victim has started its own exit_mmap (1 GiB: one page-directory-pointer
    /// entry's worth, a few hundred page tables at most).
    static let chunkBytes: UInt64 = 1 << 30

    /// One try: false when the mm's mmap_lock is busy.
    ///
    /// The reaper holds the mm object (the queue's reference), never a user
    /// reference: with one, the victim's last mmput would leave exit_mmap to
    /// whoever put last, and a victim reaped by its parent would still hold
    /// all its memory while the reaper walked it. Instead the victim's
    /// exit_mmap takes mmap_lock for writing, so it waits for the pass in
    /// progress, and the pass stops at the next chunk once `users` is 0: the
    /// exiting victim frees the rest itself, before its parent can reap it.
    /// Linux: oom_reap_task_mm() under mmgrab(), and exit_mmap()'s
    /// mmap_write_lock() after MMF_OOM_SKIP
    private static func reapOnce(_ leader: Task, _ mm: MM) -> Bool {
        guard mm.mmapLock.tryLockRead() else { return false }
        defer { mm.mmapLock.unlockRead() }
        if mm.users == 0 || mm.oomSkip { return true }  // exit_mmap has run or is waiting to
        for vma in mm.vmas where !vma.flags.contains(.shared) && !vma.flags.contains(.locked) {
            var start = vma.start
            while start < vma.end {
                if mm.users == 0 { return true }
                let end = min(vma.end, VirtAddr((start.value / chunkBytes + 1) * chunkBytes))
                mm.releaseUserPages(start, end, keepingTables: true)
                start = end
            }
        }
        mm.oomSkip = true
        Log.info(OOMScore.reapedLine(pid: leader.pid, name: leader.commName, rss: mm.rss, pageKiB: Int(pageSize / 1024)))
        return true
    }
}
