// Job control: a stop signal (SIGSTOP, or SIGTSTP/SIGTTIN/SIGTTOU from the
// terminal) whose action is the default stops every thread of the process
// until a SIGCONT; the parent learns of both through SIGCHLD and
// wait4(WUNTRACED / WCONTINUED). A stopped thread sleeps here, on its way back
// to user mode, until SIGCONT clears the group's stop or SIGKILL comes.
//
// The state is the thread group's (SignalHandlers.stopSignal, waitReport,
// continuePending, stopsAwaited, stoppedThreads) under its siglock. The thread
// that takes the stop signal stops the group and wakes the other threads; they
// stop on their next way out of the kernel (a thread asleep in a system call
// gives it up, as for a signal, to run it again). The last one to stop (or to
// exit) tells the parent. Linux: kernel/signal.c do_signal_stop(),
// do_jobctl_trap(), do_notify_parent_cldstop(), prepare_signal()

enum JobControl {
    /// si_code of a SIGCHLD. Linux: CLD_STOPPED, CLD_CONTINUED
    static let CLD_STOPPED: Int32 = 5, CLD_CONTINUED: Int32 = 6

    /// The current thread stops for `signal` (0: it joins a stop another thread
    /// of its group began) and returns once continued or killed. The parent
    /// hears of the stop when the group's last thread has stopped.
    /// Linux: do_signal_stop()
    static func stop(_ signal: Int32) {
        let task = Scheduler.current
        let sighand = task.signals
        let process = ProcessGroups.process(of: task)
        Task.tasklistLock.lock()                        // for the threads and the parent; before the siglock
        let groupStopped = sighand.lock.withLock { () -> Bool in
            if signal != 0 && sighand.stopSignal == 0 {
                sighand.stopSignal = signal
                sighand.stopsAwaited = process.threads.count - 1
                // The other threads stop too: one asleep in a system call
                // wakes, gives up the call (to be restarted) and stops on its
                // way out. Linux: signal_wake_up() for each thread
                for thread in process.threads where thread !== task { Scheduler.wake(thread) }
                return sighand.stopsAwaited == 0
            }
            return threadStoppedLocked(sighand)
        }
        if groupStopped { reportStopLocked(of: process, sighand) }
        Task.tasklistLock.unlock()
        sighand.lock.withLock { sighand.stoppedThreads.append(task) }
        while !Scheduler.sleep(unless: {
            sighand.lock.withLock { sighand.stopSignal == 0 } || Signals.fatalPending(task)
        }) {}
        let tellParent = sighand.lock.withLock { () -> Bool in
            sighand.stoppedThreads.removeAll { $0 === task }
            defer { sighand.continuePending = false }
            return sighand.continuePending
        }
        if tellParent {
            Task.tasklistLock.withLock { notifyParentLocked(of: ProcessGroups.process(of: task), code: CLD_CONTINUED) }
        }
    }

    /// One more thread of a stopping group is out of the way (stopped, or
    /// exiting); true when it was the last (siglock held). Linux: task_participate_group_stop()
    private static func threadStoppedLocked(_ sighand: SignalHandlers) -> Bool {
        guard sighand.stopSignal != 0 && sighand.stopsAwaited > 0 else { return false }
        sighand.stopsAwaited -= 1
        return sighand.stopsAwaited == 0
    }

    /// The whole group has stopped: the report for wait4(WUNTRACED) and
    /// SIGCHLD for the parent (tasklistLock held).
    private static func reportStopLocked(of process: Task, _ sighand: SignalHandlers) {
        let signal = sighand.lock.withLock { () -> Int32 in
            if sighand.stopSignal != 0 { sighand.waitReport = .stopped(sighand.stopSignal) }
            return sighand.stopSignal
        }
        if signal != 0 { notifyParentLocked(of: process, code: CLD_STOPPED) }
    }

    /// A thread exits (tasklistLock held): a stop that waited for it may be
    /// complete. Linux: exit_signals() → task_participate_group_stop()
    static func threadExitingLocked(_ task: Task, of process: Task) {
        let sighand = task.signals
        if sighand.lock.withLock({ threadStoppedLocked(sighand) }) { reportStopLocked(of: process, sighand) }
    }

    /// A SIGCONT for a process using `sighand` (its siglock held): a stopped
    /// group runs again and its parent will hear of it. Linux: the SIGCONT
    /// branch of prepare_signal()
    static func continueLocked(_ sighand: SignalHandlers) {
        guard sighand.stopSignal != 0 else { return }
        sighand.stopSignal = 0
        sighand.stopsAwaited = 0
        sighand.waitReport = .continued
        sighand.continuePending = true
        for thread in sighand.stoppedThreads { Scheduler.wake(thread) }
    }

    /// SIGCHLD to the parent of `process` (unless it asked for none with
    /// SA_NOCLDSTOP) and a wake-up for its threads waiting in wait4.
    /// tasklistLock held. Linux: do_notify_parent_cldstop()
    private static func notifyParentLocked(of process: Task, code: Int32) {
        guard let parent = process.parent else { return }
        let sighand = parent.sighand
        let flags = sighand.lock.withLock { sighand.actions[Int(Signal.SIGCHLD)].flags }
        if flags & SignalAction.SA_NOCLDSTOP == 0 {
            Signals.send(Signal.SIGCHLD, to: parent, info: SignalFrame.Info(code: code, senderPID: process.pid))
        }
        for thread in parent.threads { Scheduler.wake(thread) }
    }
}
