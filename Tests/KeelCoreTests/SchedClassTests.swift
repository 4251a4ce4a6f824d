import XCTest
@testable import KeelCore

final class SchedClassTests: XCTestCase {
    // MARK: policies, classes, priorities

    func testPolicyNumbersAreLinuxs() {
        XCTAssertEqual(SchedPolicy.allCases.map(\.rawValue), [0, 1, 2, 3, 5, 7])
        XCTAssertEqual(SchedPolicy(rawValue: 7), .wrr)
        XCTAssertNil(SchedPolicy(rawValue: 4))  // SCHED_ISO: reserved
        XCTAssertNil(SchedPolicy(rawValue: 6))  // SCHED_DEADLINE: not in Keel
    }

    func testClassesAreOrderedRTWRRNormalIdle() {
        XCTAssertGreaterThan(SchedClass.rt, .wrr)
        XCTAssertGreaterThan(SchedClass.wrr, .normal)
        XCTAssertGreaterThan(SchedClass.normal, .idle)
        XCTAssertEqual(SchedPolicy.fifo.schedClass, .rt)
        XCTAssertEqual(SchedPolicy.rr.schedClass, .rt)
        XCTAssertEqual(SchedPolicy.wrr.schedClass, .wrr)
        for p: SchedPolicy in [.normal, .batch, .idle] { XCTAssertEqual(p.schedClass, .normal) }
    }

    func testPriorityAndWeightRanges() {
        XCTAssertNil(RTPriority(0))
        XCTAssertNil(RTPriority(100))
        XCTAssertEqual(RTPriority(99), .max)
        XCTAssertEqual(RTPriority(1)?.queueIndex, 98)
        XCTAssertEqual(RTPriority.max.queueIndex, 0)
        XCTAssertNil(WRRWeight(0))
        XCTAssertNil(WRRWeight(21))
        XCTAssertEqual(WRRWeight(20), .max)
        XCTAssertEqual(WRRWeight.default.value, 10)
        XCTAssertEqual(SchedEntity(pid: 1, tgid: 1).weight, .default)
        XCTAssertEqual(SchedEntity(pid: 1, tgid: 1).policy, .wrr)
    }

    func testSliceLengthsFollowTheTickLength() {
        let hz100 = SchedTunables()
        XCTAssertEqual(hz100.fullSlice(policy: .wrr, weight: WRRWeight(7)!), 7)
        XCTAssertEqual(hz100.fullSlice(policy: .rr, weight: .default), 10)
        XCTAssertEqual(hz100.fullSlice(policy: .normal, weight: .default), 3)
        XCTAssertEqual(hz100.fullSlice(policy: .fifo, weight: .default), 0)
        let hz1000 = SchedTunables(tickMilliseconds: 1)
        XCTAssertEqual(hz1000.fullSlice(policy: .wrr, weight: WRRWeight(3)!), 30)
        let hz250 = SchedTunables(tickMilliseconds: 4)
        XCTAssertEqual(hz250.fullSlice(policy: .wrr, weight: WRRWeight(3)!), 8)  // 30 ms → 7.5 ticks, rounded up
        XCTAssertEqual(hz250.fullSlice(policy: .rr, weight: .default), 25)
        XCTAssertEqual(SchedTunables(tickMilliseconds: 50).fullSlice(policy: .wrr, weight: .min), 1)
    }

    func testCPUMask() {
        let m: CPUMask = [.cpu(0), .cpu(3), .cpu(63)]
        XCTAssertTrue(m.contains(cpu: 3))
        XCTAssertTrue(m.contains(cpu: 63))
        XCTAssertFalse(m.contains(cpu: 1))
        XCTAssertFalse(CPUMask.all.contains(cpu: 64))
        XCTAssertFalse(CPUMask.all.contains(cpu: -1))
    }

    // MARK: RT priority array

    func testRTBitmapPicksTheHighestPriorityAcrossBothWords() {
        let m = SchedMachine(cpus: 1)
        let prios = [1, 36, 35, 99, 50, 35]  // queue indices 98, 63, 64, 0, 49, 64
        let tasks = prios.map { m.task(.fifo, rt: $0) }
        for t in tasks { m.enqueue(t, cpu: 0) }
        m.checkInvariants()
        XCTAssertEqual(m.runQueues[0].rt.bitmap[0], 1 << 0 | 1 << 49 | 1 << 63)
        XCTAssertEqual(m.runQueues[0].rt.bitmap[1], 1 << 0 | 1 << 34)
        var order: [Int] = []
        while let next = m.pick(cpu: 0) {
            order.append(m[next].rtPriority.value)
            m.dequeue(next)
            m.checkInvariants()
        }
        XCTAssertEqual(order, [99, 50, 36, 35, 35, 1])
        XCTAssertEqual(m.runQueues[0].rt.bitmap[0] | m.runQueues[0].rt.bitmap[1], 0)
        // equal priorities run in arrival order
        XCTAssertEqual(m[tasks[2]].pid, 3)
    }

    func testQueueOperationsCostTheSameHoweverLongTheQueue() {
        func cost(queued: Int) -> (enqueue: Int, dequeue: Int) {
            let m = SchedMachine(cpus: 1, capacity: queued + 1)
            for _ in 0..<queued { m.enqueue(m.task(.rr, rt: 40), cpu: 0) }
            let t = m.task(.rr, rt: 40)
            var pool = SchedCountingPool(base: m.pool)
            m.runQueues[0].enqueue(t, in: &pool)
            let enqueue = pool.counter.accesses
            XCTAssertNotNil(m.runQueues[0].pickNext())  // takes no pool: it cannot walk entities
            m.runQueues[0].dequeue(t, in: &pool)
            m.checkInvariants()
            return (enqueue, pool.counter.accesses - enqueue)
        }
        let short = cost(queued: 1)
        let long = cost(queued: 1000)
        XCTAssertEqual(short.enqueue, long.enqueue)
        XCTAssertEqual(short.dequeue, long.dequeue)
    }

    // MARK: class ordering and preemption

    func testRTPreemptsWRRWhichResumesItsSlice() {
        let m = SchedMachine(cpus: 1)
        let w = m.task(.wrr, weight: 5)
        m.enqueue(w, cpu: 0)
        XCTAssertEqual(m.pick(cpu: 0), w)
        XCTAssertFalse(m.tick(cpu: 0))
        XCTAssertFalse(m.tick(cpu: 0))
        let rt = m.task(.rr, rt: 1)
        m.enqueue(rt, cpu: 0)
        XCTAssertTrue(m.runQueues[0].shouldPreempt(by: rt, in: m.pool))
        XCTAssertTrue(m.tick(cpu: 0))  // even if the wake-up was missed, the tick notices
        XCTAssertEqual(m.pick(cpu: 0), rt)
        XCTAssertEqual(m.run(cpu: 0, ticks: 50), [2: 50])
        m.dequeue(rt)
        XCTAssertNil(m.runQueues[0].current)
        XCTAssertEqual(m.pick(cpu: 0), w)
        XCTAssertEqual(m[w].timeSlice, 2)  // 5 − 3 ticks already run
        m.checkInvariants()
    }

    func testNormalRunsOnlyWhenNoWRRTaskIsRunnable() {
        let m = SchedMachine(cpus: 1)
        let n = m.task(.normal)
        let b = m.task(.batch)
        let w1 = m.task(.wrr, weight: 2)
        let w2 = m.task(.wrr, weight: 3)
        for t in [n, b, w1, w2] { m.enqueue(t, cpu: 0) }
        XCTAssertEqual(m.run(cpu: 0, ticks: 100), [3: 40, 4: 60])
        m.dequeue(w1)
        m.dequeue(w2)
        XCTAssertEqual(m.pick(cpu: 0), n)
        XCTAssertEqual(m.run(cpu: 0, ticks: 60), [1: 30, 2: 30])  // round robin, 30 ms slices
        m.enqueue(w1, cpu: 0)
        XCTAssertTrue(m.runQueues[0].shouldPreempt(by: w1, in: m.pool))
        XCTAssertEqual(m.pick(cpu: 0), w1)
        m.checkInvariants()
    }

    func testShouldPreemptRules() {
        let m = SchedMachine(cpus: 1)
        let rt50 = m.task(.fifo, rt: 50)
        let rt50b = m.task(.rr, rt: 50)
        let rt51 = m.task(.rr, rt: 51)
        let wrr = m.task(.wrr)
        let normal = m.task(.normal)
        let rq = { m.runQueues[0] }
        XCTAssertTrue(rq().shouldPreempt(by: normal, in: m.pool))  // the idle task yields to anyone
        m.enqueue(normal, cpu: 0)
        m.pick(cpu: 0)
        XCTAssertFalse(rq().shouldPreempt(by: normal, in: m.pool))
        XCTAssertTrue(rq().shouldPreempt(by: wrr, in: m.pool))
        m.enqueue(wrr, cpu: 0)
        m.pick(cpu: 0)
        XCTAssertEqual(rq().currentClass(in: m.pool), .wrr)
        XCTAssertFalse(rq().shouldPreempt(by: normal, in: m.pool))
        XCTAssertTrue(rq().shouldPreempt(by: rt50, in: m.pool))
        m.enqueue(rt50, cpu: 0)
        m.pick(cpu: 0)
        XCTAssertFalse(rq().shouldPreempt(by: wrr, in: m.pool))
        XCTAssertFalse(rq().shouldPreempt(by: rt50b, in: m.pool))  // equal priority waits its turn
        XCTAssertTrue(rq().shouldPreempt(by: rt51, in: m.pool))
    }

    // MARK: slices of the RT policies

    func testFIFONeverSlicesButRRTakesTurns() {
        let m = SchedMachine(cpus: 1)
        let f1 = m.task(.fifo, rt: 10)
        let f2 = m.task(.fifo, rt: 10)
        m.enqueue(f1, cpu: 0)
        m.enqueue(f2, cpu: 0)
        XCTAssertEqual(m.run(cpu: 0, ticks: 1000), [1: 1000])
        m.dequeue(f1)
        m.dequeue(f2)
        let r1 = m.task(.rr, rt: 10)
        m.enqueue(r1, cpu: 0)
        XCTAssertEqual(m.run(cpu: 0, ticks: 25), [3: 25])  // alone: slice refilled, no switch
        XCTAssertEqual(m[r1].timeSlice, 5)
        let r2 = m.task(.rr, rt: 10)
        m.enqueue(r2, cpu: 0)
        XCTAssertEqual(m.run(cpu: 0, ticks: 105), [3: 55, 4: 50])  // 100 ms slices
        m.checkInvariants()
    }

    func testYieldRotatesAndKeepsTheSliceLeft() {
        let m = SchedMachine(cpus: 1)
        let a = m.task(.wrr, weight: 4)
        let b = m.task(.wrr, weight: 4)
        m.enqueue(a, cpu: 0)
        m.enqueue(b, cpu: 0)
        XCTAssertEqual(m.pick(cpu: 0), a)
        _ = m.tick(cpu: 0)
        m.runQueues[0].yield(in: &m.pool)
        XCTAssertEqual(m.wrrOrder(cpu: 0), [2, 1])
        XCTAssertEqual(m[a].timeSlice, 3)
        XCTAssertEqual(m.pick(cpu: 0), b)
        m.checkInvariants()
    }

    // MARK: sched_setscheduler

    func testSetSchedulerValidatesItsPriority() {
        let m = SchedMachine(cpus: 1)
        let t = m.task(.wrr, weight: 6)
        m.enqueue(t, cpu: 0)
        XCTAssertFalse(m.runQueues[0].setScheduler(t, policy: .fifo, priority: 0, in: &m.pool))
        XCTAssertFalse(m.runQueues[0].setScheduler(t, policy: .rr, priority: 100, in: &m.pool))
        XCTAssertFalse(m.runQueues[0].setScheduler(t, policy: .wrr, priority: 21, in: &m.pool))
        XCTAssertFalse(m.runQueues[0].setScheduler(t, policy: .normal, priority: 1, in: &m.pool))
        XCTAssertEqual(m[t].policy, .wrr)
        XCTAssertEqual(m[t].weight.value, 6)
        XCTAssertTrue(m.runQueues[0].setScheduler(t, policy: .wrr, priority: 0, in: &m.pool))  // 0 keeps the weight
        XCTAssertEqual(m[t].weight.value, 6)
        m.checkInvariants()
    }

    func testSetSchedulerMovesAQueuedTaskBetweenClasses() {
        let m = SchedMachine(cpus: 1)
        let t = m.task(.wrr, weight: 6)
        let other = m.task(.wrr, weight: 2)
        m.enqueue(t, cpu: 0)
        m.enqueue(other, cpu: 0)
        XCTAssertEqual(m.pick(cpu: 0), t)
        _ = m.tick(cpu: 0)
        XCTAssertTrue(m.runQueues[0].setScheduler(t, policy: .rr, priority: 20, in: &m.pool))
        XCTAssertEqual(m.runQueues[0].totalWeight, 2)
        XCTAssertEqual(m.runQueues[0].nrRunning, 2)
        XCTAssertEqual(m.runQueues[0].current, t)
        XCTAssertEqual(m[t].timeSlice, 10)  // fresh RR slice
        m.checkInvariants()
        XCTAssertTrue(m.runQueues[0].setScheduler(t, policy: .rr, priority: 70, in: &m.pool))
        XCTAssertEqual(m[t].timeSlice, 10)
        XCTAssertEqual(m.runQueues[0].rt.first, t)
        XCTAssertEqual(m.runQueues[0].rt.bitmap[0], 1 << 29)
        m.checkInvariants()
        XCTAssertTrue(m.runQueues[0].setScheduler(t, policy: .normal, priority: 0, in: &m.pool))
        XCTAssertEqual(m.pick(cpu: 0), other)
        XCTAssertTrue(m.runQueues[0].setScheduler(t, policy: .wrr, priority: 9, in: &m.pool))
        XCTAssertEqual(m.runQueues[0].totalWeight, 11)
        XCTAssertEqual(m.wrrOrder(cpu: 0), [2, 1])
        XCTAssertEqual(m[t].timeSlice, 9)
        m.checkInvariants()
        // a sleeping task just changes; it gets its slice when it wakes
        m.dequeue(t)
        XCTAssertTrue(m.runQueues[0].setScheduler(t, policy: .fifo, priority: 5, in: &m.pool))
        XCTAssertEqual(m.runQueues[0].totalWeight, 2)
        m.enqueue(t, cpu: 0)
        XCTAssertEqual(m.pick(cpu: 0), t)
        m.checkInvariants()
    }
}
