import XCTest
@testable import KeelCore

final class BalanceTests: XCTestCase {
    // MARK: selectCPU

    func testSelectCPUTakesTheLightestAllowedCPU() {
        let m = SchedMachine(cpus: 3)
        m.enqueue(m.task(weight: 5), cpu: 0)
        m.enqueue(m.task(weight: 2), cpu: 1)
        m.enqueue(m.task(weight: 9), cpu: 2)
        m.enqueue(m.task(.rr, weight: 1), cpu: 0)  // RT tasks are no WRR load
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(), in: m.pool), 1)
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(allowed: [.cpu(0), .cpu(2)]), in: m.pool), 0)
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(allowed: .cpu(2)), in: m.pool), 2)
        XCTAssertNil(m.runQueues.selectCPU(for: m.task(allowed: .cpu(3)), in: m.pool))
    }

    func testSelectCPUBreaksTiesTowardTheThreadGroupThenTheLowestCPU() {
        let m = SchedMachine(cpus: 4)
        m.enqueue(m.task(weight: 4, tgid: 100), cpu: 1)
        m.enqueue(m.task(weight: 4), cpu: 0)
        m.enqueue(m.task(weight: 2, tgid: 100), cpu: 3)
        m.enqueue(m.task(weight: 2, tgid: 100), cpu: 3)
        m.enqueue(m.task(weight: 4), cpu: 2)
        m.enqueue(m.task(.normal, tgid: 100), cpu: 2)  // siblings of any class count
        m.enqueue(m.task(.normal, tgid: 100), cpu: 2)
        m.enqueue(m.task(.normal, tgid: 100), cpu: 2)
        // all four CPUs weigh 4; cpu2 holds three of group 100, cpu3 two, cpu1 one
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(tgid: 100), in: m.pool), 2)
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(tgid: 100, allowed: [.cpu(0), .cpu(1), .cpu(3)]), in: m.pool), 3)
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(tgid: 100, allowed: [.cpu(0), .cpu(1)]), in: m.pool), 1)
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(tgid: 555), in: m.pool), 0)
        // the lightest CPU still wins over the thread group
        m.setWeight(1, 3)
        XCTAssertEqual(m.runQueues.selectCPU(for: m.task(tgid: 100), in: m.pool), 0)
        m.checkInvariants()
    }

    func testEightMixedWeightsOnFourCPUsEndWithinTheLargestWeight() {
        let m = SchedMachine(cpus: 4)
        let weights = [20, 1, 7, 13, 5, 10, 3, 17]
        for w in weights { XCTAssertNotNil(m.place(m.task(weight: w))) }
        XCTAssertEqual(m.totals, [20, 16, 27, 13])  // 20 | 1 5 10 | 7 3 17 | 13
        XCTAssertLessThanOrEqual(m.gap, weights.max()!)
        m.checkInvariants()

        var rng = SplitMix64(seed: 8)
        for _ in 0..<200 {
            let r = SchedMachine(cpus: 4)
            var largest = 0
            for _ in 0..<8 {
                let w = rng.weight().value
                largest = max(largest, w)
                r.place(r.task(weight: w))
            }
            XCTAssertLessThanOrEqual(r.gap, largest)
            XCTAssertEqual(r.totals.reduce(0, +), r.indices.reduce(0) { $0 + r[$1].weight.value })
        }
    }

    // MARK: NUMA nodes (NodeBalance)

    /// Two nodes: CPUs 0-1 on node 0, CPUs 2-3 on node 1.
    private let twoByTwo: (Int) -> Int = { $0 / 2 }

    /// A WRR task of `weight` that last ran on `cpu` (so its node is `cpu`'s).
    private func task(_ m: SchedMachine, weight: Int = 10, on cpu: Int, allowed: CPUMask = .all) -> EntityIndex {
        let pid = Int32(m.count + 1)
        return m.add(SchedEntity(pid: pid, tgid: pid, weight: WRRWeight(weight)!, allowedCPUs: allowed, cpu: cpu))
    }

    /// A machine whose CPU k holds WRR tasks of the weights `queues[k]`, none running.
    private func machine(_ queues: [[Int]]) -> SchedMachine {
        let m = SchedMachine(cpus: queues.count)
        for (cpu, weights) in queues.enumerated() {
            for w in weights { m.enqueue(task(m, weight: w, on: cpu), cpu: cpu) }
        }
        return m
    }

    func testNodeBalanceRuleTruthTable() {
        // (heavier, lighter, weight of the task that would move) -> may cross
        let table: [(Int, Int, Int, Bool)] = [
            (20, 0, 10, true),     // two equal tasks on one CPU, the other node idle: each gets a CPU
            (19, 0, 10, true),     // a 9 and a 10 sharing a CPU, the other node idle: (b)
            (11, 0, 10, true),     // a 10 waiting behind a 1
            (10, 0, 10, false),    // a lone task never crosses, not even to an idle node
            (1, 0, 1, false),
            (2, 0, 1, true),
            (30, 10, 10, true),    // (a): 20 vs 20 afterwards
            (29, 10, 10, false),   // 19 vs 20: the move would reverse the imbalance
            (29, 10, 9, true),     // ... the 9 may go: 20 vs 19
            (29, 1, 10, true),
            (20, 1, 10, false),    // the destination has a task: (b) does not apply
            (100, 80, 10, true),
            (100, 81, 10, false),
            (40, 40, 1, false),    // balanced
            (10, 20, 1, false),    // the wrong way round
        ]
        for (heavier, lighter, weight, expected) in table {
            XCTAssertEqual(NodeBalance.mayCross(heavier: heavier, lighter: lighter, weight: weight), expected,
                           "H=\(heavier) L=\(lighter) w=\(weight)")
        }
    }

    func testPlacementPrefersTheTasksNodeUnlessTheOtherIsLighterByItsWeight() {
        // (per-CPU totals, the CPU the task last ran on, its weight) -> CPU chosen
        let table: [([[Int]], Int, Int, Int)] = [
            ([[10], [], [], []], 0, 10, 1),           // a free CPU at home
            ([[10], [10], [], []], 0, 10, 2),         // home full, other node idle
            ([[10], [5], [], []], 0, 10, 2),          // home's lightest has a task, the other node none: (b)
            ([[10], [5], [1], [1]], 0, 10, 1),        // 15 vs 1: within 2 x 10, stay home
            ([[10], [5], [1], [1]], 0, 4, 2),         // a task of 4 crosses for that: 9 vs 1
            ([[10], [5], [], []], 3, 10, 2),          // it came from node 1: it stays there
            ([[], [], [10], [10]], 3, 10, 0),
            ([[1], [1], [10], [5]], 2, 10, 3),        // 15 vs 1
            ([[20], [20], [10], [10]], 1, 10, 2),     // (a): 30 vs 10
            ([[20], [20], [11], [11]], 1, 10, 0),     // 30 vs 11
        ]
        for (queues, last, weight, expected) in table {
            let m = machine(queues)
            let t = task(m, weight: weight, on: last)
            XCTAssertEqual(m.runQueues.selectCPU(for: t, in: m.pool, nodeOf: twoByTwo), expected, "\(queues), from cpu\(last)")
        }
        // On one node, the lightest CPU anywhere, as before.
        let one = machine([[10], [5], [], []])
        XCTAssertEqual(one.runQueues.selectCPU(for: task(one, on: 0), in: one.pool), 2)
    }

    func testPlacementLeavesTheNodeWhenAffinityForbidsIt() {
        let m = machine([[], [], [20, 10], [20, 10]])
        XCTAssertEqual(m.runQueues.selectCPU(for: task(m, on: 0, allowed: [.cpu(2), .cpu(3)]), in: m.pool, nodeOf: twoByTwo), 2)
        XCTAssertNil(m.runQueues.selectCPU(for: task(m, on: 0, allowed: .cpu(7)), in: m.pool, nodeOf: twoByTwo))
    }

    func testBalanceCrossesNodesOnlyForATasksWeightOfImbalance() {
        let oneEach: (Int) -> Int = { $0 }       // two CPUs, one per node
        // (queues, move with nodes, move without)
        let pairs: [([[Int]], Migration?, Migration?)] = [
            ([[10, 10], []], Migration(entity: 0, from: 0, to: 1), Migration(entity: 0, from: 0, to: 1)),
            ([[10, 10], [5]], nil, Migration(entity: 0, from: 0, to: 1)),   // 20 vs 5: within a node 10 moves
            ([[10, 9], []], Migration(entity: 0, from: 0, to: 1), Migration(entity: 0, from: 0, to: 1)),  // (b)
            // 21 vs 2: a 10 would even it best but may not cross; the 1 may
            ([[10, 10, 1], [2]], Migration(entity: 2, from: 0, to: 1), Migration(entity: 0, from: 0, to: 1)),
            ([[10, 10, 10], [10]], Migration(entity: 0, from: 0, to: 1), Migration(entity: 0, from: 0, to: 1)),
            ([[12, 12], [5]], nil, Migration(entity: 0, from: 0, to: 1)),
        ]
        for (queues, withNodes, withoutNodes) in pairs {
            let m = machine(queues)
            XCTAssertEqual(m.runQueues.balance(in: m.pool, nodeOf: oneEach), withNodes, "\(queues) on two nodes")
            XCTAssertEqual(m.runQueues.balance(in: m.pool), withoutNodes, "\(queues) on one node")
        }
    }

    func testBalanceFallsBackToTheHeavyCPUsOwnNode() {
        // The lightest CPU (2) is remote and too close (20 vs 3); cpu1 at home takes a task.
        let m = machine([[10, 10], [5], [3], [3]])
        XCTAssertEqual(m.runQueues.balance(in: m.pool, nodeOf: twoByTwo), Migration(entity: 0, from: 0, to: 1))
        // Remote and far enough: the global lightest wins over the home node.
        let far = machine([[10, 10, 10], [20], [], [5]])
        XCTAssertEqual(far.runQueues.balance(in: far.pool, nodeOf: twoByTwo), Migration(entity: 0, from: 0, to: 2))
    }

    func testBalanceOnTwoNodesConvergesAndKeepsCrossMovesSettled() {
        var rng = SplitMix64(seed: 17)
        for round in 0..<50 {
            let m = SchedMachine(cpus: 4)
            for _ in 0..<(4 + rng.below(20)) {
                let cpu = rng.below(4)
                m.enqueue(task(m, weight: rng.weight().value, on: cpu), cpu: cpu)
            }
            var steps = 0
            var squares = m.totals.reduce(0) { $0 + $1 * $1 }
            while let move = m.runQueues.balance(in: m.pool, nodeOf: twoByTwo) {
                let (from, to, w) = (m.totals[move.from], m.totals[move.to], m[move.entity].weight.value)
                if move.from / 2 != move.to / 2 {
                    XCTAssertTrue(from - w >= to + w || (to == 0 && from > w),
                                  "round \(round): a cross-node move reversed the imbalance onto a busy CPU")
                }
                m.migrate(move)
                let newSquares = m.totals.reduce(0) { $0 + $1 * $1 }
                XCTAssertLessThan(newSquares, squares, "round \(round)")
                squares = newSquares
                steps += 1
                if steps > 1000 { XCTFail("no convergence"); break }
            }
            m.checkInvariants()
        }
    }

    func testIdlePullTriesItsOwnNodeFirst() {
        let m = SchedMachine(cpus: 4)
        for _ in 0..<2 { m.enqueue(task(m, on: 0), cpu: 0) }               // cpu0: 20, one waiting
        for _ in 0..<3 { m.enqueue(task(m, on: 2), cpu: 2) }               // cpu2: 30, two waiting
        m.pick(cpu: 0); m.pick(cpu: 2)
        XCTAssertEqual(m.runQueues.idlePull(cpu: 1, in: m.pool, nodeOf: twoByTwo), Migration(entity: 1, from: 0, to: 1))
        XCTAssertEqual(m.runQueues.idlePull(cpu: 1, in: m.pool), Migration(entity: 3, from: 2, to: 1),
                       "on one node the heaviest CPU gives")
        // Nothing waits at home: the other node gives if it has a task's weight to spare.
        m.migrate(Migration(entity: 1, from: 0, to: 3))
        XCTAssertEqual(m.runQueues.idlePull(cpu: 1, in: m.pool, nodeOf: twoByTwo), Migration(entity: 3, from: 2, to: 1))
    }

    func testIdlePullCrossesOnlyWithWRRWeightLeftBehind() {
        let m = SchedMachine(cpus: 2)
        m.enqueue(task(m, weight: 1, on: 0), cpu: 0)
        m.enqueue(task(m, weight: 10, on: 0), cpu: 0)
        m.pick(cpu: 0)                                   // the weight-1 task runs, the 10 waits: 11 in all
        XCTAssertEqual(m.runQueues.idlePull(cpu: 1, in: m.pool, nodeOf: { $0 }), Migration(entity: 1, from: 0, to: 1))
        // A WRR task waiting behind an RT task is the only WRR weight there (10 vs 0: a lone task's).
        let rt = SchedMachine(cpus: 2)
        rt.enqueue(rt.task(.fifo, rt: 50), cpu: 0)
        rt.enqueue(task(rt, weight: 10, on: 0), cpu: 0)
        rt.pick(cpu: 0)
        XCTAssertNil(rt.runQueues.idlePull(cpu: 1, in: rt.pool, nodeOf: { $0 }))
        XCTAssertEqual(rt.runQueues.idlePull(cpu: 1, in: rt.pool), Migration(entity: 1, from: 0, to: 1), "within a node it goes")
    }

    // MARK: periodic balancing

    func testBalanceMovesTheTaskThatBestEvensHeaviestAndLightest() {
        let m = SchedMachine(cpus: 3)
        for w in [10, 2, 6, 4] { m.enqueue(m.task(weight: w), cpu: 0) }  // 22
        m.enqueue(m.task(weight: 8), cpu: 1)  // 8
        m.enqueue(m.task(weight: 12), cpu: 2)  // 12
        m.pick(cpu: 0)
        // gap 14: moving 10 leaves 6, but it is running; 6 leaves 2; 4 leaves 6; 2 leaves 10
        XCTAssertEqual(m.runQueues.balance(in: m.pool), Migration(entity: 2, from: 0, to: 1))
        m.migrate(Migration(entity: 2, from: 0, to: 1))
        XCTAssertEqual(m.totals, [16, 14, 12])
        XCTAssertEqual(m[2].cpu, 1)
        XCTAssertEqual(m[2].timeSlice, 6)
        m.checkInvariants()
        // heaviest 16, lightest 12: moving 2 narrows 4 to 0
        XCTAssertEqual(m.runQueues.balance(in: m.pool), Migration(entity: 1, from: 0, to: 2))
    }

    func testBalanceDeclinesMovesThatDoNotNarrowTheGap() {
        let m = SchedMachine(cpus: 2)
        m.enqueue(m.task(weight: 10), cpu: 0)
        m.enqueue(m.task(weight: 10), cpu: 0)
        m.enqueue(m.task(weight: 10), cpu: 1)
        XCTAssertNil(m.runQueues.balance(in: m.pool))  // 20 vs 10: moving 10 gives 10 vs 20
        m.setWeight(1, 9)
        XCTAssertNil(m.runQueues.balance(in: m.pool))  // 19 vs 10: moving 9 gives 10 vs 19
        m.setWeight(2, 5)  // 19 vs 5: moving 10 leaves a gap of 6, moving 9 one of 4
        XCTAssertEqual(m.runQueues.balance(in: m.pool), Migration(entity: 1, from: 0, to: 1))
        m.setWeight(1, 10)  // 20 vs 5: either leaves 5; the earlier in run order goes
        XCTAssertEqual(m.runQueues.balance(in: m.pool), Migration(entity: 0, from: 0, to: 1))
        m.pick(cpu: 0)  // the running task never moves
        XCTAssertEqual(m.runQueues.balance(in: m.pool), Migration(entity: 1, from: 0, to: 1))
        XCTAssertNil(SchedMachine(cpus: 1).runQueues.balance(in: m.pool))
    }

    func testBalanceRespectsAffinity() {
        let m = SchedMachine(cpus: 3)
        m.enqueue(m.task(weight: 1), cpu: 0)
        m.enqueue(m.task(weight: 5, allowed: [.cpu(0), .cpu(1)]), cpu: 0)
        m.enqueue(m.task(weight: 4, allowed: [.cpu(0), .cpu(2)]), cpu: 0)
        m.enqueue(m.task(weight: 3), cpu: 1)
        m.pick(cpu: 0)
        // 10 / 3 / 0: entity 1 would even it best but may not run on cpu2
        XCTAssertEqual(m.runQueues.balance(in: m.pool), Migration(entity: 2, from: 0, to: 2))
        XCTAssertEqual(m[2].allowedCPUs, [.cpu(0), .cpu(2)])
        m.pool[2].allowedCPUs = .cpu(0)
        XCTAssertNil(m.runQueues.balance(in: m.pool))
    }

    func testBalanceConvergesAndNeverWidensTheSpread() {
        var rng = SplitMix64(seed: 42)
        for round in 0..<50 {
            let cpus = 2 + rng.below(7)
            let m = SchedMachine(cpus: cpus)
            for _ in 0..<(4 + rng.below(30)) { m.enqueue(m.task(weight: rng.weight().value), cpu: 0) }
            if rng.below(2) == 0 { m.pick(cpu: 0) }
            var steps = 0
            var spread = m.gap
            var squares = m.totals.reduce(0) { $0 + $1 * $1 }
            while let move = m.runQueues.balance(in: m.pool) {
                XCTAssertNotEqual(move.entity, m.runQueues[move.from].current)
                m.migrate(move)
                XCTAssertLessThanOrEqual(m.gap, spread, "round \(round)")
                let newSquares = m.totals.reduce(0) { $0 + $1 * $1 }
                XCTAssertLessThan(newSquares, squares)
                spread = m.gap
                squares = newSquares
                steps += 1
                if steps > 1000 { XCTFail("no convergence"); break }
            }
            m.checkInvariants()
            XCTAssertGreaterThan(steps, 0)
            // at rest: no waiting task on the heaviest CPU could narrow its gap to the lightest
            let totals = m.totals
            let heavy = totals.firstIndex(of: totals.max()!)!
            let gap = totals.max()! - totals.min()!
            m.runQueues[heavy].forEachWRR(in: m.pool) { i in
                if i != m.runQueues[heavy].current { XCTAssertGreaterThanOrEqual(m[i].weight.value, gap) }
            }
        }
    }

    // MARK: idle pull

    func testIdleCPUPullsFromTheBusiestCPU() {
        let m = SchedMachine(cpus: 4)
        m.enqueue(m.task(weight: 6), cpu: 0)
        m.enqueue(m.task(weight: 4), cpu: 0)
        m.enqueue(m.task(weight: 7), cpu: 1)
        m.enqueue(m.task(weight: 2, allowed: [.cpu(1)]), cpu: 1)
        m.enqueue(m.task(weight: 5), cpu: 1)
        m.enqueue(m.task(.normal), cpu: 2)
        for cpu in 0..<3 { m.pick(cpu: cpu) }
        XCTAssertNil(m.runQueues.idlePull(cpu: 2, in: m.pool))  // not idle
        // cpu1 (14) is busiest; 7 runs, 2 may not come; 5 is left
        XCTAssertEqual(m.runQueues.idlePull(cpu: 3, in: m.pool), Migration(entity: 4, from: 1, to: 3))
        m.migrate(Migration(entity: 4, from: 1, to: 3))
        m.checkInvariants()
        m.dequeue(3)
        m.dequeue(4)
        // cpu3 is idle again: cpu0 (10) is busiest; its waiting task (4) moves even
        // though the gap stays 2, because an idle CPU takes any work
        XCTAssertEqual(m.runQueues.idlePull(cpu: 3, in: m.pool), Migration(entity: 1, from: 0, to: 3))
        // a task waiting behind an RT task is pulled too
        let m2 = SchedMachine(cpus: 2)
        m2.enqueue(m2.task(.fifo), cpu: 0)
        m2.enqueue(m2.task(weight: 3), cpu: 0)
        m2.pick(cpu: 0)
        XCTAssertEqual(m2.runQueues.idlePull(cpu: 1, in: m2.pool), Migration(entity: 1, from: 0, to: 1))
        m2.dequeue(0)
        m2.pick(cpu: 0)
        XCTAssertNil(m2.runQueues.idlePull(cpu: 1, in: m2.pool))  // only a running task left
    }

    // MARK: randomized churn

    func testRandomizedChurnKeepsEveryInvariant() {
        var rng = SplitMix64(seed: 0x5eed_2024)
        let cpus = 4
        let m = SchedMachine(cpus: cpus, capacity: 64)
        for _ in 0..<64 {
            let policy: SchedPolicy = [.wrr, .wrr, .wrr, .normal, .rr, .fifo][rng.below(6)]
            let mask = rng.below(4) == 0 ? CPUMask(rawValue: rng.next() & 0xf | 1) : .all
            m.task(policy, weight: rng.weight().value, rt: 1 + rng.below(99), tgid: Int32(1 + rng.below(8)), allowed: mask)
        }
        var counts = [Int](repeating: 0, count: 9)
        for step in 0..<20_000 {
            let i = EntityIndex(rng.below(m.count))
            let cpu = rng.below(cpus)
            let op = rng.below(9)
            counts[op] += 1
            switch op {
            case 0:  // wake up on the CPU placement chooses
                if !m[i].onRunQueue {
                    let target = m.place(i)!
                    XCTAssertTrue(m[i].allowedCPUs.contains(cpu: target))
                    if m.runQueues[target].shouldPreempt(by: i, in: m.pool) { m.pick(cpu: target) }
                }
            case 1:  // sleep or exit
                if m[i].onRunQueue { m.dequeue(i) }
            case 2:
                m.setWeight(i, rng.weight().value)
            case 3:
                let policy = SchedPolicy.allCases[rng.below(SchedPolicy.allCases.count)]
                let priority = policy.schedClass == .rt ? 1 + rng.below(99) : (policy == .wrr ? rng.below(21) : 0)
                XCTAssertTrue(m.runQueues[m[i].cpu].setScheduler(i, policy: policy, priority: priority, in: &m.pool))
                if m.runQueues[m[i].cpu].current == i { m.pick(cpu: m[i].cpu) }
            case 4:  // sched_setaffinity on a sleeping task
                if !m[i].onRunQueue { m.pool[Int(i)].allowedCPUs = CPUMask(rawValue: rng.next() & 0xf | 1 << UInt64(cpu)) }
            case 5:
                if let move = m.runQueues.balance(in: m.pool) {
                    let before = m.gap
                    m.migrate(move)
                    XCTAssertLessThanOrEqual(m.gap, before)
                }
            case 6:
                if m.runQueues[cpu].nrRunning == 0, let move = m.runQueues.idlePull(cpu: cpu, in: m.pool) {
                    XCTAssertEqual(move.to, cpu)
                    m.migrate(move)
                    m.pick(cpu: cpu)
                }
            case 7:
                if m.tick(cpu: cpu) { m.pick(cpu: cpu) }
            default:
                m.runQueues[cpu].yield(in: &m.pool)
                m.pick(cpu: cpu)
            }
            if step % 7 == 0 || op == 3 { m.checkInvariants() }
            if let c = m.runQueues[cpu].current {
                XCTAssertTrue(m[c].allowedCPUs.contains(cpu: cpu))
            }
        }
        m.checkInvariants()
        XCTAssertTrue(counts.allSatisfy { $0 > 1000 })
    }
}
