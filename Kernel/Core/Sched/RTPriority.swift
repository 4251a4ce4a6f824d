// A real-time priority as user space passes it in sched_param.sched_priority:
// 1 (lowest) … 99 (highest). The kernel flips it so that a smaller index means
// more urgent, which lets the run queue find the best list with find-first-set.

/// A valid SCHED_FIFO/SCHED_RR priority. Linux: task->rt_priority
public struct RTPriority: Comparable, Sendable {
    /// Linux: MAX_RT_PRIO - 1
    public static let max = RTPriority(unchecked: 99)
    public static let min = RTPriority(unchecked: 1)
    /// Number of distinct priorities, one run list each.
    @inlinable public static var levels: Int { 99 }

    public let value: Int

    /// Nil unless 1 ≤ value ≤ 99 (sched_setscheduler returns EINVAL otherwise).
    @inlinable public init?(_ value: Int) {
        guard (1...99).contains(value) else { return nil }
        self.value = value
    }

    @inlinable init(unchecked value: Int) { self.value = value }

    /// Index of this priority's run list, 0 = most urgent. Linux: prio = MAX_RT_PRIO - 1 - rt_priority
    @inlinable var queueIndex: Int { 99 - value }

    @inlinable public static func < (a: RTPriority, b: RTPriority) -> Bool { a.value < b.value }
}
