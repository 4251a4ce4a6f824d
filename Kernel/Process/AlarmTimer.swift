// alarm(2): each process's real-time timer, which sends it SIGALRM when it
// expires. The tick cannot send a signal (siglock is not a lock an interrupt
// handler may take), so, like typed input, an expired timer is acted on by the
// next CPU that returns to user mode or idles (`runExpired`): within a tick of
// its time, Keel's timer resolution anyway. A timer belongs to the process
// (its group leader): exec keeps it, fork does not copy it, the process's end
// cancels it. Linux: signal->real_timer (an hrtimer), it_real_fn(),
// alarm_setitimer() in kernel/time/itimer.c

import Synchronization

enum AlarmTimers {
    /// The armed timers: when, in monotonic nanoseconds, and whose (a group
    /// leader, one entry at most each). Protected by `lock`.
    nonisolated(unsafe) private static var armed: [(deadline: UInt64, process: Task)] = []
    /// The earliest deadline in `armed`, UInt64.max for none: what the fast
    /// path reads without the lock. Written under `lock`.
    private static let earliest = Atomic<UInt64>(UInt64.max)
    /// `armed`; nothing is taken inside it (SIGALRM is sent after it).
    static let lock = SpinLock(LockClass("itimer_lock"), disablesInterrupts: false)

    /// Arms the timer of `process` to expire in `seconds` (0 cancels it) and
    /// returns the whole seconds the previous one had left, rounded to the
    /// nearest and at least 1 if it was armed, as alarm() reports them.
    /// Linux: alarm_setitimer()
    static func alarm(seconds: UInt64, for process: Task) -> UInt64 {
        runExpired()                                    // an old timer that is due fires first
        let now = Clock.monotonicNanoseconds
        let (length, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, late) = now.addingReportingOverflow(length)
        let deadline = overflow || late ? UInt64.max : sum
        let left = lock.withLock { () -> UInt64? in
            let index = armed.firstIndex { $0.process === process }
            let left = index.map { armed[$0].deadline &- min(armed[$0].deadline, now) }
            if let index { armed.remove(at: index) }
            if seconds > 0 { armed.append((deadline, process)) }
            publishEarliestLocked()
            return left
        }
        guard let left else { return 0 }
        // Linux: a timer with under a second left reports 1, else tv_sec rounded at 0.5 s.
        let whole = left / 1_000_000_000, fraction = left % 1_000_000_000
        if whole == 0 { return fraction == 0 ? 0 : 1 }
        return fraction >= 500_000_000 ? whole + 1 : whole
    }

    /// The process is gone: its timer with it. Linux: hrtimer_cancel() of
    /// real_timer in __exit_signal()
    static func cancel(for process: Task) {
        guard earliest.load(ordering: .relaxed) != UInt64.max else { return }
        lock.withLock {
            armed.removeAll { $0.process === process }
            publishEarliestLocked()
        }
    }

    /// Some timer's time has come (a racy peek, for the interrupt return path).
    static var isDue: Bool { Clock.monotonicNanoseconds >= earliest.load(ordering: .relaxed) }

    /// Sends SIGALRM for every timer whose time has come. Process context: the
    /// way out to user mode and the idle loop. Linux: it_real_fn()
    static func runExpired() {
        guard isDue else { return }
        let now = Clock.monotonicNanoseconds
        let due = lock.withLock { () -> [Task] in
            let due = armed.filter { $0.deadline <= now }.map { $0.process }
            armed.removeAll { $0.deadline <= now }
            publishEarliestLocked()
            return due
        }
        for process in due {
            Signals.send(Signal.SIGALRM, to: process, info: SignalFrame.Info(code: 0x80))   // SI_KERNEL
        }
    }

    private static func publishEarliestLocked() {
        earliest.store(armed.map { $0.deadline }.min() ?? UInt64.max, ordering: .relaxed)
    }
}
