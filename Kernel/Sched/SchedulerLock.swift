// The run-queue lock. It disables interrupts on this CPU (the timer tick takes
// it too) and returns whether they were on, for the matching unlock; the value
// lives on the caller's stack, so it survives a context switch made with the
// lock held (the next task releases the lock on its own path, or in
// schedule_tail for a new task). Linux: rq->lock with raw_spin_lock_irqsave()

struct SchedulerLock {
    func lock() -> Bool {
        let enabled = read_rflags() & (1 << 9) != 0
        cpu_cli()
        return enabled
    }

    func unlock(_ interruptsWereOn: Bool) {
        if interruptsWereOn { cpu_sti() }
    }
}
