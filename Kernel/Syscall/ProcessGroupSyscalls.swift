// setpgid, getpgid, getpgrp, setsid, getsid: moving processes between process
// groups and starting sessions (Kernel/Process/ProcessGroups.swift); vhangup.
// Linux: kernel/sys.c, drivers/tty/tty_io.c

enum ProcessGroupSyscalls {
    /// setpgid(pid, pgid): the caller or one of its children (before it execs)
    /// joins group `pgid` of the caller's session, or starts group `pid` of its
    /// own. Linux: sys_setpgid()
    static func setpgid(_ a: SyscallArgs) throws(Errno) -> Int {
        var pid = Int32(truncatingIfNeeded: a.int(0)), pgid = Int32(truncatingIfNeeded: a.int(1))
        let me = ProcessGroups.process(of: Scheduler.current)
        if pid == 0 { pid = me.pid }
        if pgid == 0 { pgid = pid }
        guard pgid >= 0 else { throw .EINVAL }
        Task.tasklistLock.lock()
        defer { Task.tasklistLock.unlock() }
        guard let target = Task.lookupLocked(pid: pid) else { throw .ESRCH }
        guard target.pid == target.tgid else { throw .EINVAL }         // a thread of some process
        if target !== me {
            guard target.parent === me else { throw .ESRCH }
            guard target.sid == me.sid else { throw .EPERM }
            guard !target.didExec else { throw .EACCES }
        }
        guard target.sid != target.pid else { throw .EPERM }           // a session leader stays in its group
        if pgid != pid {
            guard ProcessGroups.membersLocked(of: pgid).contains(where: { $0.sid == me.sid }) else { throw .EPERM }
        }
        target.pgid = pgid
        return 0
    }

    /// getpgid(pid): 0 for the caller. Linux: sys_getpgid()
    static func getpgid(_ a: SyscallArgs) throws(Errno) -> Int {
        Int(try ids(of: Int32(truncatingIfNeeded: a.int(0))).pgid)
    }

    /// getsid(pid): 0 for the caller. Linux: sys_getsid()
    static func getsid(_ a: SyscallArgs) throws(Errno) -> Int {
        Int(try ids(of: Int32(truncatingIfNeeded: a.int(0))).sid)
    }

    /// Linux: sys_getpgrp()
    static func getpgrp() -> Int {
        Int(ProcessGroups.ids(of: Scheduler.current).pgid)
    }

    /// The caller leads a new session and a new group, both with its pid, and
    /// has no controlling terminal. EPERM for a group leader (its group would
    /// be split between two sessions). Linux: ksys_setsid()
    static func setsid() throws(Errno) -> Int {
        let me = ProcessGroups.process(of: Scheduler.current)
        try Task.tasklistLock.withLock { () throws(Errno) in
            guard me.sid != me.pid, ProcessGroups.membersLocked(of: me.pid).isEmpty else { throw .EPERM }
            me.sid = me.pid
            me.pgid = me.pid
        }
        return Int(me.pid)
    }

    /// The group and session of process `pid` (0: the caller).
    private static func ids(of pid: Int32) throws(Errno) -> (pgid: Int32, sid: Int32) {
        guard pid != 0 else { return ProcessGroups.ids(of: Scheduler.current) }
        return try Task.tasklistLock.withLock { () throws(Errno) -> (pgid: Int32, sid: Int32) in
            guard pid > 0, let task = Task.lookupLocked(pid: pid) else { throw .ESRCH }
            let process = ProcessGroups.process(of: task)
            return (process.pgid, process.sid)
        }
    }

    /// vhangup(): hangs up the caller's controlling terminal, if it has one
    /// (everyone is root, so CAP_SYS_TTY_CONFIG is never missing): its session
    /// loses it, and its foreground group gets SIGHUP and SIGCONT. Without a
    /// controlling terminal (after setsid) there is nothing to do.
    /// Linux: sys_vhangup() → tty_vhangup_self()
    static func vhangup() -> Int {
        let sid = ProcessGroups.ids(of: Scheduler.current).sid
        ConsoleDevice.shared.disassociate(session: sid)
        return 0
    }
}
