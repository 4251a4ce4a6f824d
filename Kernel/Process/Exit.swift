// The end of a task: its address space and files are released, its children
// go to init, and it stays a zombie holding its exit status until the parent
// waits. When init itself exits, Keel powers off.
// Linux: kernel/exit.c do_exit(), exit_notify(), forget_original_parent()

/// A wait status as wait4 reports it. Linux: the exit_code encoding
enum WaitStatus {
    /// exit(code): code in bits 8-15.
    static func exited(_ code: Int) -> Int32 { Int32((code & 0xff) << 8) }
    /// Killed by a signal: its number in bits 0-6.
    static func signaled(_ signal: Int32) -> Int32 { signal & 0x7f }
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
        leader.threads.removeAll { $0 === task }
        if leader.threads.isEmpty {
            processEnded(leader, status: leader.groupExitStatus ?? status)
        }
        // exit_mm(): off this mm's page table first, then the last user frees it.
        MMU.load(KernelPageTable.root)
        if let mm = task.mm {
            mm.deactivate(on: PerCPU.cpu)
            task.mm = nil
            mm.put()
        }
        if task !== leader {
            // A thread is nobody's child: it releases itself (Linux: release_task()
            // from exit_notify() for an autoreaping thread).
            Task.unregister(task)
            task.groupLeader = nil
            task.put()
        }
        task.hasExited = true
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
        let leader = task.groupLeader ?? task
        if leader.groupExitStatus == nil {
            leader.groupExitStatus = status
            for thread in leader.threads where thread !== task { Signals.send(Signal.SIGKILL, to: thread, force: true) }
        }
    }

    /// Kills the current process for a signal whose default action is to terminate.
    static func kill(signal: Int32) -> Never {
        exit(status: WaitStatus.signaled(signal))
    }

    /// The last thread is gone: the process becomes a zombie for its parent to reap,
    /// or, for init, the machine powers off. Linux: exit_notify()
    private static func processEnded(_ leader: Task, status: Int32) {
        leader.exitStatus = status
        if leader.pid == 1 { initExited(status) }
        leader.files = FileTable()          // exit_files()
        reparentChildren(of: leader)
        leader.state = .zombie
        if let parent = leader.parent {
            Signals.send(Signal.SIGCHLD, to: parent)
            // Any thread of the parent may be in wait4. Linux: __wake_up_parent()
            // on signal->wait_chldexit
            for thread in parent.threads { Scheduler.wake(thread) }
        }
    }

    /// Waits for a child in `pid`'s set (wait4's encoding: > 0 one pid, else
    /// any; Keel has no process groups) to become a zombie, and reaps it.
    /// Returns nil for WNOHANG with no zombie yet. Linux: do_wait() → wait_task_zombie()
    static func wait(for pid: Int32, noHang: Bool) throws(Errno) -> (pid: Int32, status: Int32)? {
        let task = Scheduler.current.groupLeader ?? Scheduler.current
        while true {
            let candidates = task.children.filter { pid <= 0 || $0.pid == pid }
            guard !candidates.isEmpty else { throw .ECHILD }
            if let zombie = candidates.first(where: { $0.state == .zombie }) {
                let result = (zombie.pid, zombie.exitStatus)
                releaseTask(zombie, from: task)
                return result
            }
            if noHang { return nil }
            if Signals.interrupted(Scheduler.current) { throw .EINTR }
            Scheduler.sleep()
        }
    }

    /// Frees what is left of a reaped zombie: its pid, its place among its
    /// parent's children, and the parent's reference. Linux: release_task()
    private static func releaseTask(_ zombie: Task, from parent: Task) {
        parent.children.removeAll { $0 === zombie }
        zombie.parent = nil
        zombie.threads.removeAll()
        Task.unregister(zombie)
        zombie.put()
    }

    /// CLONE_CHILD_CLEARTID: zero the tid word and wake one futex waiter, which is
    /// how pthread_join learns a thread has ended. Linux: mm_release()
    private static func clearChildTID(_ task: Task) {
        guard task.clearChildTID.value != 0, let mm = task.mm else { return }
        _ = withUnsafeBytes(of: UInt32(0)) { mm.write($0, at: task.clearChildTID) }
        _ = Futex.wake(key: Futex.key(mm: mm, address: task.clearChildTID, isPrivate: false), count: 1)
    }

    /// Orphans are adopted by init. Linux: forget_original_parent()
    private static func reparentChildren(of task: Task) {
        guard let initTask = Task.initProcess, initTask !== task else { return }
        for child in task.children {
            child.parent = initTask
            initTask.children.append(child)
            for thread in child.threads { thread.parent = initTask }
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
        Console.write("keel: init exited with status \(code)\n")
        PowerOff.now(.normal)
    }
}
