// Changing how a task is scheduled while it may be queued: the class queues
// index tasks by policy and priority and sum their weights, so these changes go
// through the run queue that holds the task (any run queue if it is not queued).

extension RunQueue {
    /// Sets a task's WRR weight. The CPU's total weight changes at once, since it
    /// is the load balancing compares; the slice in progress is neither cut nor
    /// extended, and the new weight sizes the next one (Lab 4: "the new weight
    /// applies when the next slice is assigned"). Keel: sched_setweight()
    public mutating func setWeight<Pool: SchedEntityPool>(_ index: EntityIndex, to weight: WRRWeight,
                                                          in pool: inout Pool) {
        let e = pool[entity: index]
        if e.onRunQueue {
            precondition(e.cpu == cpu, "entity queued on another CPU")
            if e.policy.schedClass == .wrr { wrr.reweight(from: e.weight, to: weight) }
        }
        pool[entity: index].weight = weight
    }

    /// Sets a task's policy and `sched_param.sched_priority`: the RT priority
    /// (1…99) for FIFO and RR; the weight (1…20, or 0 to keep it) for WRR; 0 for
    /// the NORMAL policies. Returns false (EINVAL), changing nothing, for any other
    /// priority. A new policy starts a fresh slice; a new RT priority moves the
    /// task to the back of its new list; a WRR weight change acts as `setWeight`.
    /// The kernel should reschedule afterwards if the task is running.
    /// Linux: __sched_setscheduler() (dequeue, __setscheduler_params(), enqueue)
    public mutating func setScheduler<Pool: SchedEntityPool>(_ index: EntityIndex, policy: SchedPolicy,
                                                             priority: Int, in pool: inout Pool) -> Bool {
        let old = pool[entity: index]
        var rtPriority = old.rtPriority
        var weight = old.weight
        switch policy.schedClass {
        case .rt:
            guard let p = RTPriority(priority) else { return false }
            rtPriority = p
        case .wrr:
            if priority != 0 {
                guard let w = WRRWeight(priority) else { return false }
                weight = w
            }
        case .normal, .idle:
            guard priority == 0 else { return false }
        }
        if policy == old.policy && rtPriority == old.rtPriority {
            setWeight(index, to: weight, in: &pool)
            return true
        }
        let wasCurrent = current == index
        if old.onRunQueue { dequeue(index, in: &pool) }
        pool[entity: index].policy = policy
        pool[entity: index].rtPriority = rtPriority
        pool[entity: index].weight = weight
        if policy != old.policy { pool[entity: index].timeSlice = 0 }
        if old.onRunQueue { enqueue(index, in: &pool) }
        if wasCurrent { current = index }
        return true
    }
}
