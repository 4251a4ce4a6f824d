// WRR load balancing compares CPUs by total weight, the CPU time their queues
// ask for per round. Only waiting (not running) SCHED_WRR tasks whose affinity
// allows the destination are moved; other classes stay where placement put them.

extension Collection where Element == RunQueue {
    /// The periodic balancer: between the heaviest and the lightest CPU (ties:
    /// lowest number), the move that leaves the pair's weights closest, if it
    /// narrows the gap. Moving weight w from heavy to light narrows it exactly
    /// when 0 < w < heavy − light, and then both new totals lie strictly between
    /// the old two, so balancing never widens the spread across CPUs and, since
    /// the sum of squared totals falls at every move, repeating it terminates.
    /// Linux (Lab 4): load_balance_wrr() from trigger_load_balance()
    public func balance<Pool: SchedEntityPool>(in pool: Pool) -> Migration? {
        // Positions, not copies: a RunQueue is large, and this runs in the
        // timer interrupt on whatever kernel stack it lands on.
        guard var heavy = indices.first, var light = indices.first else { return nil }
        for i in indices.dropFirst() {
            let rq = self[i]
            if rq.totalWeight > self[heavy].totalWeight || (rq.totalWeight == self[heavy].totalWeight && rq.cpu < self[heavy].cpu) {
                heavy = i
            }
            if rq.totalWeight < self[light].totalWeight || (rq.totalWeight == self[light].totalWeight && rq.cpu < self[light].cpu) {
                light = i
            }
        }
        return self[heavy].bestPull(to: self[light], narrowing: true, in: pool).map {
            Migration(entity: $0, from: self[heavy].cpu, to: self[light].cpu)
        }
    }

    /// A CPU with nothing to run takes a waiting WRR task from the heaviest CPU
    /// that has one it may run, choosing the task that best evens the two. Nil if
    /// `cpu` is busy or nothing can come. Linux: newidle_balance() (idle_balance())
    public func idlePull<Pool: SchedEntityPool>(cpu: Int, in pool: Pool) -> Migration? {
        guard let idle = first(where: { $0.cpu == cpu }), idle.nrRunning == 0 else { return nil }
        var best: (move: Migration, weight: Int)?
        for rq in self where rq.cpu != cpu {
            if let b = best, rq.totalWeight < b.weight || (rq.totalWeight == b.weight && rq.cpu > b.move.from) {
                continue
            }
            if let i = rq.bestPull(to: idle, narrowing: false, in: pool) {
                best = (Migration(entity: i, from: rq.cpu, to: cpu), rq.totalWeight)
            }
        }
        return best?.move
    }
}

extension RunQueue {
    /// The waiting WRR task allowed on `target` whose move leaves the two total
    /// weights closest (ties: earliest in run order). With `narrowing`, only a
    /// move that shrinks the gap qualifies; an idle CPU takes work regardless.
    func bestPull<Pool: SchedEntityPool>(to target: RunQueue, narrowing: Bool, in pool: Pool) -> EntityIndex? {
        let gap = totalWeight - target.totalWeight
        var best: (index: EntityIndex, gap: Int)?
        forEachWRR(in: pool) { i in
            let e = pool[entity: i]
            guard i != current, e.allowedCPUs.contains(cpu: target.cpu) else { return }
            let newGap = abs(gap - 2 * e.weight.value)
            guard !narrowing || newGap < gap else { return }
            if let b = best, b.gap <= newGap { return }
            best = (i, newGap)
        }
        return best?.index
    }
}
