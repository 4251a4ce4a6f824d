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

    /// The kernel's paths over a plain word: the fast path when it applies,
    /// else the slow path (run under the spinlock in the kernel).
    private struct Semaphore {
        var word = 0
        var queue = SleepingLockState()

        /// True if taken at once, false if the waiter was queued.
        mutating func lock(_ kind: LockWaiter.Kind, _ node: UnsafeMutablePointer<LockWaiter>) -> Bool {
            let fast = kind == .reader ? RWSemaphoreWord.fastRead(word) : RWSemaphoreWord.fastWrite(word)
            if let fast { word = fast; return true }
            if let taken = queue.takeWithoutWaiting(kind, word: word) { word = taken; return true }
            word |= RWSemaphoreWord.waiters
            queue.enqueue(node)
            return false
        }

        mutating func unlock(_ kind: LockWaiter.Kind, wake: (UnsafeMutablePointer<LockWaiter>) -> Void) {
            let fast = kind == .reader ? RWSemaphoreWord.fastReleaseRead(word) : RWSemaphoreWord.fastReleaseWrite(word)
            if let fast { word = fast; return }
            word = queue.release(kind, word: word, wake: wake)
        }

        var readers: Int { RWSemaphoreWord.readers(word) }
        var writerHolds: Bool { word & RWSemaphoreWord.writer != 0 }
    }

    func testWordFastPaths() {
        XCTAssertEqual(RWSemaphoreWord.fastRead(0), 4)
        XCTAssertEqual(RWSemaphoreWord.fastRead(8), 12)
        XCTAssertNil(RWSemaphoreWord.fastRead(RWSemaphoreWord.writer))
        XCTAssertNil(RWSemaphoreWord.fastRead(4 | RWSemaphoreWord.waiters), "a newcomer reader must not pass waiters")
        XCTAssertEqual(RWSemaphoreWord.fastWrite(0), RWSemaphoreWord.writer)
        XCTAssertNil(RWSemaphoreWord.fastWrite(4))
        XCTAssertNil(RWSemaphoreWord.fastWrite(RWSemaphoreWord.waiters))
        XCTAssertEqual(RWSemaphoreWord.fastReleaseRead(8), 4)
        XCTAssertNil(RWSemaphoreWord.fastReleaseRead(8 | RWSemaphoreWord.waiters), "waiters: the slow path hands over")
        XCTAssertEqual(RWSemaphoreWord.fastReleaseWrite(RWSemaphoreWord.writer), 0)
        XCTAssertNil(RWSemaphoreWord.fastReleaseWrite(RWSemaphoreWord.writer | RWSemaphoreWord.waiters))
    }

    /// A writer queued behind readers gets the lock from the last reader, and
    /// readers arriving meanwhile queue behind it (no writer starvation).
    func testLastReaderHandsToQueuedWriter() {
        let w = Waiters([.reader, .reader, .writer, .reader])
        var s = Semaphore()
        var woken: [Int] = []
        let wake = { (p: UnsafeMutablePointer<LockWaiter>) in woken.append(w.index(p)) }
        XCTAssertTrue(s.lock(.reader, w[0]))
        XCTAssertTrue(s.lock(.reader, w[1]))
        XCTAssertFalse(s.lock(.writer, w[2]))
        XCTAssertFalse(s.lock(.reader, w[3]), "a newcomer reader must not pass a queued writer")
        s.unlock(.reader, wake: wake)
        XCTAssertEqual(woken, [])
        s.unlock(.reader, wake: wake)
        XCTAssertEqual(woken, [2])
        XCTAssertTrue(w[2].pointee.granted)
        XCTAssertFalse(w[3].pointee.granted)
        XCTAssertTrue(s.writerHolds)
        XCTAssertEqual(s.queue.waiting, 1)
        s.unlock(.writer, wake: wake)
        XCTAssertEqual(woken, [2, 3])
        XCTAssertEqual(s.readers, 1)
        XCTAssertEqual(s.word & RWSemaphoreWord.waiters, 0, "empty queue: the waiters bit goes")
        s.unlock(.reader, wake: wake)
        XCTAssertEqual(s.word, 0)
    }

    /// A writer's unlock lets in the run of readers at the head, up to the next
    /// writer, which waits for all of them.
    func testWriterUnlockGrantsLeadingReadersInOrder() {
        let w = Waiters([.writer, .reader, .reader, .writer, .reader])
        var s = Semaphore()
        var woken: [Int] = []
        let wake = { (p: UnsafeMutablePointer<LockWaiter>) in woken.append(w.index(p)) }
        XCTAssertTrue(s.lock(.writer, w[0]))
        for i in 1..<5 { XCTAssertFalse(s.lock(w[i].pointee.kind, w[i])) }
        s.unlock(.writer, wake: wake)
        XCTAssertEqual(woken, [1, 2])
        XCTAssertEqual(s.readers, 2)
        s.unlock(.reader, wake: wake)
        XCTAssertEqual(woken, [1, 2])
        s.unlock(.reader, wake: wake)
        XCTAssertEqual(woken, [1, 2, 3])
        XCTAssertTrue(s.writerHolds)
        s.unlock(.writer, wake: wake)
        XCTAssertEqual(woken, [1, 2, 3, 4])
        XCTAssertEqual(s.word, RWSemaphoreWord.reader)
    }

    /// Writers only (a mutex): strictly first come, first served.
    func testMutexIsFIFO() {
        let w = Waiters([.writer, .writer, .writer, .writer])
        var s = Semaphore()
        var woken: [Int] = []
        XCTAssertTrue(s.lock(.writer, w[0]))
        for i in 1..<4 { XCTAssertFalse(s.lock(.writer, w[i])) }
        for _ in 0..<4 { s.unlock(.writer) { woken.append(w.index($0)) } }
        XCTAssertEqual(woken, [1, 2, 3])
        XCTAssertEqual(s.word, 0)
        XCTAssertEqual(s.queue.waiting, 0)
        XCTAssertTrue(s.lock(.writer, w[0]), "empty queue: the lock is free for a newcomer")
    }

    /// A random mix against a model: the holders never break the rules, every
    /// waiter is granted exactly once, in arrival order, and a free lock never
    /// keeps waiters.
    func testRandomScheduleAgainstModel() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let n = 40
            let kinds: [LockWaiter.Kind] = (0..<n).map { _ in Bool.random(using: &rng) ? .reader : .writer }
            let w = Waiters(kinds)
            var s = Semaphore()
            var holders: [Int] = []
            var grantOrder: [Int] = []
            var queued: [Int] = []
            var next = 0
            while next < n || !holders.isEmpty {
                if next < n && (holders.isEmpty || Bool.random(using: &rng)) {
                    let i = next; next += 1
                    if s.lock(kinds[i], w[i]) { holders.append(i); grantOrder.append(i) } else { queued.append(i) }
                } else {
                    let i = holders.remove(at: Int.random(in: 0..<holders.count, using: &rng))
                    s.unlock(kinds[i]) { p in
                        let j = w.index(p)
                        holders.append(j); grantOrder.append(j)
                        XCTAssertEqual(queued.first, j, "hand-over out of FIFO order")
                        queued.removeFirst()
                    }
                }
                let writers = holders.filter { kinds[$0] == .writer }.count
                let readers = holders.count - writers
                XCTAssertTrue(writers == 0 || (writers == 1 && readers == 0), "readers \(readers) with writers \(writers)")
                XCTAssertEqual(s.readers, readers)
                XCTAssertEqual(s.writerHolds, writers == 1)
                XCTAssertEqual(s.queue.waiting, queued.count)
                XCTAssertEqual(s.word & RWSemaphoreWord.waiters != 0, !queued.isEmpty, "waiters bit")
                if holders.isEmpty { XCTAssertTrue(queued.isEmpty, "free lock with waiters left behind") }
            }
            XCTAssertEqual(grantOrder.sorted(), Array(0..<n))
        }
    }
}
