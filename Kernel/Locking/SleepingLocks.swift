// Sleeping locks: a task that cannot have the lock sleeps instead of spinning,
// so the lock may be held for long (across a page copy, a user copy that
// faults, a wait for I/O) without wasting other CPUs. The rules are Linux's:
//
//   - they are taken only where sleeping is allowed: never in an interrupt
//     handler, never with a spinlock held (`Lockdep.mightSleep` reports it:
//     "BUG: sleeping function called from invalid context");
//   - the holder may sleep while holding one (that is their point);
//   - the lock validator orders them with every other lock, per class.
//
// Who gets the lock, and when, is decided by Kernel/Core/Locking's
// RWSemaphoreWord and SleepingLockState (host-tested): one atomic word of
// holders, which an uncontended lock or unlock changes with one compare-and-swap;
// FIFO waiters, the lock handed over by the unlock to the first writer or the
// readers at the head of the queue. Here the queue lives under a spinlock
// (Linux: sem->wait_lock), and waiters sleep with
// the scheduler's two-step sleep (prepare, look, switch), so a hand-over that
// comes between the look and the switch is not lost.
// Linux: kernel/locking/rwsem.c, kernel/locking/mutex.c

import Synchronization

/// A reader/writer semaphore: many readers or one writer, sleeping while they
/// wait. Protects an mm's VMAs (its `mmapLock`). Linux: struct rw_semaphore
final class RWSemaphore: @unchecked Sendable {   // shared between CPUs: `word` is atomic, `queue` under `waitLock`
    /// The holders (Kernel/Core's RWSemaphoreWord): one compare-and-swap takes or
    /// drops an uncontended lock. Linux: sem->count
    private let word = Atomic<Int>(0)
    /// Guards `queue`, and the word while its waiters bit is set. Linux: sem->wait_lock
    private let waitLock = SpinLock(RWSemaphore.waitLockClass)
    private var queue = SleepingLockState()
    let lockClass: LockClass

    private static let waitLockClass = LockClass("rwsem_wait_lock")

    /// `lockClass` must be a sleeping class (`LockClass(name, sleeping: true)`).
    init(_ lockClass: LockClass) {
        precondition(lockClass.sleeping, "a semaphore needs a sleeping lock class")
        self.lockClass = lockClass
    }

    /// Linux: down_read()
    func lockRead() { lock(.reader) }
    /// Linux: up_read()
    func unlockRead() { unlock(.reader) }
    /// Linux: down_write()
    func lockWrite() { lock(.writer) }
    /// Linux: up_write()
    func unlockWrite() { unlock(.writer) }

    /// Takes it for reading only if that needs no wait (no writer holds it,
    /// nobody queues); never sleeps. Reclaim uses it on other processes' mms,
    /// as Linux's rmap walks avoid sleeping on locks they do not own.
    /// Linux: down_read_trylock()
    func tryLockRead() -> Bool {
        guard update(RWSemaphoreWord.fastRead) else { return false }
        Lockdep.acquireTry(lockClass)
        return true
    }

    /// The same for writing: only a free lock. Linux: down_write_trylock()
    func tryLockWrite() -> Bool {
        guard update(RWSemaphoreWord.fastWrite) else { return false }
        Lockdep.acquireTry(lockClass)
        return true
    }

    @inline(__always)
    private func lock(_ kind: LockWaiter.Kind) {
        Lockdep.mightSleep()
        Lockdep.acquire(lockClass, interruptsOn: true)
        let step = kind == .reader ? RWSemaphoreWord.fastRead : RWSemaphoreWord.fastWrite
        if !update(step) && !spin(step) { wait(kind) }
    }

    /// Busy-polls this many times before queueing. Critical sections under a
    /// sleeping lock are mostly short (a fault, a munmap), and a sleep and a
    /// wake-up (an IPI, two context switches) cost more than waiting them out.
    static let spinLimit = 8192

    /// Optimistic spinning: retries the fast path while nobody is queued (a
    /// queue means waiters first, in order). Linux: rwsem_optimistic_spin(),
    /// which spins as long as the owner runs; Keel does not track the owner,
    /// so the spin is bounded.
    private func spin(_ step: (Int) -> Int?) -> Bool {
        for _ in 0..<Self.spinLimit {
            CPU.relax()
            let old = word.load(ordering: .relaxed)
            if old & RWSemaphoreWord.waiters != 0 { return false }
            if step(old) != nil && update(step) { return true }
        }
        return false
    }

    @inline(__always)
    private func unlock(_ kind: LockWaiter.Kind) {
        Lockdep.release(lockClass)
        if !update(kind == .reader ? RWSemaphoreWord.fastReleaseRead : RWSemaphoreWord.fastReleaseWrite) {
            wakeNext(after: kind)
        }
    }

    func withRead<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lockRead()
        defer { unlockRead() }
        return try body()
    }

    func withWrite<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lockWrite()
        defer { unlockWrite() }
        return try body()
    }

    /// For assertions: someone (not necessarily the caller) holds it for writing.
    /// Linux: rwsem_is_locked() in mmap_assert_write_locked()
    var isWriteLocked: Bool { word.load(ordering: .relaxed) & RWSemaphoreWord.writer != 0 }

    /// For assertions: someone holds it, reading or writing. Linux: mmap_assert_locked()
    var isLocked: Bool { !RWSemaphoreWord.isFree(word.load(ordering: .relaxed)) }

    /// The fast path: applies `step` with one compare-and-swap (again if another
    /// CPU changed the word meanwhile); false when `step` says the slow path.
    @inline(__always)
    private func update(_ step: (Int) -> Int?) -> Bool {
        var old = word.load(ordering: .relaxed)
        while let new = step(old) {
            let (exchanged, seen) = word.compareExchange(expected: old, desired: new, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            old = seen
        }
        return false
    }

    /// Queues the current task and sleeps until an unlock hands it the lock.
    /// Uninterruptible, as Linux's down_read()/down_write() (state D): the holder
    /// is kernel code that will let go.
    /// Linux: rwsem_down_read_slowpath() / rwsem_down_write_slowpath()
    private func wait(_ kind: LockWaiter.Kind) {
        let task = Scheduler.current
        var waiter = LockWaiter(kind: kind, owner: UnsafeRawPointer(Unmanaged.passUnretained(task).toOpaque()))
        withUnsafeMutablePointer(to: &waiter) { node in
            waitLock.lock()
            // Until the waiters bit is in the word, fast paths may still change it.
            var old = word.load(ordering: .relaxed)
            while true {
                let desired = queue.takeWithoutWaiting(kind, word: old) ?? old | RWSemaphoreWord.waiters
                let (exchanged, seen) = word.compareExchange(expected: old, desired: desired, ordering: .acquiringAndReleasing)
                if exchanged {
                    if desired & RWSemaphoreWord.waiters == 0 {   // the holder let go meanwhile: taken
                        waitLock.unlock()
                        return
                    }
                    break
                }
                old = seen
            }
            queue.enqueue(node)
            waitLock.unlock()
            while true {
                Scheduler.prepareToSleep()
                waitLock.lock()
                let granted = node.pointee.granted
                waitLock.unlock()
                if granted { break }
                Scheduler.sleepPrepared()
            }
            Scheduler.cancelSleep()
        }
    }

    /// An unlock that found the waiters bit: hand the lock on. Linux: rwsem_wake()
    private func wakeNext(after kind: LockWaiter.Kind) {
        waitLock.lock()
        // With the waiters bit set no fast path changes the word: load, then store.
        let old = word.load(ordering: .acquiring)
        word.store(queue.release(kind, word: old, wake: Self.wake), ordering: .releasing)
        waitLock.unlock()
    }

    /// Called under `waitLock` for each waiter given the lock.
    private static func wake(_ node: UnsafeMutablePointer<LockWaiter>) {
        Scheduler.wake(Unmanaged<Task>.fromOpaque(node.pointee.owner).takeUnretainedValue())
    }
}

/// A mutual-exclusion lock whose waiters sleep: a semaphore with writers only.
/// xv6: struct sleeplock; Linux: struct mutex
final class SleepLock: @unchecked Sendable {     // its semaphore guards itself
    private let semaphore: RWSemaphore

    init(_ lockClass: LockClass) { semaphore = RWSemaphore(lockClass) }

    /// Linux: mutex_lock()
    func lock() { semaphore.lockWrite() }
    /// Linux: mutex_unlock()
    func unlock() { semaphore.unlockWrite() }
    /// Someone holds it (for assertions of the caller's own locking). Linux: mutex_is_locked()
    var isLocked: Bool { semaphore.isWriteLocked }

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
