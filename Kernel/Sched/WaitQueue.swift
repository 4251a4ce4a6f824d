// A wait queue: the tasks sleeping until some object changes (a pipe gets
// bytes or room, the terminal gets a line). The waiter adds itself, marks itself
// sleeping with the scheduler's two-step sleep, looks at the object once more
// and switches away; whoever changes the object changes it first and then wakes
// the queue, so no wake-up falls between the look and the sleep. poll and
// select put one task on many queues at once (Kernel/FS/Poll.swift).
// Linux: include/linux/wait.h (wait_queue_head_t, add_wait_queue(),
// wake_up_interruptible_all())

final class WaitQueue {
    /// Protected by `lock`. A task appears once per add (poll may add it twice
    /// through two descriptors of one pipe); `remove` takes every copy.
    private var waiters: [Task] = []
    /// Innermost but for the scheduler's lock (a wake takes that inside it).
    /// Linux: wq_head->lock
    private let lock = SpinLock(WaitQueue.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&wq_head->lock")

    /// Linux: add_wait_queue()
    func add(_ task: Task) {
        lock.withLock { waiters.append(task) }
    }

    /// Linux: remove_wait_queue()
    func remove(_ task: Task) {
        lock.withLock { waiters.removeAll { $0 === task } }
    }

    /// Wakes every waiter; each takes itself off when it runs. Linux: wake_up_interruptible_all()
    func wakeAll() {
        lock.withLock { for task in waiters { Scheduler.wake(task) } }
    }
}
