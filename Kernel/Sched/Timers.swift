// Sleeping until a time: tasks in nanosleep wait on this list, and the timer
// tick wakes the ones whose deadline has passed. Linux: hrtimers (much
// simplified: tick resolution, an unsorted list)

enum Timers {
    nonisolated(unsafe) private static var sleepers: [(deadline: UInt64, task: Task)] = []

    /// Sleeps the current task until CLOCK_MONOTONIC reaches `deadline` (ns).
    /// False if a signal cut the sleep short.
    static func sleep(until deadline: UInt64) -> Bool {
        while Clock.monotonicNanoseconds < deadline {
            if Signals.interrupted(Scheduler.current) { return false }
            // Registering and sleeping with interrupts off: the tick cannot slip in
            // between and lose the wake-up.
            let guardInterrupts = InterruptsDisabled()
            sleepers.append((deadline, Scheduler.current))
            Scheduler.sleep()
            _ = guardInterrupts
        }
        return true
    }

    /// From the timer interrupt.
    static func expire() {
        guard !sleepers.isEmpty else { return }
        let now = Clock.monotonicNanoseconds
        var i = 0
        while i < sleepers.count {
            if sleepers[i].deadline <= now {
                Scheduler.wake(sleepers[i].task)
                sleepers.swapAt(i, sleepers.count - 1)
                sleepers.removeLast()
            } else {
                i += 1
            }
        }
    }
}
