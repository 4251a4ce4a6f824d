// Process groups and sessions: a shell puts each pipeline in a group of its
// own, so that a signal (kill(-pgid), ^C on the terminal) reaches all of it;
// a session is what one login (one controlling terminal) holds. Both live on
// the thread-group leader, under tasklist_lock.
// Linux: kernel/sys.c (setpgid, getpgid, getpgrp, setsid, getsid),
// kernel/signal.c (kill_pgrp, the -1 and 0 cases of kill_something_info)

extension ProcessSyscalls {
    /// getpgid(pid): 0 means the caller. Linux: SYSCALL_DEFINE1(getpgid)
    static func getpgid(_ a: SyscallArgs) throws(Errno) -> Int {
        try Task.tasklistLock.withLock { () throws(Errno) -> Int in
            Int(try process(Int32(truncatingIfNeeded: a.int(0))).processGroup)
        }
    }

    /// getpgrp(): the caller's group. Linux: SYSCALL_DEFINE0(getpgrp)
    static func getpgrp(_ a: SyscallArgs) throws(Errno) -> Int {
        Task.tasklistLock.withLock { Int(leader(of: Scheduler.current).processGroup) }
    }

    /// getsid(pid): 0 means the caller. Linux: SYSCALL_DEFINE1(getsid)
    static func getsid(_ a: SyscallArgs) throws(Errno) -> Int {
        try Task.tasklistLock.withLock { () throws(Errno) -> Int in
            Int(try process(Int32(truncatingIfNeeded: a.int(0))).session)
        }
    }

    /// setpgid(pid, pgid): moves the caller or one of its children (ESRCH
    /// for anyone else) to group `pgid` (0: its own pid), which must be the
    /// process's own pid or an existing group of the same session (EPERM).
    /// EACCES for a child that has execve'd, EPERM for a session leader or a
    /// child in another session, EINVAL for a negative pgid.
    /// Linux: SYSCALL_DEFINE2(setpgid)
    static func setpgid(_ a: SyscallArgs) throws(Errno) -> Int {
        var pid = Int32(truncatingIfNeeded: a.int(0)), group = Int32(truncatingIfNeeded: a.int(1))
        let caller = Scheduler.current
        try Task.tasklistLock.withLock { () throws(Errno) in
            let me = leader(of: caller)
            if pid == 0 { pid = me.pid }
            if group == 0 { group = pid }
            guard group >= 0 else { throw .EINVAL }
            guard let target = Task.lookupLocked(pid: pid), target.pid == target.tgid else { throw .ESRCH }
            if target !== me {
                guard target.parent === me else { throw .ESRCH }
                guard target.session == me.session else { throw .EPERM }
                guard !target.hasExeced else { throw .EACCES }
            }
            guard target.session != target.pid else { throw .EPERM }          // a session leader stays put
            if group != target.pid {
                let exists = Task.allLocked.contains { $0.pid == $0.tgid && $0.processGroup == group && $0.session == me.session }
                guard exists else { throw .EPERM }
            }
            target.processGroup = group
        }
        return 0
    }

    /// setsid(): a new session and group, both the caller's pid; EPERM if the
    /// caller already leads a group (or its pid names one). Linux: ksys_setsid()
    static func setsid(_ a: SyscallArgs) throws(Errno) -> Int {
        let caller = Scheduler.current
        return try Task.tasklistLock.withLock { () throws(Errno) -> Int in
            let me = leader(of: caller)
            guard !Task.allLocked.contains(where: { $0.pid == $0.tgid && $0.processGroup == me.pid }) else {
                throw .EPERM
            }
            me.processGroup = me.pid
            me.session = me.pid
            return Int(me.pid)
        }
    }

    /// The process `pid` names (0: the caller's). tasklist_lock held.
    private static func process(_ pid: Int32) throws(Errno) -> Task {
        if pid == 0 { return leader(of: Scheduler.current) }
        guard pid > 0, let task = Task.lookupLocked(pid: pid) else { throw .ESRCH }
        return leader(of: task)
    }

    /// The thread-group leader, which holds the group and session. tasklist_lock held.
    static func leader(of task: Task) -> Task { task.groupLeader ?? task }
}
