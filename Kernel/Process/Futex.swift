// Fast user-space mutexes: user space spins and atomically updates a 32-bit word;
// only when it must wait does it ask the kernel to sleep until the word changes
// (FUTEX_WAIT) or to wake sleepers (FUTEX_WAKE). pthread_join and musl's locks
// are built on it. Linux: kernel/futex/

enum Futex {
    static let FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_PRIVATE_FLAG = 128, FUTEX_CLOCK_REALTIME = 256

    /// A waiter: which word of which address space. Linux: struct futex_q with its futex_key
    private struct Waiter {
        let space: UInt64
        let address: UInt64
        let task: Task
        var woken = false
    }
    nonisolated(unsafe) private static var waiters: [Waiter] = []

    /// Linux: futex_wait(). Sleeps while *address == expected.
    static func wait(mm: MM, address: VirtAddr, expected: UInt32, deadline: UInt64?) throws(Errno) {
        guard address.value & 3 == 0 else { throw .EINVAL }
        let task = Scheduler.current
        let key = mm.pageTable.root.value
        // Reading the word and queueing happen under the big kernel lock, which
        // every waker holds too, so no wake-up can fall in between.
        guard try UserCopy.read(UInt32.self, at: address) == expected else { throw .EAGAIN }
        waiters.append(Waiter(space: key, address: address.value, task: task))
        while true {
            if let i = waiters.firstIndex(where: { $0.task === task }) {
                if waiters[i].woken { waiters.remove(at: i); return }
            } else {
                return
            }
            if Signals.interrupted(task) { remove(task); throw .EINTR }
            if let deadline, Clock.monotonicNanoseconds >= deadline { remove(task); throw .ETIMEDOUT }
            if let deadline {
                Scheduler.sleep(until: deadline)
            } else {
                Scheduler.sleep()
            }
        }
    }

    /// Linux: futex_wake(). Returns how many waiters were woken.
    static func wake(mm: MM, address: VirtAddr, count: Int) -> Int {
        let key = mm.pageTable.root.value
        var woken = 0
        for i in waiters.indices where woken < count && !waiters[i].woken
            && waiters[i].space == key && waiters[i].address == address.value {
            waiters[i].woken = true
            Scheduler.wake(waiters[i].task)
            woken += 1
        }
        return woken
    }

    private static func remove(_ task: Task) { waiters.removeAll { $0.task === task } }

    /// Linux: sys_futex()
    static func syscall(_ a: SyscallArgs) throws(Errno) -> Int {
        guard let mm = Scheduler.current.mm else { throw .EFAULT }
        let operation = a.int(1) & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
        guard operation == FUTEX_WAIT || operation == FUTEX_WAKE else { throw .ENOSYS }
        // Linux: get_futex_key(): a misaligned word is EINVAL, one outside user space
        // EFAULT, and a shared futex's page must exist (EFAULT).
        guard a.u64(0) & 3 == 0 else { throw .EINVAL }
        guard UserRange.isValid(a.address(0), count: 4) else { throw .EFAULT }
        if a.int(1) & FUTEX_PRIVATE_FLAG == 0 { _ = try UserCopy.read(UInt32.self, at: a.address(0)) }
        switch operation {
        case FUTEX_WAIT:
            var deadline: UInt64? = nil
            if a.u64(3) != 0 {
                let (seconds, nanoseconds) = try UserCopy.read((Int64, Int64).self, at: a.address(3))
                guard seconds >= 0, nanoseconds >= 0, nanoseconds < 1_000_000_000 else { throw .EINVAL }
                deadline = Clock.monotonicNanoseconds &+ UInt64(seconds) &* 1_000_000_000 &+ UInt64(nanoseconds)
            }
            try wait(mm: mm, address: a.address(0), expected: UInt32(truncatingIfNeeded: a.u64(2)), deadline: deadline)
            return 0
        case FUTEX_WAKE:
            return wake(mm: mm, address: a.address(0), count: max(0, a.int(2)))
        default:
            throw .ENOSYS
        }
    }
}
