// Scheduling classes are tried in a fixed order when a CPU picks its next task;
// the first class with a runnable task wins. Linux chains them as
// stop → dl → rt → fair → idle; Keel has no stop or deadline class and puts its
// WRR class between rt and fair, as Lab 4 asks.

/// A scheduling class, ordered so that `a > b` means `a` always runs before `b`.
/// Linux: struct sched_class (rt_sched_class, fair_sched_class, idle_sched_class)
public enum SchedClass: Int, Comparable, Sendable {
    /// Only the per-CPU idle task, which runs when every queue is empty. Linux: idle_sched_class
    case idle = 0
    /// SCHED_NORMAL/BATCH/IDLE tasks. Linux: fair_sched_class (CFS)
    case normal = 1
    /// SCHED_WRR tasks. Keel: the Lab 4 class
    case wrr = 2
    /// SCHED_FIFO and SCHED_RR tasks. Linux: rt_sched_class
    case rt = 3

    @inlinable public static func < (a: SchedClass, b: SchedClass) -> Bool { a.rawValue < b.rawValue }
}
