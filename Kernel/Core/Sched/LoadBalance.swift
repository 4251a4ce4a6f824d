// WRR load balancing compares CPUs by total weight, the CPU time their queues
// ask for per round. Only waiting (not running) SCHED_WRR tasks whose affinity
// allows the destination are moved; other classes stay where placement put them.
// A move to a CPU of another node must also pass NodeBalance's rule.

extension Collection where Element == RunQueue {
    /// The periodic balancer: from the heaviest CPU (ties: lowest number) to the
    /// lightest, the move that leaves the pair's weights closest, if it narrows
    /// the gap. Moving weight w from heavy to light narrows it exactly when
    /// 0 < w < heavy − light, and then both new totals lie strictly between the
    /// old two, so balancing never widens the spread across CPUs and, since the
    /// sum of squared totals falls at every move, repeating it terminates.
    /// When the lightest CPU is on another node, the task must also satisfy
    /// NodeBalance.mayCross; failing that, the lightest CPU of the heavy CPU's
    /// own node is tried instead. `nodeOf` gives each CPU's node.
    /// Linux (Lab 4): load_balance_wrr() from trigger_load_balance();
    /// Linux: rebalance_domains() over the sched domains, NUMA level last
    public func balance<Pool: SchedEntityPool>(in pool: Pool, nodeOf: (Int) -> Int = { _ in 0 }) -> Migration? {
        // Positions, not copies: a RunQueue is large, and this runs in the
        // timer interrupt on whatever kernel stack it lands on.
        guard var heavy = indices.first else { return nil }
        for i in indices.dropFirst() where isHeavier(i, than: heavy) { heavy = i }
        let home = nodeOf(self[heavy].cpu)
        guard let light = lightest(where: { _ in true }) else { return nil }
        if nodeOf(self[light].cpu) != home,
           let i = self[heavy].bestPull(to: self[light], narrowing: true, crossingNodes: true, in: pool) {
            return Migration(entity: i, from: self[heavy].cpu, to: self[light].cpu)
        }
        guard let near = lightest(where: { nodeOf($0) == home }) else { return nil }
        return self[heavy].bestPull(to: self[near], narrowing: true, crossingNodes: false, in: pool).map {
            Migration(entity: $0, from: self[heavy].cpu, to: self[near].cpu)
        }
    }

    /// A CPU with nothing to run takes a waiting WRR task from the heaviest CPU
    /// of its own node that has one it may run, choosing the task that best
    /// evens the two; failing that, from the heaviest CPU of another node that
    /// has one NodeBalance lets cross. Nil if `cpu` is busy or nothing can come.
    /// Linux: newidle_balance() (idle_balance()), which walks the domains from
    /// the smallest up and stops at the first that gives it a task
    public func idlePull<Pool: SchedEntityPool>(cpu: Int, in pool: Pool, nodeOf: (Int) -> Int = { _ in 0 }) -> Migration? {
        guard let idle = first(where: { $0.cpu == cpu }), idle.nrRunning == 0 else { return nil }
        let home = nodeOf(cpu)
        return idlePull(to: idle, crossingNodes: false, in: pool, where: { $0 != cpu && nodeOf($0) == home })
            ?? idlePull(to: idle, crossingNodes: true, in: pool, where: { nodeOf($0) != home })
    }

    private func idlePull<Pool: SchedEntityPool>(to idle: RunQueue, crossingNodes: Bool, in pool: Pool,
                                                 where filter: (Int) -> Bool) -> Migration? {
        var best: (move: Migration, weight: Int)?
        for rq in self where filter(rq.cpu) {
            if let b = best, rq.totalWeight < b.weight || (rq.totalWeight == b.weight && rq.cpu > b.move.from) {
                continue
            }
            if let i = rq.bestPull(to: idle, narrowing: false, crossingNodes: crossingNodes, in: pool) {
                best = (Migration(entity: i, from: rq.cpu, to: idle.cpu), rq.totalWeight)
            }
        }
        return best?.move
    }

    /// Heavier by total weight; among equals, the lower CPU number counts as heavier.
    private func isHeavier(_ a: Index, than b: Index) -> Bool {
        self[a].totalWeight > self[b].totalWeight || (self[a].totalWeight == self[b].totalWeight && self[a].cpu < self[b].cpu)
    }

    /// The position of the lightest CPU that passes `filter` (ties: lowest number).
    private func lightest(where filter: (Int) -> Bool) -> Index? {
        var light: Index?
        for i in indices where filter(self[i].cpu) {
            if let l = light, self[i].totalWeight > self[l].totalWeight
                || (self[i].totalWeight == self[l].totalWeight && self[i].cpu > self[l].cpu) { continue }
            light = i
        }
        return light
    }
}

extension RunQueue {
    /// The waiting WRR task allowed on `target` whose move leaves the two total
    /// weights closest (ties: earliest in run order). With `narrowing`, only a
    /// move that shrinks the gap qualifies; an idle CPU takes work regardless.
    /// With `crossingNodes`, only a task NodeBalance lets cross.
    func bestPull<Pool: SchedEntityPool>(to target: RunQueue, narrowing: Bool, crossingNodes: Bool,
                                         in pool: Pool) -> EntityIndex? {
        let gap = totalWeight - target.totalWeight
        var best: (index: EntityIndex, gap: Int)?
        forEachWRR(in: pool) { i in
            let e = pool[entity: i]
            guard i != current, e.allowedCPUs.contains(cpu: target.cpu) else { return }
            let newGap = abs(gap - 2 * e.weight.value)
            guard !narrowing || newGap < gap else { return }
            guard !crossingNodes || NodeBalance.mayCross(heavier: totalWeight, lighter: target.totalWeight,
                                                         weight: e.weight.value) else { return }
            if let b = best, b.gap <= newGap { return }
            best = (i, newGap)
        }
        return best?.index
    }
}
