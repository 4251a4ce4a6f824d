// A FIFO of entities threaded through their `next`/`prev` fields (an intrusive
// doubly linked list), so every operation is O(1) and touches no heap. Each
// class queue is built from these: one per RT priority, one for WRR, one for NORMAL.

/// A run list: entities in the order they will run. Linux: struct list_head (run_list)
public struct RunList: Sendable {
    /// Next to run, or `SchedEntity.none`.
    public private(set) var head: EntityIndex = SchedEntity.none
    public private(set) var tail: EntityIndex = SchedEntity.none
    private var linked: Int32 = 0

    /// Entities linked. Linux: rt_nr_running / wrr_nr_running
    public var count: Int { Int(linked) }

    public init() {}

    public var isEmpty: Bool { head == SchedEntity.none }

    /// Links `index` at the back. Linux: list_add_tail()
    mutating func append<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        pool[entity: index].prev = tail
        pool[entity: index].next = SchedEntity.none
        if tail == SchedEntity.none { head = index } else { pool[entity: tail].next = index }
        tail = index
        linked += 1
    }

    /// Unlinks `index`, which must be on this list. Linux: list_del_init()
    mutating func remove<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        let e = pool[entity: index]
        if e.prev == SchedEntity.none { head = e.next } else { pool[entity: e.prev].next = e.next }
        if e.next == SchedEntity.none { tail = e.prev } else { pool[entity: e.next].prev = e.prev }
        pool[entity: index].next = SchedEntity.none
        pool[entity: index].prev = SchedEntity.none
        linked -= 1
    }

    /// Sends `index` to the back, behind every other entity. Linux: list_move_tail()
    mutating func moveToBack<Pool: SchedEntityPool>(_ index: EntityIndex, in pool: inout Pool) {
        guard tail != index else { return }
        remove(index, in: &pool)
        append(index, in: &pool)
    }

    /// Calls `body` for each entity from head to tail; `body` must not relink.
    func forEach<Pool: SchedEntityPool>(in pool: Pool, _ body: (EntityIndex) -> Void) {
        var i = head
        while i != SchedEntity.none {
            body(i)
            i = pool[entity: i].next
        }
    }
}
