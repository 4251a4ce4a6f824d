// Every live task by pid, and pid allocation. Linux: the pid hash / idr and
// alloc_pid()

extension Task {
    nonisolated(unsafe) private static var byPID = HashMap<Int32, Task>()
    nonisolated(unsafe) private static var lastPID: Int32 = 0
    /// Linux: PID_MAX_DEFAULT
    static let maxPID: Int32 = 32768

    /// The next free pid, counting up and wrapping like Linux. Linux: alloc_pid()
    static func allocatePID() -> Int32? {
        for _ in 0..<maxPID {
            lastPID = lastPID >= maxPID - 1 ? 1 : lastPID + 1
            if byPID[lastPID] == nil { return lastPID }
        }
        return nil
    }

    static func register(_ task: Task) { byPID[task.pid] = task }
    static func unregister(_ task: Task) { byPID[task.pid] = nil }
    static func lookup(pid: Int32) -> Task? { byPID[pid] }
    /// Tasks with a pid, zombies included. Linux: nr_threads
    static var count: Int { byPID.count }
    /// Every task, in pid order (for /proc).
    static var all: [Task] { byPID.values.sorted { $0.pid < $1.pid } }
    /// Linux: find_task_by_vpid(1)
    static var initProcess: Task? { byPID[1] }
}
