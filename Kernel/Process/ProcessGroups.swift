// Process groups and sessions: a shell puts each job (a pipeline) in a process
// group of its own, so that one kill(-pgid) or one ^C reaches every process
// of the job; a session is the set of groups started from one login (one
// terminal), led by the process that called setsid. The ids live on each
// process's group leader (Task.pgid, Task.sid) under tasklist_lock; a group
// or session exists while some process carries its id.
// Linux: kernel/sys.c (setpgid, setsid), kernel/exit.c (will_become_orphaned_pgrp)

enum ProcessGroups {
    /// The process a task belongs to (its thread-group leader).
    static func process(of task: Task) -> Task { task.groupLeader ?? task }

    /// The processes of group `pgid`, tasklistLock held; zombies too, as they
    /// stay in their group until reaped. Linux: do_each_pid_task(pgrp, PIDTYPE_PGID)
    static func membersLocked(of pgid: Int32) -> [Task] {
        Task.processesLocked.filter { $0.pgid == pgid }
    }

    /// An orphaned process group: no member has a parent in another group of
    /// the same session, so no shell is left to continue it after a stop.
    /// Terminal stop signals (SIGTSTP, SIGTTIN, SIGTTOU) do not stop its
    /// members. tasklistLock held. Linux: will_become_orphaned_pgrp(pgrp, NULL)
    static func isOrphanedLocked(_ pgid: Int32) -> Bool {
        for member in membersLocked(of: pgid) where member.state != .zombie {
            guard let parent = member.parent, parent.pid != 1 else { continue }
            if parent.pgid != pgid && parent.sid == member.sid { return false }
        }
        return true
    }

    /// Linux: is_current_pgrp_orphaned()
    static func isOrphaned(_ pgid: Int32) -> Bool {
        Task.tasklistLock.withLock { isOrphanedLocked(pgid) }
    }

    /// Sends `signal` to every process of group `pgid`; false if it has none.
    /// The members are picked under tasklist_lock and signalled after it.
    /// Linux: __kill_pgrp_info()
    @discardableResult
    static func send(_ signal: Int32, toGroup pgid: Int32, info: SignalFrame.Info) -> Bool {
        let members = Task.tasklistLock.withLock { membersLocked(of: pgid) }
        for process in members { Signals.send(signal, to: process, info: info) }
        return !members.isEmpty
    }

    /// The caller's process group and session, read under the lock (setpgid
    /// and setsid may change them on another CPU).
    static func ids(of task: Task) -> (pgid: Int32, sid: Int32) {
        Task.tasklistLock.withLock {
            let process = process(of: task)
            return (process.pgid, process.sid)
        }
    }
}
