// The scheduler's part of a task. Entities live in a table owned by the kernel
// (SchedEntityPool) and run queues link them by index, so enqueueing, dequeueing
// and picking never allocate and a run queue is a few words plus list heads.

/// Index of an entity in its `SchedEntityPool`.
public typealias EntityIndex = Int32

/// What the scheduler knows about one task. Linux: the scheduling fields of
/// task_struct plus sched_rt_entity (run_list, time_slice) and the Lab's sched_wrr_entity
public struct SchedEntity: Sendable {
    /// Marks the end of a run list in `next`/`prev`.
    @inlinable public static var none: EntityIndex { -1 }

    /// Linux: task->pid
    public let pid: Int32
    /// Thread group (process) id. Linux: task->tgid
    public let tgid: Int32
    /// Changed through `RunQueue.setScheduler`, which moves the entity between class queues.
    public internal(set) var policy: SchedPolicy
    /// Used while the policy is FIFO or RR; kept across other policies as Linux does.
    public internal(set) var rtPriority: RTPriority
    /// Changed through `RunQueue.setWeight`, which keeps the CPU's total weight right.
    public internal(set) var weight: WRRWeight
    /// Ticks left in the current slice; 0 means none assigned yet, and the next
    /// enqueue assigns a full one. Linux: rt.time_slice / wrr.time_slice
    public internal(set) var timeSlice: Int
    /// CPUs the task may run on. Narrowing it under a queued task is the
    /// caller's to follow up: dequeue, `selectCPU`, enqueue there.
    /// Linux: task->cpus_mask (__set_cpus_allowed_ptr() migrates)
    public var allowedCPUs: CPUMask
    /// CPU whose run queue holds (or last held) the entity. Linux: task_cpu()
    public internal(set) var cpu: Int
    /// True while linked on a run queue. Linux: se->on_rq
    public internal(set) var onRunQueue: Bool
    /// Run-list links. Linux: rt.run_list / wrr.run_list
    var next: EntityIndex
    var prev: EntityIndex

    public init(pid: Int32, tgid: Int32, policy: SchedPolicy = .wrr, rtPriority: RTPriority = .min,
                           weight: WRRWeight = .default, allowedCPUs: CPUMask = .all, cpu: Int = 0) {
        self.pid = pid
        self.tgid = tgid
        self.policy = policy
        self.rtPriority = rtPriority
        self.weight = weight
        self.timeSlice = 0
        self.allowedCPUs = allowedCPUs
        self.cpu = cpu
        self.onRunQueue = false
        self.next = SchedEntity.none
        self.prev = SchedEntity.none
    }

    /// The entity of a new child (a process if `tgid == pid`, else a thread): same
    /// policy, priority, weight, affinity and CPU as the parent, but not its
    /// remaining slice (otherwise forking would mint CPU time): the child gets a
    /// full slice when first enqueued. Linux: sched_fork()
    public func forked(pid: Int32, tgid: Int32) -> SchedEntity {
        SchedEntity(pid: pid, tgid: tgid, policy: policy, rtPriority: rtPriority,
                    weight: weight, allowedCPUs: allowedCPUs, cpu: cpu)
    }
}
