// Creating and reaping child processes and threads.

/// fork, vfork, clone, wait4, getppid. Linux: kernel/fork.c, kernel/exit.c
enum ChildSyscalls {
    /// Linux: fork()
    static func fork(_ frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        Int(try Fork.clone([], frame: frame.pointee))
    }

    /// The child borrows the parent's memory, and the parent waits until the child
    /// execs or exits. Linux: vfork() = clone(CLONE_VM | CLONE_VFORK | SIGCHLD)
    static func vfork(_ frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        Int(try Fork.clone([.vm, .vfork], frame: frame.pointee))
    }

    /// clone(flags, stack, parent_tid, child_tid, tls): x86-64's argument order. Linux: sys_clone()
    static func clone(_ a: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        let flags = CloneFlags(rawValue: a.u64(0) & ~CloneFlags.exitSignalMask)
        guard flags.subtracting(.supported).isEmpty else { throw .EINVAL }
        return Int(try Fork.clone(flags, frame: frame.pointee, stack: a.u64(1), parentTID: a.address(2),
                                  childTID: a.address(3), tls: a.u64(4)))
    }

    static let WNOHANG = 1, WUNTRACED = 2, WCONTINUED = 8
    static let __WNOTHREAD = 0x2000_0000, __WALL = 0x4000_0000, __WCLONE = Int(bitPattern: 0x8000_0000)

    /// wait4(pid, status, options, rusage): pid > 0 that child, -1 any, 0 the
    /// caller's process group, < -1 group -pid. The child is reaped before the
    /// results are stored, so a bad pointer gives EFAULT with the child gone, as
    /// in Linux. Linux: kernel_wait4()
    static func wait4(_ a: SyscallArgs) throws(Errno) -> Int {
        let pid = Int32(truncatingIfNeeded: a.int(0)), options = a.int(2)
        guard options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) == 0 else { throw .EINVAL }
        guard pid != Int32.min else { throw .ESRCH }        // Linux: -INT_MIN is not a process group
        let target: ProcessExit.WaitTarget = pid > 0 ? .pid(pid) : pid == -1 ? .any : pid == 0 ? .ownGroup : .group(-pid)
        var wanted: ProcessExit.WaitOptions = .exited
        if options & WNOHANG != 0 { wanted.insert(.noHang) }
        if options & WUNTRACED != 0 { wanted.insert(.stopped) }
        if options & WCONTINUED != 0 { wanted.insert(.continued) }
        guard let (child, status, ticks) = try ProcessExit.wait(for: target, options: wanted) else { return 0 }
        if a.u64(1) != 0 { try UserCopy.write(status, at: a.address(1)) }
        if a.u64(3) != 0 { try ProcessSyscalls.writeRusage(ticks, at: a.address(3)) }
        return Int(child)
    }

    static let P_ALL = 0, P_PID = 1, P_PGID = 2
    static let WSTOPPED = 2, WEXITED = 4, WNOWAIT = 0x0100_0000
    static let CLD_EXITED: Int32 = 1, CLD_KILLED: Int32 = 2

    /// waitid(idtype, id, infop, options, rusage): wait4 with the choice of
    /// events spelt out (WEXITED, WSTOPPED, WCONTINUED, WNOWAIT) and the result
    /// in a siginfo_t (si_signo SIGCHLD, si_code CLD_*, si_pid, si_status).
    /// With WNOHANG and nothing to report, the siginfo fields are zeroed.
    /// Linux: kernel_waitid()
    static func waitid(_ a: SyscallArgs) throws(Errno) -> Int {
        let id = Int32(truncatingIfNeeded: a.int(1)), options = a.int(3)
        guard options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE) == 0,
              options & (WEXITED | WSTOPPED | WCONTINUED) != 0 else { throw .EINVAL }
        let target: ProcessExit.WaitTarget
        switch a.int(0) {
        case P_ALL: target = .any
        case P_PID:
            guard id > 0 else { throw .EINVAL }
            target = .pid(id)
        case P_PGID:
            guard id >= 0 else { throw .EINVAL }
            target = id == 0 ? .ownGroup : .group(id)
        default: throw .EINVAL
        }
        var wanted: ProcessExit.WaitOptions = []
        if options & WEXITED != 0 { wanted.insert(.exited) }
        if options & WSTOPPED != 0 { wanted.insert(.stopped) }
        if options & WCONTINUED != 0 { wanted.insert(.continued) }
        if options & WNOHANG != 0 { wanted.insert(.noHang) }
        if options & WNOWAIT != 0 { wanted.insert(.noWait) }
        let result = try ProcessExit.wait(for: target, options: wanted)
        if a.u64(2) != 0 {
            // si_signo, si_errno, si_code, padding, si_pid, si_uid, si_status
            var info: (Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0)
            if let (pid, status, _) = result {
                let (code, value) = siginfoCode(status)
                info = (Signal.SIGCHLD, 0, code, 0, pid, 0, value)
            }
            try UserCopy.write(info, at: a.address(2))
        }
        if a.u64(4) != 0 { try ProcessSyscalls.writeRusage(result?.ticks ?? (0, 0), at: a.address(4)) }
        return 0
    }

    /// A wait4 status as waitid's si_code and si_status.
    private static func siginfoCode(_ status: Int32) -> (code: Int32, status: Int32) {
        if status == WaitStatus.continued { return (JobControl.CLD_CONTINUED, Signal.SIGCONT) }
        if status & 0xff == 0x7f { return (JobControl.CLD_STOPPED, (status >> 8) & 0xff) }
        if status & 0x7f == 0 { return (CLD_EXITED, (status >> 8) & 0xff) }
        return (CLD_KILLED, status & 0x7f)
    }

    /// Linux: getppid()
    static func getppid() -> Int {
        let task = Scheduler.current
        return Int(Task.tasklistLock.withLock { task.parent?.tgid ?? 0 })     // reparenting may change it
    }
}
