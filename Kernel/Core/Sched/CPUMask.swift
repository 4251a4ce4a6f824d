// Which CPUs a task may run on, one bit per CPU; Keel supports up to 64 CPUs so
// one word is enough (Linux sizes cpumask_t by NR_CPUS).

/// A set of CPU numbers 0…63. Linux: cpumask_t (task->cpus_mask, sched_setaffinity)
public struct CPUMask: OptionSet, Sendable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Every CPU. Linux: cpu_all_mask
    public static let all = CPUMask(rawValue: .max)

    /// The set holding just `cpu`. Linux: cpumask_of()
    @inlinable public static func cpu(_ cpu: Int) -> CPUMask {
        precondition((0..<64).contains(cpu), "CPU number out of range")
        return CPUMask(rawValue: 1 << UInt64(cpu))
    }

    /// Linux: cpumask_test_cpu()
    @inlinable public func contains(cpu: Int) -> Bool {
        (0..<64).contains(cpu) && rawValue & (1 << UInt64(cpu)) != 0
    }
}
