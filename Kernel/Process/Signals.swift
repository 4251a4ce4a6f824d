// Signals: per-process dispositions (default, ignore, or a user handler), a
// per-task pending and blocked set, and delivery on the way back to user mode.
// Default actions terminate the process, stop it (Kernel/Process/JobControl.swift)
// or are ignored; user handlers run on a signal frame the kernel builds on the
// user stack (Kernel/Process/SignalFrame.swift).
// Linux: kernel/signal.c, struct sighand_struct, struct k_sigaction

/// One signal's disposition. Linux: struct k_sigaction (x86-64 layout of struct sigaction)
struct SignalAction {
    static let SIG_DFL: UInt64 = 0
    static let SIG_IGN: UInt64 = 1
    static let SA_NOCLDSTOP: UInt64 = 0x1, SA_SIGINFO: UInt64 = 0x4, SA_ONSTACK: UInt64 = 0x0800_0000, SA_RESTART: UInt64 = 0x1000_0000
    static let SA_NODEFER: UInt64 = 0x4000_0000, SA_RESETHAND: UInt64 = 0x8000_0000, SA_RESTORER: UInt64 = 0x0400_0000

    var handler: UInt64 = SIG_DFL
    var flags: UInt64 = 0
    var restorer: UInt64 = 0
    var mask: UInt64 = 0
}

/// The dispositions of all 64 signals, shared by the threads of a process,
/// and the lock of the whole signal state of those threads.
/// Linux: struct sighand_struct
final class SignalHandlers {
    /// Protected by `lock`.
    var actions = [SignalAction](repeating: SignalAction(), count: 65)
    /// These actions, and the pending and blocked sets and siginfo of every
    /// task using them. Taken inside tasklist_lock, before the scheduler lock.
    /// Linux: sighand->siglock
    let lock = SpinLock(SignalHandlers.lockClass, disablesInterrupts: false)
    static let lockClass = LockClass("&sighand->siglock")

    /// Job control, for the whole thread group (Kernel/Process/JobControl.swift).
    /// Protected by `lock`. Linux: signal->flags (SIGNAL_STOP_STOPPED,
    /// SIGNAL_CLD_STOPPED/CONTINUED), signal->group_exit_code
    /// The stop signal that stopped the group; 0 while it runs.
    var stopSignal: Int32 = 0
    /// What the parent's wait4(WUNTRACED / WCONTINUED) has not seen yet.
    var waitReport: JobReport? = nil
    /// Threads of a stopping group not stopped yet. Linux: group_stop_count
    var stopsAwaited = 0
    /// A SIGCONT woke the group and its parent has not had its SIGCHLD yet.
    var continuePending = false
    /// The threads asleep in the stop, for SIGCONT to wake.
    var stoppedThreads: [Task] = []

    /// A stop or continue not yet reported to the parent.
    enum JobReport { case stopped(Int32), continued }

    func copy() -> SignalHandlers {
        let c = SignalHandlers()
        c.actions = lock.withLock { actions }
        return c
    }

    /// execve keeps ignored signals and resets caught ones (on a copy nobody
    /// else uses yet). Linux: flush_signal_handlers()
    func resetForExec() {
        for i in actions.indices where actions[i].handler != SignalAction.SIG_IGN {
            actions[i] = SignalAction()
        }
    }
}

enum Signals {
    static func bit(_ signal: Int32) -> UInt64 { 1 << UInt64(signal - 1) }
    /// SIGKILL and SIGSTOP can be neither caught, blocked nor ignored.
    static let unblockable = bit(Signal.SIGKILL) | bit(Signal.SIGSTOP)

    /// Signals whose default action is to do nothing. Linux: SIG_KERNEL_IGNORE_MASK
    static func ignoredByDefault(_ signal: Int32) -> Bool {
        switch signal {
        case Signal.SIGCHLD, Signal.SIGCONT, Signal.SIGURG, Signal.SIGWINCH: true
        default: false
        }
    }

    /// Signals whose default action stops the process. Linux: SIG_KERNEL_STOP_MASK
    static let stopMask = bit(Signal.SIGSTOP) | bit(Signal.SIGTSTP) | bit(Signal.SIGTTIN) | bit(Signal.SIGTTOU)
    static func stopsByDefault(_ signal: Int32) -> Bool {
        switch signal {
        case Signal.SIGSTOP, Signal.SIGTSTP, Signal.SIGTTIN, Signal.SIGTTOU: true
        default: false
        }
    }

    /// Marks `signal` pending on `task` and wakes it so it can act on it. Init
    /// (every thread of pid 1) gets only the signals it has handlers for, unless
    /// the kernel forces one (its own exit_group): no process can kill init.
    /// Linux: send_signal() + signal_wake_up(); SIGNAL_UNKILLABLE in sig_task_ignored()
    /// `info` (who sent it, how) is kept for a handler's siginfo.
    static func send(_ signal: Int32, to task: Task, force: Bool = false, info: SignalFrame.Info? = nil) {
        guard signal >= 1 && signal <= 64, task.state != .zombie else { return }
        let sighand = task.sighand
        sighand.lock.lock()
        defer { sighand.lock.unlock() }
        // A SIGCONT continues a stopped process even if it is blocked or
        // ignored, and cancels stops not yet acted on; a stop cancels a pending
        // SIGCONT. Linux: prepare_signal()
        if signal == Signal.SIGCONT {
            task.pendingSignals &= ~stopMask
            JobControl.continueLocked(sighand)
        } else if stopsByDefault(signal) {
            task.pendingSignals &= ~bit(Signal.SIGCONT)
        }
        let action = sighand.actions[Int(signal)]
        if task.tgid == 1 && action.handler == SignalAction.SIG_DFL && !force { return }
        let ignored = action.handler == SignalAction.SIG_IGN
            || (action.handler == SignalAction.SIG_DFL && ignoredByDefault(signal))
        // Linux: sig_ignored() drops it at once, unless blocked (the action
        // may change before it is unblocked)
        if ignored && (task.blockedSignals | unblockable) & bit(signal) == 0 { return }
        if let info { task.pendingSignalInfo[Int(signal)] = info }
        task.pendingSignals |= bit(signal)
        if task.pendingSignals & ~task.blockedSignals != 0 { Scheduler.wake(task) }
    }

    /// The task will die of `signal`: no handler catches it (default action, or
    /// ignored or blocked, which a fault overrides). Linux: unhandled_signal(),
    /// which decides whether show_signal_msg() logs a segfault
    static func unhandled(_ signal: Int32, by task: Task) -> Bool {
        task.signals.lock.withLock { unhandledLocked(signal, by: task) }
    }

    private static func unhandledLocked(_ signal: Int32, by task: Task) -> Bool {
        let handler = task.signals.actions[Int(signal)].handler
        return handler == SignalAction.SIG_DFL || handler == SignalAction.SIG_IGN || task.blockedSignals & bit(signal) != 0
    }

    /// A signal caused by the task's own fault (SIGSEGV, SIGILL, ...). A handler that
    /// is installed and not blocked gets it; otherwise the process dies, even if it
    /// ignores or blocks the signal, since retrying the instruction would fault
    /// forever. Linux: force_sig_fault()
    static func force(_ signal: Int32, info: SignalFrame.Info, on task: Task) {
        task.signals.lock.lock()
        defer { task.signals.lock.unlock() }
        if !unhandledLocked(signal, by: task) {
            task.pendingSignalInfo[Int(signal)] = info
            task.pendingSignals |= bit(signal)
        } else {
            task.fatalSignal = signal         // acted on by deliver() on the way out
        }
    }

    /// The task is being killed (SIGKILL pending, or a fault or OOM kill decided):
    /// long kernel loops stop early. Linux: fatal_signal_pending()
    static func fatalPending(_ task: Task) -> Bool {
        task.fatalSignal != nil || task.pendingSignals & bit(Signal.SIGKILL) != 0
    }

    /// A deliverable signal is pending, or the thread group is stopping:
    /// blocking system calls give up (EINTR or ERESTARTSYS) so the task can
    /// act on it on its way out. Linux: signal_pending() (TIF_SIGPENDING is
    /// set for a group stop too)
    static func interrupted(_ task: Task) -> Bool {
        task.pendingSignals & ~task.blockedSignals != 0 || task.signals.stopSignal != 0
    }

    /// A CPU exception raised by user code becomes a signal to its process; the
    /// hardware decoding stays in Kernel/Arch (Traps.swift), the policy is here.
    /// Linux: do_trap() / do_error_trap() → force_sig()
    static func userException(_ exception: ExceptionVector, _ frame: InterruptFrame) {
        let signal: Int32
        switch exception {
        case .divideError, .x87FloatingPoint, .simdFloatingPoint: signal = Signal.SIGFPE
        case .invalidOpcode: signal = Signal.SIGILL
        case .breakpoint, .debug: signal = Signal.SIGTRAP
        case .alignmentCheck: signal = Signal.SIGBUS
        default: signal = Signal.SIGSEGV
        }
        let task = Scheduler.current
        Log.notice("traps: \(task.name)[\(task.pid)] \(exception.name) ip:\(Fmt.hex(frame.rip)) sp:\(Fmt.hex(frame.rsp)) error:\(Fmt.hex(frame.errorCode))")
        force(signal, info: SignalFrame.Info(code: 0, address: frame.rip), on: task)
    }

    /// The way back to user mode after an interrupt or exception: signals are
    /// acted on with interrupts on as user mode had them (a handler frame, or
    /// an exit, allocates and frees memory), and off again for the return path.
    /// (A system call does the same on its own way out.) Linux:
    /// irqentry_exit_to_user_mode() → exit_to_user_mode_loop() with
    /// local_irq_enable_exit_to_user()
    /// Typed input waiting for the terminal and due SIGALRMs are handled
    /// first (its ^C, or the alarm, may be for this very task).
    static func exitToUserMode(_ frame: UnsafeMutablePointer<InterruptFrame>) {
        if ConsoleDevice.hasReceiveWork || AlarmTimers.isDue {
            CPU.enableInterrupts()
            ConsoleDevice.runReceiveWork()
            AlarmTimers.runExpired()
            CPU.disableInterrupts()
        }
        guard mayBePending(Scheduler.current) else { return }
        CPU.enableInterrupts()
        deliver(frame)
        CPU.disableInterrupts()
    }

    /// On the way back to user mode: act on one pending, unblocked signal.
    /// Linux: exit_to_user_mode_loop() → arch_do_signal_or_restart()
    /// Whether `task` may have a signal to act on, read without the lock (a
    /// word-sized racy peek: a caller that sees false skips `deliver`).
    /// Linux: the TIF_SIGPENDING test in exit_to_user_mode_loop()
    /// (Or its thread group is stopped: it stops too.)
    static func mayBePending(_ task: Task) -> Bool {
        task.fatalSignal != nil || task.pendingSignals & ~task.blockedSignals != 0 || task.signals.stopSignal != 0
    }

    /// `restarting`: the number of a system call that ended with ERESTARTSYS.
    static func deliver(_ frame: UnsafeMutablePointer<InterruptFrame>, restarting call: Int? = nil) {
        // The decision is made in a helper that returns, so this frame holds no
        // reference to the task when the process is killed.
        var restart = call
        while true {
            switch handlePending(frame, restart: &restart) {
            case .done:
                // No handler ran (none was pending, or the signal stopped the
                // process or was ignored): the call runs again.
                if let call = restart { restartSyscall(frame, call) }
                restoreSavedMask()
                return
            case .kill(let fatal): ProcessExit.kill(signal: fatal)
            case .stop(let signal): JobControl.stop(signal)       // back once continued or killed
            }
        }
    }

    /// A call that sleeps with a mask of its own (ppoll, pselect6,
    /// rt_sigsuspend) installs it; returns the caller's mask for `endTemporaryMask`.
    static func beginTemporaryMask(_ mask: UInt64) -> UInt64 {
        let task = Scheduler.current
        return task.signals.lock.withLock { () -> UInt64 in
            let old = task.blockedSignals
            task.blockedSignals = mask & ~unblockable
            return old
        }
    }

    /// The call returns: without EINTR, the caller's mask comes back at once;
    /// with it, only after the signal's handler frame is built (the handler
    /// runs with the call's mask, as it interrupted the call).
    /// Linux: restore_saved_sigmask_unless(), set_restore_sigmask()
    static func endTemporaryMask(_ old: UInt64, interrupted: Bool) {
        let task = Scheduler.current
        task.signals.lock.withLock {
            if interrupted { task.savedSignalMask = old } else { task.blockedSignals = old }
        }
    }

    /// No handler took the saved mask: it comes back now. Linux: restore_saved_sigmask()
    private static func restoreSavedMask() {
        let task = Scheduler.current
        task.signals.lock.withLock {
            if let saved = task.savedSignalMask {
                task.blockedSignals = saved
                task.savedSignalMask = nil
            }
        }
    }

    /// Back to the `syscall` instruction (2 bytes) with the call's number in
    /// rax; its arguments are still in their registers. Linux: the
    /// -ERESTARTSYS case of arch_do_signal_or_restart()
    private static func restartSyscall(_ frame: UnsafeMutablePointer<InterruptFrame>, _ call: Int) {
        frame.pointee.rip -= 2
        frame.pointee.rax = UInt64(call)
    }

    /// What the pending signals ask of the task on its way to user mode.
    private enum Outcome {
        case done
        case kill(Int32)
        /// Stop for this signal (0: join the stop another thread began).
        case stop(Int32)
    }

    /// Runs handlers and drops ignored signals; returns a signal that kills or stops.
    @inline(never)
    private static func handlePending(_ frame: UnsafeMutablePointer<InterruptFrame>, restart: inout Int?) -> Outcome {
        let task = Scheduler.current
        if let fatal = task.fatalSignal { return .kill(fatal) }
        let groupStopped = task.signals.lock.withLock { task.signals.stopSignal != 0 }
        if groupStopped && !fatalPending(task) { return .stop(0) }
        while true {
            let (signal, action) = task.signals.lock.withLock { () -> (Int32, SignalAction) in
                let deliverable = task.pendingSignals & ~task.blockedSignals
                guard deliverable != 0 else { return (0, SignalAction()) }
                let signal = Int32(deliverable.trailingZeroBitCount + 1)
                task.pendingSignals &= ~bit(signal)
                let action = task.signals.actions[Int(signal)]
                // Linux: SA_RESETHAND resets the action as the signal is taken
                if action.flags & SignalAction.SA_RESETHAND != 0 && action.handler > SignalAction.SIG_IGN {
                    task.signals.actions[Int(signal)] = SignalAction()
                }
                return (signal, action)
            }
            guard signal != 0 else { return .done }
            switch action.handler {
            case SignalAction.SIG_IGN:
                continue
            case SignalAction.SIG_DFL:
                if ignoredByDefault(signal) { continue }
                if stopsByDefault(signal) {
                    // Terminal stops do not stop an orphaned group: nobody
                    // would continue it. Linux: is_current_pgrp_orphaned()
                    if signal != Signal.SIGSTOP && ProcessGroups.isOrphaned(ProcessGroups.ids(of: task).pgid) { continue }
                    return .stop(signal)
                }
                return .kill(signal)
            default:
                // An interrupted call is settled before the frame saves the
                // registers: again after the handler (SA_RESTART), or EINTR.
                // Linux: handle_signal()
                if let call = restart {
                    if action.flags & SignalAction.SA_RESTART != 0 {
                        restartSyscall(frame, call)
                    } else {
                        frame.pointee.rax = UInt64(bitPattern: Errno.EINTR.syscallReturn)
                    }
                    restart = nil
                }
                if !SignalFrame.setUp(signal, action: action, frame: frame, task: task) {
                    return .kill(Signal.SIGSEGV)     // Linux: force_sigsegv()
                }
                return .done
            }
        }
    }
}
