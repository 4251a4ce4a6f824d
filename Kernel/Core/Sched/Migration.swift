// A balancing decision is a value, so it can be tested without moving anything
// and the kernel can apply it under the two run-queue locks.

/// Move one queued task between CPUs. Linux: struct lb_env (src_cpu, dst_cpu) + detach_task()
public struct Migration: Equatable, Sendable {
    public var entity: EntityIndex
    public var from: Int
    public var to: Int

    public init(entity: EntityIndex, from: Int, to: Int) {
        self.entity = entity
        self.from = from
        self.to = to
    }
}

extension MutableCollection where Element == RunQueue {
    /// Carries out `migration`: dequeue from the source CPU, enqueue at the back of
    /// the destination's list with the slice it had left. The task must not be
    /// running. Linux: detach_task() + attach_task()
    public mutating func migrate<Pool: SchedEntityPool>(_ migration: Migration, in pool: inout Pool) {
        guard let src = firstIndex(where: { $0.cpu == migration.from }),
              let dst = firstIndex(where: { $0.cpu == migration.to })
        else { preconditionFailure("migration between unknown CPUs") }
        precondition(self[src].current != migration.entity, "cannot migrate a running task")
        self[src].dequeue(migration.entity, in: &pool)
        self[dst].enqueue(migration.entity, in: &pool)
    }
}
