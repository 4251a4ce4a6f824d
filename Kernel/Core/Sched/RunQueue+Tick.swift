// What a CPU's running task owes the clock and its neighbours: the timer tick
// spends its slice, a wake-up may preempt it, sched_yield() gives up its turn.
// Each returns a decision; the kernel does the context switch.

extension RunQueue {
    /// Charges one tick to the running task. When an RR, WRR or NORMAL slice runs
    /// out it gets a fresh one, computed from its weight at this moment (so a
    /// weight change shows here, at the next slice), and goes behind the others
    /// of its list. SCHED_FIFO has no slice. Returns whether to reschedule: true
    /// when `pickNext` would now choose another task.
    /// Linux: scheduler_tick() → task_tick_rt() / the Lab's task_tick_wrr()
    public mutating func tick<Pool: SchedEntityPool>(in pool: inout Pool) -> Bool {
        guard let c = current else { return nextToRun != nil }
        let e = pool[entity: c]
        if e.policy != .fifo {
            if e.timeSlice > 1 {
                pool[entity: c].timeSlice = e.timeSlice - 1
            } else {
                pool[entity: c].timeSlice = tunables.fullSlice(policy: e.policy, weight: e.weight)
                requeue(c, in: &pool)
            }
        }
        return nextToRun != c
    }

    /// Whether a task just enqueued here should take the CPU from the running
    /// one: it belongs to a higher class, or both are real-time and it has the
    /// higher priority. Equal priorities never preempt; they take turns by slice.
    /// Linux: wakeup_preempt() (check_preempt_curr()) → check_preempt_curr_rt()
    public func shouldPreempt<Pool: SchedEntityPool>(by woken: EntityIndex, in pool: Pool) -> Bool {
        let w = pool[entity: woken]
        let running = currentClass(in: pool)
        if w.policy.schedClass != running { return w.policy.schedClass > running }
        guard running == .rt, let c = current else { return false }
        return w.rtPriority > pool[entity: c].rtPriority
    }

    /// The running task goes behind the others of its list, keeping what is left
    /// of its slice (yielding must not buy a fresh slice); the kernel then calls
    /// `pickNext`. Linux: sys_sched_yield() → yield_task_rt()
    public mutating func yield<Pool: SchedEntityPool>(in pool: inout Pool) {
        guard let c = current else { return }
        requeue(c, in: &pool)
    }
}
