// The decisions of Keel's sleeping locks (Linux: kernel/locking/rwsem.c and
// mutex.c), without the scheduler around them: who holds the lock, who waits,
// and whom an unlock hands it to.
//
// A reader/writer semaphore lets many readers in at once, or one writer. Its
// holders are one word, `RWSemaphoreWord`, which the kernel keeps atomic: an
// uncontended lock or unlock is one compare-and-swap on it, with no spinlock
// (Linux: sem->count and its fast paths, rwsem_read_trylock()). A task that
// cannot have the lock takes the slow path under the lock's spinlock (Linux:
// sem->wait_lock): it sets the word's `waiters` bit, joins a FIFO of waiters
// (`SleepingLockState`) and sleeps. While that bit is set every lock and unlock
// takes the slow path, so the word changes only under the spinlock.
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

/// The holders of a reader/writer semaphore as one word: bit 0 a writer holds
/// it, bit 1 waiters are queued, the rest the number of readers holding it.
/// Linux: sem->count (RWSEM_WRITER_LOCKED, RWSEM_FLAG_WAITERS, RWSEM_READER_BIAS)
public enum RWSemaphoreWord {
    public static let writer = 1
    public static let waiters = 2
    public static let reader = 4

    public static func readers(_ word: Int) -> Int { word / reader }
    public static func isFree(_ word: Int) -> Bool { word & ~waiters == 0 }

    /// The word after taking the lock for reading without waiting, or nil if
    /// that needs the slow path (a writer holds it, or others wait).
    public static func fastRead(_ word: Int) -> Int? { word & (writer | waiters) == 0 ? word + reader : nil }
    /// The same for writing: only a free lock with nobody waiting.
    public static func fastWrite(_ word: Int) -> Int? { word == 0 ? writer : nil }
    /// The word after a reader lets go, or nil if waiters need the slow path.
    public static func fastReleaseRead(_ word: Int) -> Int? { word & waiters == 0 ? word - reader : nil }
    /// The same for the writer.
    public static func fastReleaseWrite(_ word: Int) -> Int? { word == writer ? 0 : nil }
}

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

/// The slow path: the queue of waiters, and what the word becomes. Every method
/// runs under the lock's spinlock; `word` is the holders word read under it.
/// Linux: sem->wait_list with rwsem_down_read_slowpath(), rwsem_wake()
public struct SleepingLockState {
    private var head: UnsafeMutablePointer<LockWaiter>? = nil
    private var tail: UnsafeMutablePointer<LockWaiter>? = nil
    /// Waiters queued.
    public private(set) var waiting = 0

    public init() {}

    /// The word after taking the lock at once, for a task that found no fast path
    /// a moment ago: only if nobody is queued and the holder let go meanwhile.
    public func takeWithoutWaiting(_ kind: LockWaiter.Kind, word: Int) -> Int? {
        guard head == nil else { return nil }
        return kind == .reader ? RWSemaphoreWord.fastRead(word) : RWSemaphoreWord.fastWrite(word)
    }

    /// Queues a waiter; the caller has set the word's waiters bit. It owns the
    /// lock once an unlock sets its `granted`.
    public mutating func enqueue(_ waiter: UnsafeMutablePointer<LockWaiter>) {
        waiter.pointee.next = nil
        waiter.pointee.granted = false
        if let tail { tail.pointee.next = waiter } else { head = waiter }
        tail = waiter
        waiting += 1
    }

    /// A holder of `kind` lets go while waiters are queued (the word has the
    /// waiters bit, so no fast path can change it): the new word, after handing
    /// the lock on if it is now free. `wake` is called for each waiter
    /// the lock passes to. Linux: up_read()/up_write() → rwsem_wake()
    public mutating func release(_ kind: LockWaiter.Kind, word: Int,
                                 wake: (UnsafeMutablePointer<LockWaiter>) -> Void) -> Int {
        var word = word
        if kind == .reader {
            precondition(RWSemaphoreWord.readers(word) > 0 && word & RWSemaphoreWord.writer == 0,
                         "up_read() of a semaphore not held for reading")
            word -= RWSemaphoreWord.reader
        } else {
            precondition(word & RWSemaphoreWord.writer != 0, "up_write() of a semaphore not held for writing")
            word &= ~RWSemaphoreWord.writer
        }
        guard RWSemaphoreWord.isFree(word), let first = head else {
            return head == nil ? word & ~RWSemaphoreWord.waiters : word
        }
        if first.pointee.kind == .writer {
            pop()
            word |= RWSemaphoreWord.writer
            first.pointee.granted = true
            wake(first)
        } else {
            while let next = head, next.pointee.kind == .reader {
                pop()
                word += RWSemaphoreWord.reader
                next.pointee.granted = true
                wake(next)
            }
        }
        return head == nil ? word & ~RWSemaphoreWord.waiters : word
    }

    private mutating func pop() {
        let first = head!
        head = first.pointee.next
        if head == nil { tail = nil }
        first.pointee.next = nil
        waiting -= 1
    }
}
