// The end of a task: its address space and files are released, its children
// go to init, and it stays a zombie holding its exit status until the parent
// waits. When init itself exits, Keel powers off. The family links change under
// Task.tasklistLock; a waiting parent sleeps with the two-step sleep, so an
// exit on another CPU between its look and its sleep still wakes it.
// Linux: kernel/exit.c do_exit(), exit_notify(), forget_original_parent()

/// A wait status as wait4 reports it. Linux: the exit_code encoding
enum WaitStatus {
    /// exit(code): code in bits 8-15.
    static func exited(_ code: Int) -> Int32 { Int32((code & 0xff) << 8) }
    /// Killed by a signal: its number in bits 0-6.
    static func signaled(_ signal: Int32) -> Int32 { signal & 0x7f }
    /// Stopped by a signal: 0x7f, and the signal in bits 8-15.
    static func stopped(_ signal: Int32) -> Int32 { 0x7f | (signal & 0xff) << 8 }
    /// Continued by SIGCONT. Linux: 0xffff (W_CONTINUED)
    static let continued: Int32 = 0xffff
}

enum ProcessExit {
    /// exit(): this thread ends; the process ends with its last thread. Linux: do_exit()
    /// (The work is in a function that returns, so no reference to the task is
    /// left in a frame that never does.)
    static func exitThread(status: Int32) -> Never {
        releaseThread(status: status)
        Scheduler.exitCurrent()
    }

    @inline(never)
    private static func releaseThread(status: Int32) {
        let task = Scheduler.current
        let leader = task.groupLeader ?? task
        clearChildTID(task)
        task.completeVforkDone()
        // exit_mm() first, as Linux does: by the time the parent can see a
        // zombie, the memory of its last thread is back. Off this mm's page
        // table first, then the last user frees it.
        MMU.load(KernelPageTable.root)
        if let mm = task.replaceMM(with: nil) {
            mm.deactivate(on: PerCPU.cpu)
            mm.put()
        }
        // exit_files(), exit_fs(): every thread lets go of its tables now, not
        // when its Task object dies, so a pipe end only it held closes at once
        // (and its release, which sleeps for the pipe's mutex, runs here,
        // under no lock). An empty table stands in for Linux's NULL; the swap
        // is under alloc_lock for /proc readers, the old table let go of after it.
        let empty = FileTable()
        let files = task.allocLock.withLock { () -> FileTable in
            let old = task.files
            task.files = empty
            return old
        }
        _ = consume files                   // the last reference (unless a thread shares it) closes them here
        task.fs = FSContext()
        let (lastThread, groupStatus) = Task.tasklistLock.withLock { () -> (Bool, Int32?) in
            leader.threads.removeAll { $0 === task }
            // Its CPU time stays the process's. (A tick that comes between
            // here and its last switch is not counted.) Linux: __exit_signal()
            let ticks = task.cpuTicks
            leader.exitedThreadsTicks = (leader.exitedThreadsTicks.user + ticks.user,
                                         leader.exitedThreadsTicks.system + ticks.system)
            JobControl.threadExitingLocked(task, of: leader)
            return (leader.threads.isEmpty, leader.groupExitStatus)
        }
        if lastThread {
            processEnded(leader, status: groupStatus ?? status)
        }
        Task.tasklistLock.lock()
        task.hasExited = true
        let selfReaping = task !== leader
        if selfReaping {
            // A thread is nobody's child: it releases itself (Linux: release_task()
            // from exit_notify() for an autoreaping thread).
            Task.unregisterLocked(task)
            task.groupLeader = nil
        }
        Task.tasklistLock.unlock()
        if selfReaping { task.put() }
    }

    /// exit_group(), a fatal signal or fault: every thread of the process ends.
    /// Linux: do_group_exit()
    static func exit(status: Int32) -> Never {
        startGroupExit(status: status)
        exitThread(status: status)
    }

    @inline(never)
    private static func startGroupExit(status: Int32) {
        let task = Scheduler.current
        Task.tasklistLock.lock()
        let leader = task.groupLeader ?? task
        if leader.groupExitStatus == nil {
            leader.groupExitStatus = status
            for thread in leader.threads where thread !== task { Signals.send(Signal.SIGKILL, to: thread, force: true) }
        }
        Task.tasklistLock.unlock()
    }

    /// Kills the current process for a signal whose default action is to terminate.
    static func kill(signal: Int32) -> Never {
        exit(status: WaitStatus.signaled(signal))
    }

    /// The last thread is gone: the process becomes a zombie for its parent to reap,
    /// or, for init, the machine powers off. Linux: exit_notify()
    private static func processEnded(_ leader: Task, status: Int32) {
        if leader.pid == 1 { initExited(status) }
        AlarmTimers.cancel(for: leader)
        let leadsSession = Task.tasklistLock.withLock { leader.sid == leader.pid }
        if leadsSession { ConsoleDevice.shared.disassociate(session: leader.pid) }
        Task.tasklistLock.lock()
        leader.exitStatus = status
        reparentChildren(of: leader)
        leader.state = .zombie
        if let parent = leader.parent {
            Signals.send(Signal.SIGCHLD, to: parent)
            // Any thread of the parent may be in wait4. Linux: __wake_up_parent()
            // on signal->wait_chldexit
            for thread in parent.threads { Scheduler.wake(thread) }
        }
        Task.tasklistLock.unlock()
    }

    /// Which children a wait looks at. Linux: enum pid_type of wait_opts (PIDTYPE_MAX for any)
    enum WaitTarget {
        case any
        case pid(Int32)
        /// The children in this process group.
        case group(Int32)
        /// The children in the waiter's own process group.
        case ownGroup
    }

    /// What a wait reports. Linux: wait_opts.wo_flags (WEXITED, WSTOPPED, WCONTINUED, WNOHANG, WNOWAIT)
    struct WaitOptions: OptionSet {
        let rawValue: Int
        static let exited = WaitOptions(rawValue: 1)
        static let stopped = WaitOptions(rawValue: 2)
        static let continued = WaitOptions(rawValue: 4)
        static let noHang = WaitOptions(rawValue: 8)
        /// Report but leave the child as it is (a zombie stays to be reaped).
        static let noWait = WaitOptions(rawValue: 16)
    }

    /// Waits for a child in `target` to exit (and reaps it) or, as `options`
    /// ask, to stop or continue. Returns its pid and a status in wait4's
    /// encoding (WaitStatus), and for a reaped child the CPU time of it and its
    /// reaped children (wait4's rusage), or nil for WNOHANG with nothing to
    /// report yet. Linux: do_wait() → wait_consider_task()
    static func wait(for target: WaitTarget, options: WaitOptions) throws(Errno)
        -> (pid: Int32, status: Int32, ticks: (user: Int, system: Int))? {
        let me = Scheduler.current
        let noHang = options.contains(.noHang)
        var outcome: WaitOutcome = .sleep
        while true {
            // The look happens after the task is marked sleeping: an exit that
            // comes after it wakes the task, which then looks again (and a
            // SIGCHLD that comes with a report finds the report first).
            let looked = Scheduler.sleep(unless: {
                outcome = considerChildren(of: me.groupLeader ?? me, target: target, options: options)
                if case .sleep = outcome { return noHang || Signals.interrupted(me) }
                return true
            })
            guard looked else { continue }
            switch outcome {
            case .noChild: throw .ECHILD
            case .reaped(let zombie, let status, let ticks):
                let reaped = zombie.pid
                zombie.put()                // the parent's reference, outside the lock (it frees the stack)
                return (reaped, status, ticks)
            case .reported(let pid, let status):
                return (pid, status, (0, 0))
            case .sleep:
                if noHang { return nil }
                if Signals.interrupted(me) { throw .ERESTARTSYS }
            }
        }
    }

    /// What one look at a parent's children found.
    private enum WaitOutcome {
        case noChild
        case reaped(Task, status: Int32, ticks: (user: Int, system: Int))
        /// A stop, a continue, or (WNOWAIT) an exit, the child left as it is.
        case reported(pid: Int32, status: Int32)
        case sleep
    }

    /// Under tasklistLock: reaps the first zombie child in `target`, or takes
    /// the first stop or continue report. Linux: wait_consider_task() →
    /// wait_task_zombie(), wait_task_stopped(), wait_task_continued()
    private static func considerChildren(of parent: Task, target: WaitTarget, options: WaitOptions) -> WaitOutcome {
        Task.tasklistLock.lock()
        defer { Task.tasklistLock.unlock() }
        let candidates = parent.children.filter { child in
            switch target {
            case .any: true
            case .pid(let pid): child.pid == pid
            case .group(let pgid): child.pgid == pgid
            case .ownGroup: child.pgid == parent.pgid
            }
        }
        guard !candidates.isEmpty else { return .noChild }
        if options.contains(.exited), let zombie = candidates.first(where: { $0.state == .zombie }) {
            let status = zombie.exitStatus
            if options.contains(.noWait) { return .reported(pid: zombie.pid, status: status) }
            // The child's CPU time and its children's become the parent's
            // children's time. Linux: wait_task_zombie() adding to psig->cutime
            let own = zombie.processTicksLocked(), children = zombie.reapedChildrenTicks
            let ticks = (user: own.user + children.user, system: own.system + children.system)
            parent.reapedChildrenTicks = (parent.reapedChildrenTicks.user + ticks.user,
                                          parent.reapedChildrenTicks.system + ticks.system)
            releaseTask(zombie, from: parent)
            return .reaped(zombie, status: status, ticks: ticks)
        }
        guard options.contains(.stopped) || options.contains(.continued) else { return .sleep }
        for child in candidates where child.state != .zombie {
            let sighand = child.sighand
            let status = sighand.lock.withLock { () -> Int32? in
                let status: Int32
                switch sighand.waitReport {
                case .stopped(let signal) where options.contains(.stopped): status = WaitStatus.stopped(signal)
                case .continued where options.contains(.continued): status = WaitStatus.continued
                default: return nil
                }
                if !options.contains(.noWait) { sighand.waitReport = nil }
                return status
            }
            if let status { return .reported(pid: child.pid, status: status) }
        }
        return .sleep
    }

    /// Unlinks what is left of a reaped zombie: its pid and its place among its
    /// parent's children (tasklistLock held; the caller drops the parent's
    /// reference after it). Linux: release_task()
    private static func releaseTask(_ zombie: Task, from parent: Task) {
        parent.children.removeAll { $0 === zombie }
        zombie.parent = nil
        zombie.threads.removeAll()
        Task.unregisterLocked(zombie)
    }

    /// CLONE_CHILD_CLEARTID: zero the tid word and wake one futex waiter, which is
    /// how pthread_join learns a thread has ended. Linux: mm_release()
    private static func clearChildTID(_ task: Task) {
        guard task.clearChildTID.value != 0, let mm = task.mm else { return }
        _ = withUnsafeBytes(of: UInt32(0)) { mm.write($0, at: task.clearChildTID) }
        _ = Futex.wake(key: Futex.key(mm: mm, address: task.clearChildTID, isPrivate: false), count: 1)
    }

    /// Orphans are adopted by init (tasklistLock held); those that asked for
    /// it (PR_SET_PDEATHSIG) get their signal. Linux: forget_original_parent(),
    /// reparent_leader()
    private static func reparentChildren(of task: Task) {
        guard let initTask = Task.initProcessLocked, initTask !== task else { return }
        for child in task.children {
            child.parent = initTask
            initTask.children.append(child)
            for thread in child.threads {
                thread.parent = initTask
                if thread.parentDeathSignal != 0 {
                    Signals.send(thread.parentDeathSignal, to: thread, info: SignalFrame.Info(code: 0x80))   // SI_KERNEL
                }
            }
        }
        if !task.children.isEmpty { Scheduler.wake(initTask) }
        task.children.removeAll()
    }

    /// Keel's equivalent of Linux's "Attempted to kill init!": report and power off.
    private static func initExited(_ status: Int32) -> Never {
        let code: Int32
        if status & 0x7f == 0 {
            code = (status >> 8) & 0xff
        } else {
            Console.write("keel: init killed by signal \(status & 0x7f) (\(Signal.name(status & 0x7f)))\n")
            code = 128 + (status & 0x7f)
        }
        FS.shutdown()
        Console.write("keel: init exited with status \(code)\n")
        PowerOff.now(.normal)
    }
}
