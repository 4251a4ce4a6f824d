// The real-time class keeps one run list per priority and a bitmap of the
// non-empty ones, so picking the most urgent task is a find-first-set over two
// words plus a list head: O(1) however many tasks are queued.

/// SCHED_FIFO/SCHED_RR tasks of one CPU. Linux: struct rt_rq with struct rt_prio_array
struct RTRunQueue: Sendable {
    /// One list per priority, index 0 = priority 99. Linux: rt_prio_array.queue
    private(set) var queues = InlineArray<99, RunList>(repeating: RunList())
    /// Bit `k` set ⇔ `queues[k]` is non-empty. Linux: rt_prio_array.bitmap
    private(set) var bitmap = InlineArray<2, UInt64>(repeating: 0)
    /// Linux: rt_rq->rt_nr_running
    private(set) var count = 0

    init() {}

    /// Linux: enqueue_rt_entity() → __enqueue_rt_entity()
    mutating func enqueue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        let k = pool[entity: index].rtPriority.queueIndex
        queues[k].append(index, in: &pool)
        bitmap[k >> 6] |= 1 << UInt64(k & 63)
        count += 1
    }

    /// Linux: dequeue_rt_entity() → __delist_rt_entity()
    mutating func dequeue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        let k = pool[entity: index].rtPriority.queueIndex
        queues[k].remove(index, in: &pool)
        if queues[k].isEmpty { bitmap[k >> 6] &= ~(1 << UInt64(k & 63)) }
        count -= 1
    }

    /// Sends `index` behind the others of its priority. Linux: requeue_rt_entity()
    mutating func requeue<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        queues[pool[entity: index].rtPriority.queueIndex].moveToBack(index, in: &pool)
    }

    /// Head of the most urgent non-empty list. Linux: pick_next_rt_entity() with sched_find_first_bit()
    var first: EntityIndex? {
        let k = bitmap[0] != 0 ? bitmap[0].trailingZeroBitCount : 64 + bitmap[1].trailingZeroBitCount
        return k < RTPriority.levels ? queues[k].head : nil
    }

    /// Calls `body` for every queued entity, most urgent first.
    func forEach<Pool: SchedEntityPool>(in pool: Pool, _ body: (EntityIndex) -> Void) {
        for word in 0..<2 {
            var bits = bitmap[word]
            while bits != 0 {
                queues[word * 64 + bits.trailingZeroBitCount].forEach(in: pool, body)
                bits &= bits - 1
            }
        }
    }
}
