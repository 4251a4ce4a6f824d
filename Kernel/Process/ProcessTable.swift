// Every live task by pid, pid allocation, and the lock that protects the
// process tree. Linux: the pid hash / idr and alloc_pid(), tasklist_lock

extension Task {
    /// The pid table and every task's family links (parent, children, threads,
    /// group leader) and exit state. Taken before a thread group's siglock and
    /// before the scheduler lock; never held across a sleep or a user copy.
    /// Linux: tasklist_lock (a reader/writer spinlock there)
    static let tasklistLock = SpinLock(LockClass("tasklist_lock"), disablesInterrupts: false)

    /// Protected by tasklistLock, like everything below.
    nonisolated(unsafe) private static var byPID = HashMap<Int32, Task>()
    nonisolated(unsafe) private static var lastPID: Int32 = 0
    /// Pids handed out by allocatePID whose task is not registered yet (a fork
    /// in progress on some CPU): no second fork may take one.
    nonisolated(unsafe) private static var reservedPIDs: [Int32] = []
    /// Linux: PID_MAX_DEFAULT
    static let maxPID: Int32 = 32768

    /// The next free pid, counting up and wrapping like Linux, reserved until
    /// `register` or `releasePID`. Linux: alloc_pid()
    static func allocatePID() -> Int32? {
        tasklistLock.withLock { () -> Int32? in
            for _ in 0..<maxPID {
                lastPID = lastPID >= maxPID - 1 ? 1 : lastPID + 1
                if byPID[lastPID] == nil && !reservedPIDs.contains(lastPID) && !namesGroupLocked(lastPID) {
                    reservedPIDs.append(lastPID)
                    return lastPID
                }
            }
            return nil
        }
    }

    /// A fork that reserved `pid` failed. Linux: free_pid()
    static func releasePID(_ pid: Int32) {
        tasklistLock.withLock { reservedPIDs.removeAll { $0 == pid } }
    }

    /// Enters a task under its reserved pid (tasklistLock held). Linux: attach_pid()
    static func registerLocked(_ task: Task) {
        reservedPIDs.removeAll { $0 == task.pid }
        byPID[task.pid] = task
    }

    /// Linux: detach_pid() (tasklistLock held)
    static func unregisterLocked(_ task: Task) { byPID[task.pid] = nil }

    /// Linux: find_task_by_vpid()
    static func lookup(pid: Int32) -> Task? { tasklistLock.withLock { byPID[pid] } }
    /// The same, tasklistLock held.
    static func lookupLocked(pid: Int32) -> Task? { byPID[pid] }
    /// Tasks with a pid, zombies included. Linux: nr_threads
    static var count: Int { tasklistLock.withLock { byPID.count } }
    /// Every task, in pid order (for /proc and the OOM killer): a snapshot.
    static var all: [Task] {
        let tasks = tasklistLock.withLock { Array(byPID.values) }
        return tasks.sorted { $0.pid < $1.pid }
    }
    /// Every process (thread-group leaders, zombies included), tasklistLock held.
    static var processesLocked: [Task] { byPID.values.filter { $0.pid == $0.tgid } }
    /// Some process's group or session still carries `pid` as its id: the pid
    /// is not free, though no task has it (tasklistLock held). Linux: a struct
    /// pid lives while PIDTYPE_PGID or PIDTYPE_SID links to it remain
    private static func namesGroupLocked(_ pid: Int32) -> Bool {
        byPID.values.contains { $0.pgid == pid || $0.sid == pid }
    }
    /// Linux: find_task_by_vpid(1), tasklistLock held
    static var initProcessLocked: Task? { byPID[1] }
}
