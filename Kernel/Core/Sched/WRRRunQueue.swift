// WRR is plain round robin: one FIFO list, and weight only decides how long a
// task runs once it reaches the head. The queue also sums the weights, the
// load figure that placement and balancing compare between CPUs.

/// SCHED_WRR tasks of one CPU. Keel: the Lab 4 wrr_rq
struct WRRRunQueue: Sendable {
    /// Linux (Lab 4): wrr_rq->queue
    private(set) var list = RunList()
    /// Sum of the weights of the queued tasks, the running one included.
    /// Linux (Lab 4): wrr_rq->total_weight
    private(set) var totalWeight = 0

    init() {}

    mutating func enqueue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        list.append(index, in: &pool)
        totalWeight += pool[entity: index].weight.value
    }

    mutating func dequeue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        list.remove(index, in: &pool)
        totalWeight -= pool[entity: index].weight.value
    }

    /// Sends `index` behind the others: its turn is over.
    mutating func requeue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        list.moveToBack(index, in: &pool)
    }

    /// Accounts a queued task's weight change; the caller stores the new weight.
    mutating func reweight(from old: WRRWeight, to new: WRRWeight) {
        totalWeight += new.value - old.value
    }
}
