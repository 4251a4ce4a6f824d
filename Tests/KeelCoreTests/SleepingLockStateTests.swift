import XCTest
@testable import KeelCore

/// The sleeping locks' hand-over rules, with waiters as the kernel makes them:
/// nodes at fixed addresses, woken through a callback.
final class SleepingLockStateTests: XCTestCase {
    /// Waiter nodes at stable addresses, named by their index.
    private final class Waiters {
        let nodes: UnsafeMutablePointer<LockWaiter>
        let count: Int
        init(_ kinds: [LockWaiter.Kind]) {
            count = kinds.count
            nodes = .allocate(capacity: kinds.count)
            for (i, kind) in kinds.enumerated() {
                (nodes + i).initialize(to: LockWaiter(kind: kind, owner: UnsafeRawPointer(bitPattern: 0x1000 * (i + 1))!))
            }
        }
        deinit { nodes.deallocate() }
        subscript(i: Int) -> UnsafeMutablePointer<LockWaiter> { nodes + i }
        func index(_ p: UnsafeMutablePointer<LockWaiter>) -> Int { p - nodes }
    }

    func testReadersShareAndAWriterExcludes() {
        var s = SleepingLockState()
        XCTAssertTrue(s.tryRead())
        XCTAssertTrue(s.tryRead())
        XCTAssertEqual(s.readers, 2)
        XCTAssertFalse(s.tryWrite())
        var woken: [UnsafeMutablePointer<LockWaiter>] = []
        s.releaseRead { woken.append($0) }
        s.releaseRead { woken.append($0) }
        XCTAssertTrue(woken.isEmpty)
        XCTAssertTrue(s.isFree)
        XCTAssertTrue(s.tryWrite())
        XCTAssertFalse(s.tryRead())
        XCTAssertFalse(s.tryWrite())
        s.releaseWrite { woken.append($0) }
        XCTAssertTrue(s.isFree)
    }

    /// A writer queued behind readers gets the lock from the last reader, and
    /// readers arriving meanwhile queue behind it (no writer starvation).
    func testLastReaderHandsToQueuedWriter() {
        let w = Waiters([.writer, .reader])
        var s = SleepingLockState()
        XCTAssertTrue(s.tryRead())
        XCTAssertTrue(s.tryRead())
        XCTAssertFalse(s.tryWrite())
        s.enqueue(w[0])
        XCTAssertFalse(s.tryRead(), "a newcomer reader must not pass a queued writer")
        s.enqueue(w[1])
        var woken: [Int] = []
        s.releaseRead { woken.append(w.index($0)) }
        XCTAssertEqual(woken, [])
        s.releaseRead { woken.append(w.index($0)) }
        XCTAssertEqual(woken, [0])
        XCTAssertTrue(w[0].pointee.granted)
        XCTAssertFalse(w[1].pointee.granted)
        XCTAssertTrue(s.writerHolds)
        XCTAssertEqual(s.waiting, 1)
        s.releaseWrite { woken.append(w.index($0)) }
        XCTAssertEqual(woken, [0, 1])
        XCTAssertEqual(s.readers, 1)
        XCTAssertEqual(s.waiting, 0)
    }

    /// A writer's unlock lets in the run of readers at the head, up to the next
    /// writer, which waits for all of them.
    func testWriterUnlockGrantsLeadingReadersInOrder() {
        let w = Waiters([.reader, .reader, .writer, .reader])
        var s = SleepingLockState()
        XCTAssertTrue(s.tryWrite())
        for i in 0..<4 { s.enqueue(w[i]) }
        var woken: [Int] = []
        s.releaseWrite { woken.append(w.index($0)) }
        XCTAssertEqual(woken, [0, 1])
        XCTAssertEqual(s.readers, 2)
        s.releaseRead { woken.append(w.index($0)) }
        XCTAssertEqual(woken, [0, 1])
        s.releaseRead { woken.append(w.index($0)) }
        XCTAssertEqual(woken, [0, 1, 2])
        XCTAssertTrue(s.writerHolds)
        s.releaseWrite { woken.append(w.index($0)) }
        XCTAssertEqual(woken, [0, 1, 2, 3])
        XCTAssertEqual(s.readers, 1)
        XCTAssertFalse(s.writerHolds)
        for i in 0..<4 { XCTAssertTrue(w[i].pointee.granted) }
    }

    /// Writers only (a mutex): strictly first come, first served.
    func testMutexIsFIFO() {
        let w = Waiters([.writer, .writer, .writer])
        var s = SleepingLockState()
        XCTAssertTrue(s.tryWrite())
        for i in 0..<3 { s.enqueue(w[i]) }
        var woken: [Int] = []
        for _ in 0..<4 { s.releaseWrite { woken.append(w.index($0)) } }
        XCTAssertEqual(woken, [0, 1, 2])
        XCTAssertTrue(s.isFree)
        XCTAssertEqual(s.waiting, 0)
        XCTAssertTrue(s.tryWrite(), "empty queue: the lock is free for a newcomer")
    }

    /// A random mix against a model: the holders never break the rules, every
    /// waiter is granted exactly once, in arrival order within its kind.
    func testRandomScheduleAgainstModel() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let n = 40
            let kinds: [LockWaiter.Kind] = (0..<n).map { _ in Bool.random(using: &rng) ? .reader : .writer }
            let w = Waiters(kinds)
            var s = SleepingLockState()
            var holders: [Int] = []            // waiter indices owning the lock now
            var grantOrder: [Int] = []
            var queued: [Int] = []
            var next = 0
            while next < n || !holders.isEmpty {
                if next < n && (holders.isEmpty || Bool.random(using: &rng)) {
                    let i = next; next += 1
                    let got = kinds[i] == .reader ? s.tryRead() : s.tryWrite()
                    if got { holders.append(i); grantOrder.append(i) } else { s.enqueue(w[i]); queued.append(i) }
                } else {
                    let k = Int.random(in: 0..<holders.count, using: &rng)
                    let i = holders.remove(at: k)
                    let wake: (UnsafeMutablePointer<LockWaiter>) -> Void = { p in
                        let j = w.index(p)
                        holders.append(j); grantOrder.append(j)
                        XCTAssertEqual(queued.first, j, "hand-over out of FIFO order")
                        queued.removeFirst()
                    }
                    if kinds[i] == .reader { s.releaseRead(wake: wake) } else { s.releaseWrite(wake: wake) }
                }
                let writers = holders.filter { kinds[$0] == .writer }.count
                let readers = holders.count - writers
                XCTAssertTrue(writers == 0 || (writers == 1 && readers == 0), "readers \(readers) with writers \(writers)")
                XCTAssertEqual(s.readers, readers)
                XCTAssertEqual(s.writerHolds, writers == 1)
                XCTAssertEqual(s.waiting, queued.count)
                if holders.isEmpty { XCTAssertTrue(queued.isEmpty, "free lock with waiters left behind") }
            }
            XCTAssertEqual(grantOrder.sorted(), Array(0..<n))
        }
    }
}
