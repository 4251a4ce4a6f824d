// The load average: the number of runnable tasks, sampled every 5 seconds and
// smoothed exponentially over 1, 5 and 15 minutes, in Linux's fixed point
// (11 fraction bits), as uptime, top, /proc/loadavg and sysinfo(2) show it.
// Linux: kernel/sched/loadavg.c (calc_load(), calc_global_load()), include/linux/sched/loadavg.h

/// The three averages and when the next sample is due. Linux: avenrun[], calc_load_update
public struct LoadAverage: Sendable {
    /// Fraction bits of the fixed-point values. Linux: FSHIFT
    public static let fractionBits = 11
    /// 1.0. Linux: FIXED_1
    public static let one: UInt64 = 1 << 11
    /// exp(-5 s / 1, 5, 15 min) in fixed point. Linux: EXP_1, EXP_5, EXP_15
    static let decay: (UInt64, UInt64, UInt64) = (1884, 2014, 2037)

    /// The 1, 5 and 15 minute averages, fixed point (a tuple, not an array: the
    /// tick updates them with interrupts off, where nothing may allocate).
    /// Linux: avenrun
    public private(set) var averages: (UInt64, UInt64, UInt64) = (0, 0, 0)
    /// The tick of the next sample.
    public private(set) var nextSample: UInt64

    /// Ticks between samples: 5 seconds and one tick. Linux: LOAD_FREQ
    public let interval: UInt64

    public init(ticksPerSecond: UInt64) {
        interval = 5 * ticksPerSecond + 1
        nextSample = interval
    }

    /// At tick `now`, with `active` tasks runnable: folds in a sample when one
    /// is due. Linux: calc_global_load()
    public mutating func tick(_ now: UInt64, active: Int) {
        guard now >= nextSample else { return }
        nextSample = now + interval
        let sample = UInt64(max(active, 0)) * Self.one
        averages = (Self.fold(averages.0, decay: Self.decay.0, sample: sample),
                    Self.fold(averages.1, decay: Self.decay.1, sample: sample),
                    Self.fold(averages.2, decay: Self.decay.2, sample: sample))
    }

    /// One exponential step, rounding up while the load grows. Linux: calc_load()
    static func fold(_ load: UInt64, decay: UInt64, sample: UInt64) -> UInt64 {
        var next = load * decay + sample * (one - decay)
        if sample >= load { next += one - 1 }
        return next / one
    }

    /// The averages as sysinfo(2) reports them, with 16 fraction bits.
    /// Linux: avenrun[i] << (SI_LOAD_SHIFT - FSHIFT)
    public var sysinfoLoads: [UInt64] {
        [averages.0, averages.1, averages.2].map { $0 << UInt64(16 - Self.fractionBits) }
    }
}
