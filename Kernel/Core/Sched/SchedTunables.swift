// Slice lengths are specified in milliseconds, like Linux's sysctls, but the
// scheduler only sees timer ticks; this is the one place that converts, so a
// kernel running its timer at another HZ changes a single number.

/// Tick length and time-slice lengths. Linux: HZ, sched_rr_timeslice, sysctl_sched_base_slice
public struct SchedTunables: Sendable {
    /// Milliseconds between scheduler ticks. Linux: 1000 / HZ
    public var tickMilliseconds: Int
    /// WRR slice per unit of weight (Lab 4: 10 ms).
    public var wrrBaseSliceMilliseconds: Int
    /// SCHED_RR slice. Linux: RR_TIMESLICE (100 ms)
    public var rrSliceMilliseconds: Int
    /// Slice of Keel's NORMAL class. Linux derives CFS slices from weights and the
    /// number of runnable tasks; Keel uses plain round robin with this fixed slice.
    public var normalSliceMilliseconds: Int

    @inlinable public init(tickMilliseconds: Int = 10, wrrBaseSliceMilliseconds: Int = 10,
                           rrSliceMilliseconds: Int = 100, normalSliceMilliseconds: Int = 30) {
        precondition(tickMilliseconds > 0, "a tick must have a length")
        self.tickMilliseconds = tickMilliseconds
        self.wrrBaseSliceMilliseconds = wrrBaseSliceMilliseconds
        self.rrSliceMilliseconds = rrSliceMilliseconds
        self.normalSliceMilliseconds = normalSliceMilliseconds
    }

    /// Ticks covering `ms`, rounded up, at least one. Linux: msecs_to_jiffies()
    @inlinable public func ticks(milliseconds ms: Int) -> Int {
        Swift.max(1, (ms + tickMilliseconds - 1) / tickMilliseconds)
    }

    /// A full slice for a task of `policy` and `weight`, in ticks; 0 for SCHED_FIFO,
    /// which has no slice. Linux: sched_rr_timeslice / the Lab's get_rr_interval_wrr()
    @inlinable public func fullSlice(policy: SchedPolicy, weight: WRRWeight) -> Int {
        switch policy.schedClass {
        case .rt: policy == .fifo ? 0 : ticks(milliseconds: rrSliceMilliseconds)
        case .wrr: ticks(milliseconds: weight.value * wrrBaseSliceMilliseconds)
        case .normal: ticks(milliseconds: normalSliceMilliseconds)
        case .idle: 0
        }
    }
}
