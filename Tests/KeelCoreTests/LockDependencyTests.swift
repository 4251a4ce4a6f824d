import XCTest
@testable import KeelCore

/// The lock validator's graph: orders, cycles, recursion and interrupt safety.
final class LockDependencyTests: XCTestCase {
    let a = LockClassID(0), b = LockClassID(1), c = LockClassID(2), d = LockClassID(3)

    func testConsistentOrderIsSilentAndRecorded() {
        var g = LockDependencyGraph()
        XCTAssertNil(g.acquire(a, holding: [], inInterrupt: false, interruptsOn: true))
        XCTAssertNil(g.acquire(b, holding: [a], inInterrupt: false, interruptsOn: false))
        XCTAssertNil(g.acquire(b, holding: [a], inInterrupt: false, interruptsOn: false), "the same order again")
        XCTAssertTrue(g.dependsOn(a, b))
        XCTAssertFalse(g.dependsOn(b, a))
    }

    func testReverseOrderIsACircularDependency() {
        var g = LockDependencyGraph()
        XCTAssertNil(g.acquire(b, holding: [a], inInterrupt: false, interruptsOn: false))
        XCTAssertEqual(g.acquire(a, holding: [b], inInterrupt: false, interruptsOn: false),
                       .circularDependency(held: b, next: a, chain: [a, b]))
        XCTAssertFalse(g.dependsOn(b, a), "a refused acquisition adds no edge")
    }

    func testLongCycleReportsTheShortestExistingPath() {
        var g = LockDependencyGraph()
        XCTAssertNil(g.acquire(b, holding: [a], inInterrupt: false, interruptsOn: false))
        XCTAssertNil(g.acquire(c, holding: [b], inInterrupt: false, interruptsOn: false))
        XCTAssertNil(g.acquire(d, holding: [c], inInterrupt: false, interruptsOn: false))
        XCTAssertNil(g.acquire(d, holding: [a], inInterrupt: false, interruptsOn: false))   // a shortcut a -> d
        XCTAssertEqual(g.path(from: a, to: d), [a, d])
        XCTAssertEqual(g.path(from: b, to: d), [b, c, d])
        XCTAssertEqual(g.acquire(a, holding: [c], inInterrupt: false, interruptsOn: false),
                       .circularDependency(held: c, next: a, chain: [a, b, c]))
        XCTAssertNil(g.path(from: d, to: a))
    }

    func testRecursiveLocking() {
        var g = LockDependencyGraph()
        XCTAssertEqual(g.acquire(a, holding: [b, a], inInterrupt: false, interruptsOn: false), .recursiveLocking(a))
    }

    func testInterruptSafety() {
        var g = LockDependencyGraph()
        // Taken in an interrupt handler, and elsewhere always with interrupts off: fine.
        XCTAssertNil(g.acquire(a, holding: [], inInterrupt: true, interruptsOn: false))
        XCTAssertNil(g.acquire(a, holding: [], inInterrupt: false, interruptsOn: false))
        // A lock held with interrupts on is fine until an interrupt handler takes it.
        XCTAssertNil(g.acquire(b, holding: [], inInterrupt: false, interruptsOn: true))
        XCTAssertEqual(g.acquire(b, holding: [], inInterrupt: true, interruptsOn: false), .interruptUnsafe(b))
        // And the other way round.
        XCTAssertNil(g.acquire(c, holding: [], inInterrupt: true, interruptsOn: false))
        XCTAssertEqual(g.acquire(c, holding: [], inInterrupt: false, interruptsOn: true), .interruptUnsafe(c))
    }

    func testEveryClassCanBeUsed() {
        var g = LockDependencyGraph()
        let last = LockClassID(LockDependencyGraph.maxClasses - 1)
        XCTAssertNil(g.acquire(last, holding: [a], inInterrupt: false, interruptsOn: false))
        XCTAssertEqual(g.acquire(a, holding: [last], inInterrupt: false, interruptsOn: false),
                       .circularDependency(held: last, next: a, chain: [a, last]))
    }
}
