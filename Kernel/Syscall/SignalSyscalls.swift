// rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigreturn, kill, tkill, tgkill.
// Linux: kernel/signal.c

enum SignalSyscalls {
    /// Linux: rt_sigaction(); struct sigaction on x86-64 is handler, flags, restorer, mask.
    static func rtSigaction(_ a: SyscallArgs) throws(Errno) -> Int {
        let signal = a.int(0)
        guard signal >= 1 && signal <= 64, a.size(3) == 8 else { throw .EINVAL }
        let task = Scheduler.current
        let old = task.signals.actions[signal]
        if a.u64(1) != 0 {
            guard signal != Int(Signal.SIGKILL) && signal != Int(Signal.SIGSTOP) else { throw .EINVAL }
            let (handler, flags, restorer, mask) = try UserCopy.read((UInt64, UInt64, UInt64, UInt64).self, at: a.address(1))
            task.signals.actions[signal] = SignalAction(handler: handler, flags: flags, restorer: restorer,
                                                        mask: mask & ~Signals.unblockable)
            // Setting SIG_IGN discards what is pending. Linux: do_sigaction()
            if handler == SignalAction.SIG_IGN { task.pendingSignals &= ~Signals.bit(Int32(signal)) }
        }
        if a.u64(2) != 0 {
            try UserCopy.write((old.handler, old.flags, old.restorer, old.mask), at: a.address(2))
        }
        return 0
    }

    static let SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2

    /// Linux: rt_sigprocmask()
    static func rtSigprocmask(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.size(3) == 8 else { throw .EINVAL }
        let task = Scheduler.current
        let old = task.blockedSignals
        if a.u64(1) != 0 {
            let set = try UserCopy.read(UInt64.self, at: a.address(1))
            switch a.int(0) {
            case SIG_BLOCK: task.blockedSignals |= set
            case SIG_UNBLOCK: task.blockedSignals &= ~set
            case SIG_SETMASK: task.blockedSignals = set
            default: throw .EINVAL
            }
            task.blockedSignals &= ~Signals.unblockable
        }
        if a.u64(2) != 0 { try UserCopy.write(old, at: a.address(2)) }
        return 0
    }

    /// Linux: rt_sigpending()
    static func rtSigpending(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.size(1) <= 8 else { throw .EINVAL }
        let task = Scheduler.current
        try UserCopy.write(task.pendingSignals & task.blockedSignals, at: a.address(0))
        return 0
    }

    /// Linux: kill(); pid > 0 one process, 0 or -1 or < -1 every process Keel can
    /// signal (Keel has no process groups yet: all of them, except init for -1).
    static func kill(_ a: SyscallArgs) throws(Errno) -> Int {
        let pid = Int32(truncatingIfNeeded: a.int(0)), signal = Int32(a.int(1))
        guard signal >= 0 && signal <= 64 else { throw .EINVAL }
        let sender = Scheduler.current
        if pid > 0 {
            guard let target = Task.lookup(pid: pid), target.tgid == target.pid else { throw .ESRCH }
            if signal != 0 { send(signal, to: target, from: sender) }
            return 0
        }
        var found = false
        for task in Task.all where task.pid == task.tgid && task.pid != 1 && (pid != -1 || task !== sender) {
            found = true
            if signal != 0 { send(signal, to: task, from: sender) }
        }
        guard found else { throw .ESRCH }
        return 0
    }

    /// Linux: tkill() / tgkill(): to one thread.
    static func tkill(_ a: SyscallArgs) throws(Errno) -> Int {
        let isTgkill = a.number == Syscall.tgkill.rawValue
        let tid = Int32(truncatingIfNeeded: isTgkill ? a.int(1) : a.int(0))
        let signal = Int32(isTgkill ? a.int(2) : a.int(1))
        guard tid > 0, signal >= 0 && signal <= 64 else { throw .EINVAL }
        guard let target = Task.lookup(pid: tid), !isTgkill || target.tgid == Int32(truncatingIfNeeded: a.int(0)) else {
            throw .ESRCH
        }
        if signal != 0 {
            target.pendingSignalInfo[Int(signal)] = SignalFrame.Info(code: -6, senderPID: Scheduler.current.tgid) // SI_TKILL
            Signals.send(signal, to: target)
        }
        return 0
    }

    private static func send(_ signal: Int32, to task: Task, from sender: Task) {
        task.pendingSignalInfo[Int(signal)] = SignalFrame.Info(code: 0, senderPID: sender.tgid)  // SI_USER
        Signals.send(signal, to: task)
    }
}
