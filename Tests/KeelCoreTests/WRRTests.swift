import XCTest
@testable import KeelCore

final class WRRTests: XCTestCase {
    // MARK: slices and shares

    func testSliceIsWeightTimesTenMilliseconds() {
        let m = SchedMachine(cpus: 1)
        let t = m.task(.wrr, weight: 7)
        XCTAssertEqual(m[t].timeSlice, 0)
        m.enqueue(t, cpu: 0)
        XCTAssertEqual(m[t].timeSlice, 7)
        XCTAssertEqual(m.runQueues[0].totalWeight, 7)
        let fast = SchedMachine(cpus: 1, tunables: SchedTunables(tickMilliseconds: 1))
        let u = fast.task(.wrr, weight: 7)
        fast.enqueue(u, cpu: 0)
        XCTAssertEqual(fast[u].timeSlice, 70)
    }

    func testSharesAreProportionalToWeights() {
        let m = SchedMachine(cpus: 1)
        m.enqueue(m.task(.wrr, weight: 1), cpu: 0)
        m.enqueue(m.task(.wrr, weight: 3), cpu: 0)
        XCTAssertEqual(m.run(cpu: 0, ticks: 400), [1: 100, 2: 300])
        // a partial round: task 1 runs first, so it has had its share of the 41st round
        XCTAssertEqual(m.run(cpu: 0, ticks: 2), [1: 1, 2: 1])

        let hz1000 = SchedMachine(cpus: 1, tunables: SchedTunables(tickMilliseconds: 1))
        for w in [2, 5, 13] { hz1000.enqueue(hz1000.task(.wrr, weight: w), cpu: 0) }
        // ten rounds of (2 + 5 + 13) × 10 ms
        XCTAssertEqual(hz1000.run(cpu: 0, ticks: 10 * 200), [1: 200, 2: 500, 3: 1300])
        hz1000.checkInvariants()
    }

    func testSliceExpiryRotatesTheQueue() {
        let m = SchedMachine(cpus: 1)
        for w in [2, 1, 3] { m.enqueue(m.task(.wrr, weight: w), cpu: 0) }
        XCTAssertEqual(m.pick(cpu: 0), 0)
        XCTAssertFalse(m.tick(cpu: 0))
        XCTAssertTrue(m.tick(cpu: 0))
        XCTAssertEqual(m.wrrOrder(cpu: 0), [2, 3, 1])
        XCTAssertEqual(m[0].timeSlice, 2)  // refilled on expiry
        XCTAssertEqual(m.pick(cpu: 0), 1)
        XCTAssertTrue(m.tick(cpu: 0))
        XCTAssertEqual(m.wrrOrder(cpu: 0), [3, 1, 2])
    }

    func testALoneTaskKeepsTheCPU() {
        let m = SchedMachine(cpus: 1)
        m.enqueue(m.task(.wrr, weight: 1), cpu: 0)
        m.pick(cpu: 0)
        for _ in 0..<5 { XCTAssertFalse(m.tick(cpu: 0)) }
        XCTAssertEqual(m[0].timeSlice, 1)
    }

    func testIdleCPUAsksForASwitchWhenWorkArrives() {
        let m = SchedMachine(cpus: 1)
        XCTAssertNil(m.pick(cpu: 0))
        XCTAssertFalse(m.tick(cpu: 0))
        m.enqueue(m.task(), cpu: 0)
        XCTAssertTrue(m.tick(cpu: 0))
    }

    func testDequeueingTheRunningTaskLeavesTheCPUWithoutOne() {
        let m = SchedMachine(cpus: 1)
        let a = m.task(.wrr, weight: 3)
        let b = m.task(.wrr, weight: 4)
        m.enqueue(a, cpu: 0)
        m.enqueue(b, cpu: 0)
        m.pick(cpu: 0)
        m.dequeue(a)
        XCTAssertNil(m.runQueues[0].current)
        XCTAssertFalse(m[a].onRunQueue)
        XCTAssertEqual(m.runQueues[0].totalWeight, 4)
        XCTAssertEqual(m.pick(cpu: 0), b)
        m.checkInvariants()
    }

    // MARK: fork and weight changes

    func testChildInheritsWeightButGetsAFreshSlice() {
        let m = SchedMachine(cpus: 1)
        let parent = m.task(.wrr, weight: 6, allowed: [.cpu(0), .cpu(2)])
        m.enqueue(parent, cpu: 0)
        m.pick(cpu: 0)
        for _ in 0..<4 { _ = m.tick(cpu: 0) }
        XCTAssertEqual(m[parent].timeSlice, 2)
        let thread = m.add(m[parent].forked(pid: 50, tgid: m[parent].tgid))
        let process = m.add(m[parent].forked(pid: 51, tgid: 51))
        for child in [thread, process] {
            XCTAssertEqual(m[child].weight.value, 6)
            XCTAssertEqual(m[child].policy, .wrr)
            XCTAssertEqual(m[child].allowedCPUs, [.cpu(0), .cpu(2)])
            XCTAssertFalse(m[child].onRunQueue)
            m.enqueue(child, cpu: 0)
            XCTAssertEqual(m[child].timeSlice, 6)
        }
        XCTAssertEqual(m[thread].tgid, m[parent].tgid)
        XCTAssertEqual(m[process].tgid, 51)
        XCTAssertEqual(m[parent].timeSlice, 2)
        XCTAssertEqual(m.runQueues[0].totalWeight, 18)
        m.checkInvariants()
    }

    func testWeightChangeTakesEffectAtTheNextSlice() {
        let m = SchedMachine(cpus: 1)
        let t = m.task(.wrr, weight: 5)
        let other = m.task(.wrr, weight: 1)
        m.enqueue(t, cpu: 0)
        m.enqueue(other, cpu: 0)
        m.pick(cpu: 0)
        _ = m.tick(cpu: 0)
        _ = m.tick(cpu: 0)
        m.setWeight(t, 2)
        XCTAssertEqual(m.runQueues[0].totalWeight, 3)  // the load changes at once
        XCTAssertEqual(m[t].timeSlice, 3)  // the slice in progress is neither cut nor extended
        XCTAssertFalse(m.tick(cpu: 0))
        XCTAssertFalse(m.tick(cpu: 0))
        XCTAssertTrue(m.tick(cpu: 0))
        XCTAssertEqual(m[t].timeSlice, 2)  // the next slice uses the new weight
        m.pick(cpu: 0)
        XCTAssertEqual(m.run(cpu: 0, ticks: 30), [2: 10, 1: 20])
        // raising it does not extend the slice in progress either
        m.setWeight(t, 20)
        XCTAssertEqual(m.runQueues[0].current, other)
        XCTAssertTrue(m.tick(cpu: 0))
        m.pick(cpu: 0)
        XCTAssertEqual(m[t].timeSlice, 2)
        XCTAssertEqual(m.run(cpu: 0, ticks: 2), [1: 2])
        XCTAssertEqual(m[t].timeSlice, 20)
        m.checkInvariants()
    }

    func testWeightOfASleepingTaskCountsWhenItWakes() {
        let m = SchedMachine(cpus: 1)
        let t = m.task(.wrr, weight: 5)
        m.setWeight(t, 12)
        XCTAssertEqual(m.runQueues[0].totalWeight, 0)
        m.enqueue(t, cpu: 0)
        XCTAssertEqual(m.runQueues[0].totalWeight, 12)
        XCTAssertEqual(m[t].timeSlice, 12)
    }

    func testWeightOfANonWRRTaskIsNotLoad() {
        let m = SchedMachine(cpus: 1)
        let t = m.task(.rr, weight: 5, rt: 3)
        m.enqueue(t, cpu: 0)
        m.setWeight(t, 9)
        XCTAssertEqual(m.runQueues[0].totalWeight, 0)
        XCTAssertEqual(m[t].weight.value, 9)
        m.checkInvariants()
    }

    // MARK: /proc/sched_wrr

    func testProcSchedWRRFormat() {
        let m = SchedMachine(cpus: 2)
        let a = m.task(.wrr, weight: 10, tgid: 7)
        let b = m.task(.wrr, weight: 3, tgid: 7)
        let c = m.task(.wrr, weight: 20)
        let n = m.task(.normal)
        for t in [a, b, c, n] { m.enqueue(t, cpu: 0) }
        m.pick(cpu: 0)
        _ = m.tick(cpu: 0)
        XCTAssertEqual(m.procSchedWRR, """
            cpu0 total_weight=33 nr_wrr=3 nr_running=4 curr=1
                  pid    tgid weight slice_ms
                    1       7     10       90
                    2       7      3       30
                    3       3     20      200
            cpu1 total_weight=0 nr_wrr=0 nr_running=0 curr=-
                  pid    tgid weight slice_ms

            """)
    }
}
