// Where a new or waking task should run. The decision reads a consistent view
// of every CPU's run queue (the kernel holds their locks, or copies them) and
// changes nothing; the kernel then enqueues the task on the chosen CPU.

extension Collection where Element == RunQueue {
    /// The allowed CPU with the least total WRR weight; among equals, the one
    /// holding more tasks of the same thread group (they share an address space,
    /// so caches and TLB entries are warm), then the lowest CPU number. Nil if no
    /// CPU here is in the task's mask. The task must not be queued, or its own
    /// weight would count against its current CPU.
    /// Linux (Lab 4): select_task_rq_wrr()
    public func selectCPU<Pool: SchedEntityPool>(for index: EntityIndex, in pool: Pool) -> Int? {
        let e = pool[entity: index]
        precondition(!e.onRunQueue, "select a CPU for a task that is not queued")
        var best: (cpu: Int, weight: Int, siblings: Int)?
        for rq in self where e.allowedCPUs.contains(cpu: rq.cpu) {
            if let b = best, rq.totalWeight > b.weight { continue }
            let siblings = rq.count(tgid: e.tgid, in: pool)
            if let b = best, rq.totalWeight == b.weight,
               siblings < b.siblings || (siblings == b.siblings && rq.cpu > b.cpu) { continue }
            best = (rq.cpu, rq.totalWeight, siblings)
        }
        return best?.cpu
    }
}

extension RunQueue {
    /// Queued tasks of thread group `tgid`, any class. O(nr_running); placement
    /// only needs it to break ties.
    func count<Pool: SchedEntityPool>(tgid: Int32, in pool: Pool) -> Int {
        var n = 0
        forEachQueued(in: pool) { if pool[entity: $0].tgid == tgid { n += 1 } }
        return n
    }
}
