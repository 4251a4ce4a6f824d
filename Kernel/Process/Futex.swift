// Fast user-space mutexes: user space spins and atomically updates a 32-bit word;
// only when it must wait does it ask the kernel to sleep until the word changes
// (FUTEX_WAIT) or to wake sleepers (FUTEX_WAKE), or to move sleepers from one
// word to another without waking them (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE: musl's
// condition variables hand a signalled waiter over to the mutex's word this
// way). pthread_join and musl's locks are built on it. Linux: kernel/futex/

/// Which futex a word is: what two waits must agree on to meet. Linux: union futex_key
enum FutexKey: Hashable {
    /// A word only one address space can see (FUTEX_PRIVATE_FLAG, or a private
    /// mapping): the mm and the address. Linux: the key's private.{mm, address}
    case privateWord(mm: UInt64, address: UInt64)
    /// A word in a shared mapping: the shared object, the page in it and the
    /// byte in the page, the same in every process that maps it, at whatever
    /// address. (Page and byte stay apart: a page index from mmap's offset can be
    /// near 2^52, and one number of bytes would overflow.)
    /// Linux: shared.{i_seq, pgoff, offset}
    case sharedWord(object: UInt64, page: UInt64, byte: UInt64)
}

enum Futex {
    static let FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4
    static let FUTEX_PRIVATE_FLAG = 128, FUTEX_CLOCK_REALTIME = 256

    /// A waiter: which futex, which task. A requeue changes the key and moves the
    /// waiter to the new key's bucket; the task's `futexBucket` follows it.
    /// Linux: struct futex_q (requeue_futex() changes its key and lock_ptr)
    private struct Waiter {
        var key: FutexKey
        let task: Task
        var woken = false
    }

    /// One hash chain: its waiters, in queue order, under its own lock.
    /// Linux: struct futex_hash_bucket
    private struct Bucket {
        /// Protects `waiters` and the `futexBucket` of every task in them. A
        /// requeue holds two: the lower-numbered first, the other as the
        /// nested class. Taken before the scheduler lock. Linux: hb->lock
        let lock: SpinLock
        var waiters: [Waiter] = []
    }
    private static let bucketLockClass = LockClass("&hb->lock")
    private static let nestedBucketLockClass = LockClass("&hb->lock/1")

    /// Waiters hashed by key into buckets, so a wake looks at one short list and
    /// futexes in different buckets never share a lock. Set up once at boot
    /// (plain memory: CPUs change different buckets at once).
    /// Linux: futex_queues[] of struct futex_hash_bucket, futex_hash()
    private static let bucketCount = 256
    nonisolated(unsafe) private static let buckets: UnsafeMutablePointer<Bucket> = {
        let table = UnsafeMutablePointer<Bucket>.allocate(capacity: bucketCount)
        for i in 0..<bucketCount {
            (table + i).initialize(to: Bucket(lock: SpinLock(bucketLockClass, disablesInterrupts: false)))
        }
        return table
    }()

    private static func bucket(_ key: FutexKey) -> Int { key.hashValue & (bucketCount - 1) }

    /// Locks the bucket the current task waits in, which a requeue may change
    /// until its lock is held. Linux: futex_q_lock() / the lock_ptr re-check
    private static func lockOwnBucket(_ task: Task) -> Int {
        while true {
            let b = task.futexBucket
            buckets[b].lock.lock()
            if task.futexBucket == b { return b }
            buckets[b].lock.unlock()
        }
    }

    /// The key of the word at `address`: private when the caller says so or the
    /// mapping is private, else the shared object and offset. The word must be
    /// mapped (the caller has read it). Linux: get_futex_key()
    static func key(mm: MM, address: VirtAddr, isPrivate: Bool) -> FutexKey {
        // The mm is named by its PML4 frame: unique while the mm lives, and a
        // waiter's task keeps its mm alive.
        let own = FutexKey.privateWord(mm: mm.pageTable.root.value, address: address.value)
        guard !isPrivate, let vma = mm.mmapLock.withRead({ mm.vmas.findVMA(address) }), vma.contains(address),
              vma.flags.contains(.shared),
              case .file(let object, _) = vma.backing, let page = vma.filePage(at: address) else { return own }
        return .sharedWord(object: object.rawValue, page: page, byte: address.value & (pageSize - 1))
    }

    /// Linux: futex_wait(). Sleeps while *address == expected. The word is
    /// read under the bucket lock, which every waker takes too, so a wake-up
    /// cannot fall between the read and the queueing.
    static func wait(key: FutexKey, address: VirtAddr, expected: UInt32, deadline: UInt64?) throws(Errno) {
        guard address.value & 3 == 0 else { throw .EINVAL }
        let task = Scheduler.current
        let b = bucket(key)
        try lockAndCompare(address, expected, lock: { buckets[b].lock.lock() }, unlock: { buckets[b].lock.unlock() })
        task.futexBucket = b
        buckets[b].waiters.append(Waiter(key: key, task: task))
        // Marked sleeping before the lock goes: a wake from here on counts.
        Scheduler.prepareToSleep(until: deadline)
        buckets[b].lock.unlock()
        while true {
            Scheduler.sleepPrepared()
            let at = lockOwnBucket(task)            // a requeue may have moved the waiter
            defer { buckets[at].lock.unlock() }
            guard let i = buckets[at].waiters.firstIndex(where: { $0.task === task }) else {
                Panic.now("futex: a waiter left its bucket without being woken")
            }
            var outcome: Errno? = nil
            if buckets[at].waiters[i].woken {
                outcome = nil
            } else if Signals.interrupted(task) {
                outcome = .EINTR
            } else if let deadline, Clock.monotonicNanoseconds >= deadline {
                outcome = .ETIMEDOUT
            } else {
                Scheduler.prepareToSleep(until: deadline)   // (spurious wake-up: again, under the lock)
                continue
            }
            buckets[at].waiters.remove(at: i)
            task.futexBucket = -1
            if let outcome { throw outcome }
            return
        }
    }

    /// Linux: futex_wake(). Returns how many waiters were woken.
    static func wake(key: FutexKey, count: Int) -> Int {
        let b = bucket(key)
        buckets[b].lock.lock()
        defer { buckets[b].lock.unlock() }
        return wakeLocked(key: key, count: count, in: b)
    }

    private static func wakeLocked(key: FutexKey, count: Int, in b: Int) -> Int {
        var woken = 0
        for i in buckets[b].waiters.indices where woken < count && !buckets[b].waiters[i].woken
            && buckets[b].waiters[i].key == key {
            buckets[b].waiters[i].woken = true
            Scheduler.wake(buckets[b].waiters[i].task)
            woken += 1
        }
        return woken
    }

    /// Wakes up to `count` waiters of `key` and moves up to `requeueCount` of the
    /// others to `target`, in queue order, after checking that the word at
    /// `address` still holds `expected` if given (FUTEX_CMP_REQUEUE), all under
    /// both buckets' locks. Returns both numbers added, as Linux does (a
    /// requeue onto the same word counts too, and changes nothing).
    /// Linux: futex_requeue() without PI, double_lock_hb()
    static func requeue(key: FutexKey, count: Int, to target: FutexKey, requeueCount: Int,
                        address: VirtAddr, expected: UInt32?) throws(Errno) -> Int {
        let from = bucket(key), to = bucket(target)
        let (low, high) = (min(from, to), max(from, to))
        let lockPair = {
            buckets[low].lock.lock()
            if high != low { buckets[high].lock.lock(as: nestedBucketLockClass) }
        }
        if let expected {
            try lockAndCompare(address, expected, lock: lockPair, unlock: { unlockPair(low, high) })
        } else {
            lockPair()
        }
        defer { unlockPair(low, high) }
        var woken = wakeLocked(key: key, count: count, in: from)
        var moved = 0, i = 0
        while i < buckets[from].waiters.count && moved < requeueCount {
            var waiter = buckets[from].waiters[i]
            guard waiter.key == key && !waiter.woken else { i += 1; continue }
            waiter.key = target
            waiter.task.futexBucket = to
            if from == to {
                buckets[from].waiters[i] = waiter
                i += 1
            } else {
                buckets[from].waiters.remove(at: i)
                buckets[to].waiters.append(waiter)
            }
            moved += 1
        }
        woken += moved
        return woken
    }

    /// Takes the bucket lock(s) with `lock` and compares the word at `address`
    /// with `expected` under them, page faults disabled. A word not present is
    /// faulted in after `unlock` (a real EFAULT ends there) and looked at again.
    /// Returns holding the locks; EAGAIN, with them released, when the word
    /// differs. Linux: futex_wait_setup() and futex_requeue()'s retry loops
    private static func lockAndCompare(_ address: VirtAddr, _ expected: UInt32,
                                       lock: () -> Void, unlock: () -> Void) throws(Errno) {
        while true {
            lock()
            let word: UInt32
            do {
                word = try UserCopy.readWithoutFaults(UInt32.self, at: address)
            } catch {
                unlock()
                _ = try UserCopy.read(UInt32.self, at: address)
                continue
            }
            guard word == expected else {
                unlock()
                throw .EAGAIN
            }
            return
        }
    }

    private static func unlockPair(_ low: Int, _ high: Int) {
        if high != low { buckets[high].lock.unlock(as: nestedBucketLockClass) }
        buckets[low].lock.unlock()
    }

    /// Linux: sys_futex()
    static func syscall(_ a: SyscallArgs) throws(Errno) -> Int {
        guard let mm = Scheduler.current.mm else { throw .EFAULT }
        let operation = a.int(1) & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
        guard [FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE].contains(operation) else { throw .ENOSYS }
        // Linux: get_futex_key(): a misaligned word is EINVAL, one outside user space
        // EFAULT, and a shared futex's page must exist (EFAULT).
        guard a.u64(0) & 3 == 0 else { throw .EINVAL }
        guard UserRange.isValid(a.address(0), count: 4) else { throw .EFAULT }
        let isPrivate = a.int(1) & FUTEX_PRIVATE_FLAG != 0
        if !isPrivate { _ = try UserCopy.read(UInt32.self, at: a.address(0)) }
        let key = key(mm: mm, address: a.address(0), isPrivate: isPrivate)
        switch operation {
        case FUTEX_WAIT:
            var deadline: UInt64? = nil
            if a.u64(3) != 0 {
                let (seconds, nanoseconds) = try UserCopy.read((Int64, Int64).self, at: a.address(3))
                guard seconds >= 0, nanoseconds >= 0, nanoseconds < 1_000_000_000 else { throw .EINVAL }
                deadline = Clock.monotonicNanoseconds &+ UInt64(seconds) &* 1_000_000_000 &+ UInt64(nanoseconds)
            }
            try wait(key: key, address: a.address(0), expected: UInt32(truncatingIfNeeded: a.u64(2)), deadline: deadline)
            return 0
        case FUTEX_WAKE:
            return wake(key: key, count: max(0, a.int(2)))
        case FUTEX_REQUEUE, FUTEX_CMP_REQUEUE:
            // futex(uaddr, op, nr_wake, nr_requeue (in the timeout slot), uaddr2, val3).
            // Linux: negative counts are EINVAL; uaddr2 gets uaddr's checks.
            let wakeCount = a.int(2), requeueCount = a.int(3)
            guard wakeCount >= 0, requeueCount >= 0 else { throw .EINVAL }
            guard a.u64(4) & 3 == 0 else { throw .EINVAL }
            guard UserRange.isValid(a.address(4), count: 4) else { throw .EFAULT }
            if !isPrivate { _ = try UserCopy.read(UInt32.self, at: a.address(4)) }
            // FUTEX_CMP_REQUEUE's check happens under the buckets' locks, which
            // every waiter holds while it compares and queues.
            let expected = operation == FUTEX_CMP_REQUEUE ? UInt32(truncatingIfNeeded: a.u64(5)) : nil
            let target = Self.key(mm: mm, address: a.address(4), isPrivate: isPrivate)
            return try requeue(key: key, count: wakeCount, to: target, requeueCount: requeueCount,
                               address: a.address(0), expected: expected)
        default:
            throw .ENOSYS
        }
    }
}
