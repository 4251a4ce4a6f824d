// One run queue per CPU holds every runnable task of that CPU, split by class.
// The running task stays linked at the head of its list (as in Linux's RT
// class), so `nrRunning` and the WRR total weight count it, and a tick that ends
// its slice only has to move it to the back.

/// The runnable tasks of one CPU. Linux: struct rq
public struct RunQueue: Sendable {
    /// Linux: rq->cpu
    public let cpu: Int
    public let tunables: SchedTunables
    /// The task this CPU runs; nil while it runs its idle task. Linux: rq->curr
    public internal(set) var current: EntityIndex?
    /// Linux: rq->rt
    var rt = RTRunQueue()
    /// Keel (Lab 4): rq->wrr
    var wrr = WRRRunQueue()
    /// Keel's NORMAL class: a FIFO with a fixed slice. Linux: rq->cfs, a
    /// red-black tree ordered by virtual runtime, which Keel does not implement.
    var normal = RunList()

    public init(cpu: Int, tunables: SchedTunables = SchedTunables()) {
        self.cpu = cpu
        self.tunables = tunables
    }

    /// Runnable tasks of every class, the running one included. Linux: rq->nr_running
    public var nrRunning: Int { rt.count + wrr.list.count + normal.count }
    /// Runnable SCHED_WRR tasks. Keel (Lab 4): wrr_rq->wrr_nr_running
    public var nrWRR: Int { wrr.list.count }
    /// Sum of the weights of the runnable SCHED_WRR tasks: this CPU's load.
    public var totalWeight: Int { wrr.totalWeight }

    /// Makes a task runnable here, at the back of its class's list; it gets a full
    /// slice if it has none. The task must be allowed on this CPU.
    /// Linux: activate_task() → enqueue_task()
    public mutating func enqueue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        let e = pool[entity: index]
        precondition(!e.onRunQueue, "entity already on a run queue")
        precondition(e.allowedCPUs.contains(cpu: cpu), "CPU not in the entity's affinity mask")
        pool[entity: index].cpu = cpu
        pool[entity: index].onRunQueue = true
        if e.timeSlice == 0 {
            pool[entity: index].timeSlice = tunables.fullSlice(policy: e.policy, weight: e.weight)
        }
        switch e.policy.schedClass {
        case .rt: rt.enqueue(index, in: &pool)
        case .wrr: wrr.enqueue(index, in: &pool)
        case .normal: normal.append(index, in: &pool)
        case .idle: preconditionFailure("no policy belongs to the idle class")
        }
    }

    /// Takes a task off this CPU (it blocked, exited or migrates). If it was
    /// running, the CPU has no current task until the next `pickNext`.
    /// Linux: deactivate_task() → dequeue_task()
    public mutating func dequeue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        let e = pool[entity: index]
        precondition(e.onRunQueue && e.cpu == cpu, "entity not on this run queue")
        switch e.policy.schedClass {
        case .rt: rt.dequeue(index, in: &pool)
        case .wrr: wrr.dequeue(index, in: &pool)
        case .normal: normal.remove(index, in: &pool)
        case .idle: preconditionFailure("no policy belongs to the idle class")
        }
        pool[entity: index].onRunQueue = false
        if current == index { current = nil }
    }

    /// Chooses the task to run: the head of the highest non-empty class, in O(1);
    /// nil means run the idle task. It becomes `current` and stays queued.
    /// Linux: pick_next_task() (then rq->curr = next in __schedule())
    public mutating func pickNext() -> EntityIndex? {
        current = nextToRun
        return current
    }

    /// What `pickNext` would choose now.
    var nextToRun: EntityIndex? {
        if let i = rt.first { return i }
        if !wrr.list.isEmpty { return wrr.list.head }
        if !normal.isEmpty { return normal.head }
        return nil
    }

    /// The class of the running task (`.idle` while the idle task runs).
    public func currentClass<Pool: SchedEntityPool>(in pool: Pool) -> SchedClass {
        guard let c = current else { return .idle }
        return pool[entity: c].policy.schedClass
    }

    /// Sends a queued task behind the others of its list (and priority).
    mutating func requeue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        switch pool[entity: index].policy.schedClass {
        case .rt: rt.requeue(index, in: &pool)
        case .wrr: wrr.requeue(index, in: &pool)
        case .normal: normal.moveToBack(index, in: &pool)
        case .idle: preconditionFailure("no policy belongs to the idle class")
        }
    }

    /// Calls `body` for every queued task: RT by priority, then WRR, then NORMAL,
    /// each in run order. `body` must not change the queue.
    public func forEachQueued<Pool: SchedEntityPool>(in pool: Pool, _ body: (EntityIndex) -> Void) {
        rt.forEach(in: pool, body)
        wrr.list.forEach(in: pool, body)
        normal.forEach(in: pool, body)
    }

    /// Calls `body` for each SCHED_WRR task in run order.
    public func forEachWRR<Pool: SchedEntityPool>(in pool: Pool, _ body: (EntityIndex) -> Void) {
        wrr.list.forEach(in: pool, body)
    }
}
