// The decisions of Keel's sleeping locks (Linux: kernel/locking/rwsem.c and
// mutex.c), without the scheduler around them: who holds the lock, who waits,
// and whom an unlock hands it to.
//
// A reader/writer semaphore lets many readers in at once, or one writer. A task
// that cannot have it now joins a FIFO of waiters and sleeps; the kernel side
// (Kernel/Locking/SleepingLocks.swift) keeps this state under a spinlock (Linux:
// sem->wait_lock) and puts tasks to sleep and wakes them.
//
// The lock is handed over, never grabbed: an unlock that leaves it free gives it
// at once to the first waiter (a writer), or to the run of readers at the head of
// the queue, and marks their nodes granted before waking them. A woken task
// therefore owns the lock already and never competes with a newcomer, so no
// waiter starves (Linux: the handoff bit, RWSEM_FLAG_HANDOFF, and
// rwsem_mark_wake()). Newcomers queue behind waiters too: a stream of readers
// cannot starve a writer.
//
// A mutex is this with writers only (Linux's struct mutex is its own type; the
// rules for one holder are the same).
//
// The queue is intrusive: a waiter's node lives on the waiting task's stack, so
// joining the queue allocates nothing under the spinlock (Linux: struct
// rwsem_waiter on the stack, linked into sem->wait_list).

/// One task waiting for a sleeping lock. It stays at one address (the waiter's
/// stack) while queued. Linux: struct rwsem_waiter
public struct LockWaiter {
    public enum Kind: Equatable, Sendable { case reader, writer }
    public let kind: Kind
    /// Who waits, opaque here: the kernel stores its task.
    public let owner: UnsafeRawPointer
    /// Set (under the lock's spinlock) when the lock is handed to this waiter,
    /// just before it is woken; the waiter then owns it.
    public internal(set) var granted = false
    fileprivate var next: UnsafeMutablePointer<LockWaiter>? = nil

    public init(kind: Kind, owner: UnsafeRawPointer) {
        self.kind = kind
        self.owner = owner
    }
}

/// Linux: struct rw_semaphore's count, owner and wait_list
public struct SleepingLockState {
    /// Readers holding the lock now.
    public private(set) var readers = 0
    /// A writer holds it.
    public private(set) var writerHolds = false
    private var head: UnsafeMutablePointer<LockWaiter>? = nil
    private var tail: UnsafeMutablePointer<LockWaiter>? = nil
    /// Waiters queued. Linux: the RWSEM_FLAG_WAITERS bit, here a count for /proc and tests
    public private(set) var waiting = 0

    public init() {}

    public var isFree: Bool { readers == 0 && !writerHolds }

    /// Takes the lock for reading if that needs no wait: no writer holds it and
    /// nobody is queued ahead. Linux: rwsem_read_trylock()
    public mutating func tryRead() -> Bool {
        guard !writerHolds && head == nil else { return false }
        readers += 1
        return true
    }

    /// Takes the lock for writing if it is free and nobody is queued ahead.
    /// Linux: rwsem_write_trylock()
    public mutating func tryWrite() -> Bool {
        guard isFree && head == nil else { return false }
        writerHolds = true
        return true
    }

    /// Queues a waiter that `tryRead`/`tryWrite` turned away. It owns the lock
    /// once its `granted` is set by an unlock.
    public mutating func enqueue(_ waiter: UnsafeMutablePointer<LockWaiter>) {
        waiter.pointee.next = nil
        waiter.pointee.granted = false
        if let tail { tail.pointee.next = waiter } else { head = waiter }
        tail = waiter
        waiting += 1
    }

    /// A reader lets go. `wake` is called for each waiter the lock passes to.
    /// Linux: up_read() → rwsem_wake()
    public mutating func releaseRead(wake: (UnsafeMutablePointer<LockWaiter>) -> Void) {
        precondition(readers > 0 && !writerHolds, "up_read() of a semaphore not held for reading")
        readers -= 1
        if readers == 0 { handOver(wake) }
    }

    /// The writer lets go. Linux: up_write() → rwsem_wake()
    public mutating func releaseWrite(wake: (UnsafeMutablePointer<LockWaiter>) -> Void) {
        precondition(writerHolds, "up_write() of a semaphore not held for writing")
        writerHolds = false
        handOver(wake)
    }

    /// The lock is free: to the first writer, or to every reader at the head.
    private mutating func handOver(_ wake: (UnsafeMutablePointer<LockWaiter>) -> Void) {
        guard let first = head else { return }
        if first.pointee.kind == .writer {
            pop()
            writerHolds = true
            first.pointee.granted = true
            wake(first)
        } else {
            while let next = head, next.pointee.kind == .reader {
                pop()
                readers += 1
                next.pointee.granted = true
                wake(next)
            }
        }
    }

    private mutating func pop() {
        let first = head!
        head = first.pointee.next
        if head == nil { tail = nil }
        first.pointee.next = nil
        waiting -= 1
    }
}
