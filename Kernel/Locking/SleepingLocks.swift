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
// SleepingLockState (host-tested): FIFO waiters, the lock handed over by the
// unlock to the first writer or the readers at the head of the queue. Here that
// state lives under a spinlock (Linux: sem->wait_lock), and waiters sleep with
// the scheduler's two-step sleep (prepare, look, switch), so a hand-over that
// comes between the look and the switch is not lost.
// Linux: kernel/locking/rwsem.c, kernel/locking/mutex.c

/// A reader/writer semaphore: many readers or one writer, sleeping while they
/// wait. Protects an mm's VMAs (its `mmapLock`). Linux: struct rw_semaphore
final class RWSemaphore: @unchecked Sendable {   // shared between CPUs; `state` under `waitLock`
    /// Guards `state`. Linux: sem->wait_lock
    private let waitLock = SpinLock(RWSemaphore.waitLockClass)
    private var state = SleepingLockState()
    let lockClass: LockClass

    private static let waitLockClass = LockClass("rwsem_wait_lock")

    /// `lockClass` must be a sleeping class (`LockClass(name, sleeping: true)`).
    init(_ lockClass: LockClass) {
        precondition(lockClass.sleeping, "a semaphore needs a sleeping lock class")
        self.lockClass = lockClass
    }

    /// Linux: down_read()
    func lockRead() {
        Lockdep.mightSleep()
        Lockdep.acquire(lockClass, interruptsOn: true)
        waitLock.lock()
        let got = state.tryRead()
        waitLock.unlock()
        if !got { wait(.reader) }
    }

    /// Linux: up_read()
    func unlockRead() {
        Lockdep.release(lockClass)
        waitLock.lock()
        state.releaseRead(wake: Self.wake)
        waitLock.unlock()
    }

    /// Linux: down_write()
    func lockWrite() {
        Lockdep.mightSleep()
        Lockdep.acquire(lockClass, interruptsOn: true)
        waitLock.lock()
        let got = state.tryWrite()
        waitLock.unlock()
        if !got { wait(.writer) }
    }

    /// Linux: up_write()
    func unlockWrite() {
        Lockdep.release(lockClass)
        waitLock.lock()
        state.releaseWrite(wake: Self.wake)
        waitLock.unlock()
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
    var isWriteLocked: Bool {
        waitLock.lock()
        defer { waitLock.unlock() }
        return state.writerHolds
    }

    /// For assertions: someone holds it, reading or writing. Linux: mmap_assert_locked()
    var isLocked: Bool {
        waitLock.lock()
        defer { waitLock.unlock() }
        return !state.isFree
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
            // Again under the lock: the holder may have let go since the first try.
            if kind == .reader ? state.tryRead() : state.tryWrite() {
                waitLock.unlock()
                return
            }
            state.enqueue(node)
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

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
