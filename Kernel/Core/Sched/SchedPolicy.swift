// The scheduling policies a task can ask for with sched_setscheduler(2). The
// numbers are Linux's (include/uapi/linux/sched.h) so musl's constants work
// unchanged; SCHED_WRR = 7 is Keel's addition (Tests/Userland/keel.h).

/// A task's scheduling policy. Linux: task->policy (SCHED_*)
public enum SchedPolicy: Int32, CaseIterable, Sendable {
    /// Linux: SCHED_NORMAL (SCHED_OTHER in POSIX)
    case normal = 0
    /// Real-time, runs until it blocks or yields. Linux: SCHED_FIFO
    case fifo = 1
    /// Real-time round robin among equal priorities. Linux: SCHED_RR
    case rr = 2
    /// Linux: SCHED_BATCH (a CFS hint; Keel treats it as normal)
    case batch = 3
    /// Linux: SCHED_IDLE (a tiny CFS weight; Keel treats it as normal). Not the idle class.
    case idle = 5
    /// Weighted round robin: time slice = weight × 10 ms. Keel: SCHED_WRR
    case wrr = 7

    /// The class whose run queue holds tasks of this policy. Linux: __setscheduler_class()
    @inlinable public var schedClass: SchedClass {
        switch self {
        case .fifo, .rr: .rt
        case .wrr: .wrr
        case .normal, .batch, .idle: .normal
        }
    }
}

extension SchedPolicy {
    /// The name a man page uses. Linux: the SCHED_* constants
    public var name: String {
        switch self {
        case .normal: "SCHED_OTHER"
        case .fifo: "SCHED_FIFO"
        case .rr: "SCHED_RR"
        case .batch: "SCHED_BATCH"
        case .idle: "SCHED_IDLE"
        case .wrr: "SCHED_WRR"
        }
    }
}
