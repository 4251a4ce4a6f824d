// The scheduler lock: one spinlock over every run queue, the task table and
// the sleep timers, taken with interrupts off (the timer tick takes it too).
// `lock` returns whether interrupts were on, for the matching `unlock`; the
// value lives on the caller's stack, so it survives a context switch made with
// the lock held: the next task releases the lock on its own path, or in
// schedule_tail for a new task. Linux: rq->lock with raw_spin_lock_irqsave(),
// held across context_switch() and released in finish_task_switch(). The
// validator keeps held locks per CPU, so the hand-over needs no annotation.

import Synchronization

struct SchedulerLock: ~Copyable {
    private let locked = Atomic<Bool>(false)
    /// Linux: the rq->__lock class
    static let lockClass = LockClass("scheduler_lock")

    func lock() -> Bool {
        Lockdep.acquire(Self.lockClass, interruptsOn: false)
        let enabled = CPU.interruptsEnabled
        while true {
            CPU.disableInterrupts()
            if !locked.exchange(true, ordering: .acquiring) { return enabled }
            if enabled { CPU.enableInterrupts() }                   // answer IPIs while waiting
            while locked.load(ordering: .relaxed) { CPU.relax() }
        }
    }

    func unlock(_ interruptsWereOn: Bool) {
        Lockdep.release(Self.lockClass)
        locked.store(false, ordering: .releasing)
        if interruptsWereOn { CPU.enableInterrupts() }
    }
}
