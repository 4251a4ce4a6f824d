// alarm(2) and setitimer(ITIMER_REAL): each process's real-time timer, which
// sends it SIGALRM when it expires, and again every interval if it has one.
// The tick cannot send a signal (siglock is not a lock an interrupt handler
// may take), so, like typed input, an expired timer is acted on by the next
// CPU that returns to user mode or idles (`runExpired`): within a tick of its
// time, Keel's timer resolution anyway. A timer belongs to the process (its
// group leader): exec keeps it, fork does not copy it, the process's end
// cancels it. Linux: signal->real_timer (an hrtimer) and it_real_incr,
// it_real_fn(), do_setitimer(), alarm_setitimer() in kernel/time/itimer.c

import Synchronization

/// One process's ITIMER_REAL, in nanoseconds: when it next expires
/// (monotonic clock) and the period it is re-armed with (0: once).
/// Linux: struct itimerspec64 of signal->real_timer
struct RealTimer {
    var deadline: UInt64
    var interval: UInt64
}

enum AlarmTimers {
    /// The armed timers and whose (a group leader, one entry at most each).
    /// Protected by `lock`.
    nonisolated(unsafe) private static var armed: [(timer: RealTimer, process: Task)] = []
    /// The earliest deadline in `armed`, UInt64.max for none: what the fast
    /// path reads without the lock. Written under `lock`.
    private static let earliest = Atomic<UInt64>(UInt64.max)
    /// `armed`; nothing is taken inside it (SIGALRM is sent after it).
    static let lock = SpinLock(LockClass("itimer_lock"), disablesInterrupts: false)

    /// Installs `value` (time to the first expiry, 0 disarms) and `interval`
    /// as the timer of `process`; returns the old timer's time left (0 if it
    /// was disarmed; at least 1 ns if armed) and interval. Linux: do_setitimer(ITIMER_REAL)
    static func set(_ process: Task, value: UInt64, interval: UInt64) -> (left: UInt64, interval: UInt64) {
        runExpired()                                    // an old timer that is due fires first
        let now = Clock.monotonicNanoseconds
        let (sum, late) = now.addingReportingOverflow(value)
        return lock.withLock { () -> (UInt64, UInt64) in
            var old: (UInt64, UInt64) = (0, 0)
            if let index = armed.firstIndex(where: { $0.process === process }) {
                let timer = armed[index].timer
                old = (max(timer.deadline &- min(timer.deadline, now), 1), timer.interval)
                armed.remove(at: index)
            }
            if value > 0 { armed.append((RealTimer(deadline: late ? UInt64.max : sum, interval: interval), process)) }
            publishEarliestLocked()
            return old
        }
    }

    /// The timer of `process` as getitimer reports it. Linux: get_itimer(ITIMER_REAL)
    static func get(_ process: Task) -> (left: UInt64, interval: UInt64) {
        let now = Clock.monotonicNanoseconds
        return lock.withLock { () -> (UInt64, UInt64) in
            guard let timer = armed.first(where: { $0.process === process })?.timer else { return (0, 0) }
            return (max(timer.deadline &- min(timer.deadline, now), 1), timer.interval)
        }
    }

    /// alarm(seconds): a one-shot timer; returns the whole seconds the old one
    /// had left, rounded to the nearest, and 1 rather than 0 if it was armed.
    /// Linux: alarm_setitimer()
    static func alarm(seconds: UInt64, for process: Task) -> UInt64 {
        let (value, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let left = set(process, value: overflow ? UInt64.max : value, interval: 0).left
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
    /// Runs on every return to user mode: with no timer armed (the usual
    /// case) it is one load, without reading the clock (rdtsc and two
    /// divisions, which made getpid 60 ns slower under TCG).
    static var isDue: Bool {
        let deadline = earliest.load(ordering: .relaxed)
        return deadline != UInt64.max && Clock.monotonicNanoseconds >= deadline
    }

    /// Sends SIGALRM for every timer whose time has come, and re-arms those
    /// with an interval (skipping periods already past, as hrtimer_forward()
    /// does). Process context: the way out to user mode and the idle loop.
    /// Linux: it_real_fn()
    static func runExpired() {
        guard isDue else { return }
        let now = Clock.monotonicNanoseconds
        let due = lock.withLock { () -> [Task] in
            var due: [Task] = []
            var kept: [(timer: RealTimer, process: Task)] = []
            for entry in armed {
                guard entry.timer.deadline <= now else { kept.append(entry); continue }
                due.append(entry.process)
                if entry.timer.interval > 0 {
                    let periods = (now - entry.timer.deadline) / entry.timer.interval + 1
                    let (next, overflow) = entry.timer.deadline.addingReportingOverflow(periods &* entry.timer.interval)
                    kept.append((RealTimer(deadline: overflow ? UInt64.max : next, interval: entry.timer.interval),
                                 entry.process))
                }
            }
            armed = kept
            publishEarliestLocked()
            return due
        }
        for process in due {
            Signals.send(Signal.SIGALRM, to: process, info: SignalFrame.Info(code: 0x80))   // SI_KERNEL
        }
    }

    private static func publishEarliestLocked() {
        earliest.store(armed.map { $0.timer.deadline }.min() ?? UInt64.max, ordering: .relaxed)
    }
}
