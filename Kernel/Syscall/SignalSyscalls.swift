// rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigreturn, sigaltstack, kill, tkill, tgkill.
// Linux: kernel/signal.c

enum SignalSyscalls {
    /// Linux: rt_sigaction(); struct sigaction on x86-64 is handler, flags, restorer, mask.
    static func rtSigaction(_ a: SyscallArgs) throws(Errno) -> Int {
        let signal = a.int(0)
        guard signal >= 1 && signal <= 64, a.size(3) == 8 else { throw .EINVAL }
        let task = Scheduler.current
        var new: SignalAction? = nil
        if a.u64(1) != 0 {
            guard signal != Int(Signal.SIGKILL) && signal != Int(Signal.SIGSTOP) else { throw .EINVAL }
            let (handler, flags, restorer, mask) = try UserCopy.read((UInt64, UInt64, UInt64, UInt64).self, at: a.address(1))
            new = SignalAction(handler: handler, flags: flags, restorer: restorer, mask: mask & ~Signals.unblockable)
        }
        // The swap under siglock; the user copies outside it. Linux: do_sigaction()
        let old = task.signals.lock.withLock { () -> SignalAction in
            let old = task.signals.actions[signal]
            if let new {
                task.signals.actions[signal] = new
                // Setting SIG_IGN discards what is pending.
                if new.handler == SignalAction.SIG_IGN { task.pendingSignals &= ~Signals.bit(Int32(signal)) }
            }
            return old
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
        var old = task.blockedSignals
        if a.u64(1) != 0 {
            let set = try UserCopy.read(UInt64.self, at: a.address(1))
            guard [SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK].contains(a.int(0)) else { throw .EINVAL }
            task.signals.lock.lock()
            old = task.blockedSignals
            switch a.int(0) {
            case SIG_BLOCK: task.blockedSignals |= set
            case SIG_UNBLOCK: task.blockedSignals &= ~set
            default: task.blockedSignals = set
            }
            task.blockedSignals &= ~Signals.unblockable
            task.signals.lock.unlock()
        }
        if a.u64(2) != 0 { try UserCopy.write(old, at: a.address(2)) }
        return 0
    }

    /// Linux: rt_sigpending()
    static func rtSigpending(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.size(1) <= 8 else { throw .EINVAL }
        let task = Scheduler.current
        let pending = task.signals.lock.withLock { task.pendingSignals & task.blockedSignals }
        try UserCopy.write(pending, at: a.address(0))
        return 0
    }

    /// sigaltstack(ss, old_ss): reports the calling thread's alternate signal
    /// stack in old_ss (stack_t: ss_sp, ss_flags, ss_size) and installs ss.
    /// On an error old_ss is left alone. Linux: sys_sigaltstack() → do_sigaltstack()
    static func sigaltstack(_ a: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        let task = Scheduler.current
        let sp = frame.pointee.rsp
        let old = task.signalStack
        if a.u64(0) != 0 {
            let (base, flags, size) = try UserCopy.read((UInt64, UInt64, UInt64).self, at: a.address(0))
            task.signalStack = try old.replaced(base: base, flags: Int32(truncatingIfNeeded: flags), size: size, at: sp)
        }
        if a.u64(1) != 0 {
            try UserCopy.write((old.base, UInt64(UInt32(bitPattern: old.flags(at: sp))), old.size), at: a.address(1))
        }
        return 0
    }

    /// Linux: kill(); pid > 0 one process, 0 the caller's process group, < -1
    /// group -pid, -1 every process but init and the caller. Everyone is root,
    /// so every process may be signalled (init ignores what it has no handler for).
    static func kill(_ a: SyscallArgs) throws(Errno) -> Int {
        let pid = Int32(truncatingIfNeeded: a.int(0)), signal = Int32(a.int(1))
        guard signal >= 0 && signal <= 64 else { throw .EINVAL }
        let sender = Scheduler.current
        if pid > 0 {
            guard let target = Task.lookup(pid: pid), target.tgid == target.pid else { throw .ESRCH }
            if signal != 0 { send(signal, to: target, from: sender) }
            return 0
        }
        guard pid != Int32.min else { throw .ESRCH }        // Linux: -INT_MIN is no group
        let me = ProcessGroups.process(of: sender)
        // The targets are chosen under tasklist_lock and signalled after it.
        let targets = Task.tasklistLock.withLock { () -> [Task] in
            switch pid {
            case -1: return Task.processesLocked.filter { $0.pid != 1 && $0 !== me }
            case 0: return ProcessGroups.membersLocked(of: me.pgid)
            default: return ProcessGroups.membersLocked(of: -pid)
            }
        }
        guard !targets.isEmpty else { throw .ESRCH }
        if signal != 0 {
            for task in targets { send(signal, to: task, from: sender) }
        }
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
            Signals.send(signal, to: target, info: SignalFrame.Info(code: -6, senderPID: Scheduler.current.tgid)) // SI_TKILL
        }
        return 0
    }

    private static func send(_ signal: Int32, to task: Task, from sender: Task) {
        Signals.send(signal, to: task, info: SignalFrame.Info(code: 0, senderPID: sender.tgid))  // SI_USER
    }
}
