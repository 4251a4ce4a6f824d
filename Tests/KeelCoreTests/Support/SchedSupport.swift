// Test fixtures for the scheduler: a deterministic PRNG, a machine of per-CPU
// run queues over a host-allocated entity table, a tick simulator, and an
// invariant checker that walks every run list in both directions.
import XCTest
@testable import KeelCore


extension SplitMix64 {
    mutating func weight() -> WRRWeight { WRRWeight(1 + below(20))! }
}

/// A pool that counts entity accesses, to show an operation's cost does not
/// grow with the queue length.
struct SchedCountingPool: SchedEntityPool {
    final class Counter { var accesses = 0 }
    var base: UnsafeMutableBufferPointer<SchedEntity>
    let counter = Counter()
    subscript(entity index: EntityIndex) -> SchedEntity {
        get { counter.accesses += 1; return base[entity: index] }
        set { counter.accesses += 1; base[entity: index] = newValue }
    }
}

/// Per-CPU run queues (cpu k at index k) over one entity table.
final class SchedMachine {
    var pool: UnsafeMutableBufferPointer<SchedEntity>
    var runQueues: [RunQueue]
    private(set) var count = 0

    init(cpus: Int, capacity: Int = 256, tunables: SchedTunables = SchedTunables()) {
        pool = .allocate(capacity: capacity)
        pool.initialize(repeating: SchedEntity(pid: -1, tgid: -1))
        runQueues = (0..<cpus).map { RunQueue(cpu: $0, tunables: tunables) }
    }
    deinit { pool.deallocate() }

    /// Stores a (not yet runnable) entity and returns its index.
    @discardableResult
    func add(_ e: SchedEntity) -> EntityIndex {
        pool[count] = e
        count += 1
        return EntityIndex(count - 1)
    }

    /// Adds a task with pid = index + 1 (tgid defaults to its pid).
    @discardableResult
    func task(_ policy: SchedPolicy = .wrr, weight: Int = 10, rt: Int = 1, tgid: Int32? = nil,
              allowed: CPUMask = .all) -> EntityIndex {
        let pid = Int32(count + 1)
        return add(SchedEntity(pid: pid, tgid: tgid ?? pid, policy: policy, rtPriority: RTPriority(rt)!,
                               weight: WRRWeight(weight)!, allowedCPUs: allowed))
    }

    subscript(i: EntityIndex) -> SchedEntity { pool[entity: i] }
    var indices: Range<EntityIndex> { 0..<EntityIndex(count) }

    func enqueue(_ i: EntityIndex, cpu: Int) { runQueues[cpu].enqueue(i, in: &pool) }
    func dequeue(_ i: EntityIndex) { runQueues[pool[entity: i].cpu].dequeue(i, in: &pool) }
    @discardableResult func pick(cpu: Int) -> EntityIndex? { runQueues[cpu].pickNext() }
    func tick(cpu: Int) -> Bool { runQueues[cpu].tick(in: &pool) }
    func setWeight(_ i: EntityIndex, _ w: Int) {
        runQueues[pool[entity: i].cpu].setWeight(i, to: WRRWeight(w)!, in: &pool)
    }

    /// Places a not-queued task with selectCPU and enqueues it there.
    @discardableResult func place(_ i: EntityIndex) -> Int? {
        guard let cpu = runQueues.selectCPU(for: i, in: pool) else { return nil }
        enqueue(i, cpu: cpu)
        return cpu
    }

    func migrate(_ m: Migration) { runQueues.migrate(m, in: &pool) }

    var totals: [Int] { runQueues.map(\.totalWeight) }
    /// Spread of total weights across CPUs.
    var gap: Int { totals.max()! - totals.min()! }

    /// Runs `ticks` ticks on `cpu`, rescheduling when told; returns ticks run per pid.
    func run(cpu: Int, ticks: Int) -> [Int32: Int] {
        var ran: [Int32: Int] = [:]
        if runQueues[cpu].current == nil { pick(cpu: cpu) }
        for _ in 0..<ticks {
            if let c = runQueues[cpu].current { ran[pool[entity: c].pid, default: 0] += 1 }
            if tick(cpu: cpu) { pick(cpu: cpu) }
        }
        return ran
    }

    /// pids of the WRR tasks on `cpu`, in run order.
    func wrrOrder(cpu: Int) -> [Int32] {
        var pids: [Int32] = []
        runQueues[cpu].forEachWRR(in: pool) { pids.append(pool[entity: $0].pid) }
        return pids
    }

    var procSchedWRR: String {
        var s = ""
        runQueues.writeSchedWRR(in: pool, to: &s)
        return s
    }

    /// Every queued entity is on exactly one list, of the right class, priority and
    /// CPU, links agree both ways, the RT bitmap matches the lists, and the counters
    /// match the lists.
    func checkInvariants(file: StaticString = #filePath, line: UInt = #line) {
        var seen = Set<EntityIndex>()
        func walk(_ list: RunList, cpu: Int, _ accept: (SchedEntity) -> Bool) -> [EntityIndex] {
            var out: [EntityIndex] = []
            var prev = SchedEntity.none
            var i = list.head
            while i != SchedEntity.none {
                let e = pool[entity: i]
                XCTAssertEqual(e.prev, prev, "back link of pid \(e.pid)", file: file, line: line)
                XCTAssertTrue(e.onRunQueue && e.cpu == cpu && accept(e), "pid \(e.pid) misfiled", file: file, line: line)
                XCTAssertTrue(e.allowedCPUs.contains(cpu: cpu), "pid \(e.pid) outside its mask", file: file, line: line)
                XCTAssertGreaterThan(e.timeSlice, e.policy == .fifo ? -1 : 0, file: file, line: line)
                XCTAssertTrue(seen.insert(i).inserted, "pid \(e.pid) on two lists", file: file, line: line)
                out.append(i)
                prev = i
                i = e.next
                if out.count > count { XCTFail("cycle", file: file, line: line); break }
            }
            XCTAssertEqual(list.tail, prev, file: file, line: line)
            XCTAssertEqual(list.count, out.count, file: file, line: line)
            return out
        }
        for rq in runQueues {
            var rtCount = 0
            for k in 0..<RTPriority.levels {
                let list = walk(rq.rt.queues[k], cpu: rq.cpu) { $0.policy.schedClass == .rt && $0.rtPriority.queueIndex == k }
                rtCount += list.count
                let bit = rq.rt.bitmap[k >> 6] & (1 << UInt64(k & 63)) != 0
                XCTAssertEqual(bit, !list.isEmpty, "bitmap bit \(k) on cpu\(rq.cpu)", file: file, line: line)
            }
            XCTAssertEqual(rq.rt.bitmap[1] >> (UInt64(RTPriority.levels) - 64), 0, file: file, line: line)
            let wrr = walk(rq.wrr.list, cpu: rq.cpu) { $0.policy == .wrr }
            let normal = walk(rq.normal, cpu: rq.cpu) { $0.policy.schedClass == .normal }
            XCTAssertEqual(rq.rt.count, rtCount, file: file, line: line)
            XCTAssertEqual(rq.nrRunning, rtCount + wrr.count + normal.count, file: file, line: line)
            XCTAssertEqual(rq.nrWRR, wrr.count, file: file, line: line)
            XCTAssertEqual(rq.totalWeight, wrr.reduce(0) { $0 + pool[entity: $1].weight.value }, file: file, line: line)
            if let c = rq.current {
                let e = pool[entity: c]
                XCTAssertTrue(e.onRunQueue && e.cpu == rq.cpu, "current not queued on cpu\(rq.cpu)", file: file, line: line)
            }
        }
        for i in indices where !seen.contains(i) {
            let e = pool[entity: i]
            XCTAssertFalse(e.onRunQueue, "pid \(e.pid) marked queued but on no list", file: file, line: line)
            XCTAssertEqual(e.next, SchedEntity.none, file: file, line: line)
            XCTAssertEqual(e.prev, SchedEntity.none, file: file, line: line)
        }
    }
}
