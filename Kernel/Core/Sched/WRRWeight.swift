// A WRR weight is the task's time slice in units of the 10 ms base slice, so a
// task of weight 3 runs three times as long per round as a task of weight 1.

/// A SCHED_WRR weight, 1…20. Keel: the Lab 4 weight set by sched_setweight()
public struct WRRWeight: Comparable, Sendable {
    public static let min = WRRWeight(unchecked: 1)
    public static let max = WRRWeight(unchecked: 20)
    /// Weight of init and of any task that never asked for another.
    public static let `default` = WRRWeight(unchecked: 10)

    public let value: Int

    /// Nil unless 1 ≤ value ≤ 20 (sched_setweight returns EINVAL otherwise).
    @inlinable public init?(_ value: Int) {
        guard (1...20).contains(value) else { return nil }
        self.value = value
    }

    @inlinable init(unchecked value: Int) { self.value = value }

    @inlinable public static func < (a: WRRWeight, b: WRRWeight) -> Bool { a.value < b.value }
}
