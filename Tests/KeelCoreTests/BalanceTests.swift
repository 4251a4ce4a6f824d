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
