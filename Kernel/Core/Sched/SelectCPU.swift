// Where a new or waking task should run. The decision reads a consistent view
// of every CPU's run queue (the kernel holds their locks, or copies them) and
// changes nothing; the kernel then enqueues the task on the chosen CPU.

extension Collection where Element == RunQueue {
    /// The allowed CPU with the least total WRR weight within the task's node
    /// (the node of the CPU it last ran on; a new task's is its parent's), or
    /// the lightest CPU of another node when NodeBalance would let the task
    /// cross to it from the home CPU (placing it at home would only hand the
    /// balancer that move), or anywhere allowed when no CPU of its node is.
    /// Among equals: the CPU holding more tasks of the same thread group (they
    /// share an address space, so caches and TLB entries are warm), then the
    /// lowest CPU number. Nil if no CPU here is in the task's mask. The task
    /// must not be queued, or its own weight would count against its current
    /// CPU. `nodeOf` gives each CPU's node (all 0 on a machine of one node).
    /// Linux (Lab 4): select_task_rq_wrr(); Linux: select_task_rq_fair()'s
    /// preference for the waker's/previous CPU's domain
    public func selectCPU<Pool: SchedEntityPool>(for index: EntityIndex, in pool: Pool,
                                                 nodeOf: (Int) -> Int = { _ in 0 }) -> Int? {
        let e = pool[entity: index]
        precondition(!e.onRunQueue, "select a CPU for a task that is not queued")
        let home = nodeOf(e.cpu)
        guard let anywhere = lightest(for: e, in: pool, where: { _ in true }) else { return nil }
        guard nodeOf(anywhere.cpu) != home, let local = lightest(for: e, in: pool, where: { nodeOf($0) == home }) else {
            return anywhere.cpu
        }
        let w = e.weight.value
        return NodeBalance.mayCross(heavier: local.weight + w, lighter: anywhere.weight, weight: w) ? anywhere.cpu : local.cpu
    }

    /// The lightest CPU among those `e` may run on that pass `filter`, with
    /// selectCPU's tie-breaks.
    private func lightest<Pool: SchedEntityPool>(for e: SchedEntity, in pool: Pool,
                                                 where filter: (Int) -> Bool) -> (cpu: Int, weight: Int)? {
        var best: (cpu: Int, weight: Int, siblings: Int)?
        for rq in self where e.allowedCPUs.contains(cpu: rq.cpu) && filter(rq.cpu) {
            if let b = best, rq.totalWeight > b.weight { continue }
            let siblings = rq.count(tgid: e.tgid, in: pool)
            if let b = best, rq.totalWeight == b.weight,
               siblings < b.siblings || (siblings == b.siblings && rq.cpu > b.cpu) { continue }
            best = (rq.cpu, rq.totalWeight, siblings)
        }
        return best.map { ($0.cpu, $0.weight) }
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
