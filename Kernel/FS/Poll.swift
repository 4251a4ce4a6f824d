// poll, ppoll, select and pselect6: wait until one of several descriptors can
// be read or written without waiting, a signal comes, or time runs out.
//
// How the wait works: every descriptor is asked what it could do now
// (`OpenFile.poll`); if none is ready, the task sleeps until something that
// may have changed the answer wakes it. Pipes wake every poller when they
// change (`PollWait.wakeAll`, a simpler stand-in for Linux's per-file wait
// queues: a poller that was not watching that pipe looks once and sleeps
// again). The serial console cannot wake anyone (its interrupt is off: the
// port is read when someone asks), so a poll that watches it looks again at
// every tick (10 ms).
// Linux: fs/select.c (do_sys_poll, do_poll, core_sys_select, do_select,
// poll_select_finish), include/linux/poll.h

enum PollWait {
    /// The tasks sleeping in poll or select, and a count of wake-ups that
    /// lets a poller see one that came while it was looking. Linux: each
    /// file's wait queue heads, poll_table_entry
    private static let lock = SpinLock(LockClass("poll_wait_lock"), disablesInterrupts: false)
    /// Protected by `lock`.
    nonisolated(unsafe) private static var sleepers: [Task] = []
    nonisolated(unsafe) private static var wakeups: UInt64 = 0
    /// How often a poll of a device that cannot wake it looks again.
    static let tickNanoseconds: UInt64 = 10_000_000

    /// Something a poller may watch changed. Linux: wake_up_poll()
    static func wakeAll() {
        let woken = lock.withLock { () -> [Task] in
            wakeups &+= 1
            let woken = sleepers
            sleepers.removeAll()
            return woken
        }
        for task in woken { Scheduler.wake(task) }
    }

    /// Asks `ready` until it finds something (returns its count), a signal
    /// comes (EINTR), or `deadline` (CLOCK_MONOTONIC ns; nil: never) passes
    /// (returns 0). `ticks`: look again every tick as well.
    /// Linux: do_poll() / do_select()'s loop with poll_schedule_timeout()
    static func wait(deadline: UInt64?, ticks: Bool, _ ready: () throws(Errno) -> Int) throws(Errno) -> Int {
        let task = Scheduler.current
        while true {
            let seen = lock.withLock { wakeups }
            let count = try ready()
            if count > 0 { return count }
            if let deadline, Clock.monotonicNanoseconds >= deadline { return 0 }
            if Signals.interrupted(task) { throw .EINTR }
            lock.withLock { sleepers.append(task) }
            var wakeAt = deadline
            if ticks { wakeAt = min(deadline ?? UInt64.max, Clock.monotonicNanoseconds &+ tickNanoseconds) }
            Scheduler.sleep(until: wakeAt) {
                lock.withLock { wakeups != seen } || Signals.interrupted(task)
                    || wakeAt.map { Clock.monotonicNanoseconds >= $0 } == true
            }
            lock.withLock { sleepers.removeAll { $0 === task } }
        }
    }
}

extension OpenFile {
    /// What a read or write would do now. Linux: vfs_poll()
    func poll() -> PollEvents {
        switch operations {
        case .device(let driver): driver.poll(file: self)
        case .regular, .directory, .generated: .always
        case .path: .invalid
        }
    }

    /// The device cannot wake a poller: look at every tick.
    var isPolledByTicks: Bool {
        if case .device(let driver) = operations { return driver.isPolledByTicks }
        return false
    }
}

extension FileSyscalls {
    /// poll(fds, nfds, timeout_ms): a negative timeout waits for ever.
    /// Linux: SYSCALL_DEFINE3(poll)
    static func poll(_ a: SyscallArgs) throws(Errno) -> Int {
        let timeout = a.int(2)
        let deadline = timeout < 0 ? nil : Clock.monotonicNanoseconds &+ UInt64(timeout) &* 1_000_000
        return try poll(a.address(0), count: a.u64(1), deadline: deadline)
    }

    /// ppoll(fds, nfds, timeout, sigmask, sigsetsize): a timespec, and a signal
    /// mask in force while waiting. The timeout is rewritten with what is left.
    /// Linux: SYSCALL_DEFINE5(ppoll)
    static func ppoll(_ a: SyscallArgs) throws(Errno) -> Int {
        let deadline = try readDeadline(a.address(2))
        let mask = try readSignalMask(a.address(3), size: a.size(4))
        return try withTemporaryMask(mask) { () throws(Errno) -> Int in
            defer { writeRemaining(a.address(2), deadline: deadline, microseconds: false) }
            return try poll(a.address(0), count: a.u64(1), deadline: deadline)
        }
    }

    /// select(nfds, readfds, writefds, exceptfds, timeout): a timeval, rewritten
    /// with what is left; microseconds past a second carry over into the
    /// seconds, and only a negative field is EINVAL. Linux: kern_select()
    static func select(_ a: SyscallArgs) throws(Errno) -> Int {
        var deadline: UInt64? = nil
        if a.address(4).value != 0 {
            let (seconds, microseconds) = try UserCopy.read((Int64, Int64).self, at: a.address(4))
            guard seconds >= 0, microseconds >= 0 else { throw .EINVAL }
            let carried = microseconds / 1_000_000
            deadline = deadlineAfter(seconds: seconds > Int64.max - carried ? Int64.max : seconds + carried,
                                     nanoseconds: microseconds % 1_000_000 * 1000)
        }
        defer { writeRemaining(a.address(4), deadline: deadline, microseconds: true) }
        return try select(a.int(0), a.address(1), a.address(2), a.address(3), deadline: deadline)
    }

    /// pselect6(nfds, readfds, writefds, exceptfds, timeout, {sigmask, size}):
    /// a timespec and a signal mask. Linux: SYSCALL_DEFINE6(pselect6)
    static func pselect6(_ a: SyscallArgs) throws(Errno) -> Int {
        let deadline = try readDeadline(a.address(4))
        var mask: UInt64? = nil
        if a.address(5).value != 0 {
            let (set, size) = try UserCopy.read((UInt64, UInt64).self, at: a.address(5))
            mask = try readSignalMask(VirtAddr(set), size: Int(truncatingIfNeeded: size))
        }
        return try withTemporaryMask(mask) { () throws(Errno) -> Int in
            defer { writeRemaining(a.address(4), deadline: deadline, microseconds: false) }
            return try select(a.int(0), a.address(1), a.address(2), a.address(3), deadline: deadline)
        }
    }

    /// Linux: do_sys_poll(); EINVAL past RLIMIT_NOFILE entries.
    private static func poll(_ address: VirtAddr, count rawCount: UInt64, deadline: UInt64?) throws(Errno) -> Int {
        guard rawCount <= UInt64(FileDescriptorTable<OpenFile>.limit) else { throw .EINVAL }
        let count = Int(rawCount)
        // struct pollfd { int fd; short events; short revents; }
        var entries = try UserCopy.copyIn(from: address, count: 8 * count)
        let fds = (0..<count).map { i in entries.withUnsafeBytes { $0.load(fromByteOffset: 8 * i, as: Int32.self) } }
        let wanted = (0..<count).map { i in
            PollEvents(rawValue: entries.withUnsafeBytes { $0.load(fromByteOffset: 8 * i + 4, as: UInt16.self) })
        }
        let files = fds.map { fd in openFile(fd) }
        var results = [PollEvents](repeating: [], count: count)
        let ticks = files.contains { $0?.isPolledByTicks == true }
        let ready = try PollWait.wait(deadline: deadline, ticks: ticks) { () throws(Errno) -> Int in
            var ready = 0
            for i in 0..<count where fds[i] >= 0 {
                results[i] = files[i].map { $0.poll().reported(for: wanted[i]) } ?? .invalid
                if !results[i].isEmpty { ready += 1 }
            }
            return ready
        }
        for i in 0..<count {
            entries.withUnsafeMutableBytes { $0.storeBytes(of: results[i].rawValue, toByteOffset: 8 * i + 6, as: UInt16.self) }
        }
        try UserCopy.copyOut(to: address, entries)
        return ready
    }

    /// The open file `fd` names; nil for a negative fd (poll skips it) and for
    /// one that is not open (poll reports POLLNVAL for it, not an error).
    private static func openFile(_ fd: Int32) -> OpenFile? {
        guard fd >= 0 else { return nil }
        do throws(Errno) {
            return try file(Int(fd))
        } catch {
            return nil
        }
    }

    /// Linux: core_sys_select() → do_select(); EBADF for a closed descriptor in a set.
    private static func select(_ nfds: Int, _ readAddress: VirtAddr, _ writeAddress: VirtAddr,
                               _ exceptAddress: VirtAddr, deadline: UInt64?) throws(Errno) -> Int {
        guard nfds >= 0 else { throw .EINVAL }
        let count = min(nfds, FileDescriptorTable<OpenFile>.limit)       // Linux: n = min(n, max_fds)
        let words = (count + 63) / 64
        func load(_ address: VirtAddr) throws(Errno) -> [UInt64]? {
            guard address.value != 0 else { return nil }
            let bytes = try UserCopy.copyIn(from: address, count: 8 * words)
            return (0..<words).map { i in bytes.withUnsafeBytes { $0.load(fromByteOffset: 8 * i, as: UInt64.self) } }
        }
        let sets = [try load(readAddress), try load(writeAddress), try load(exceptAddress)]
        let masks: [PollEvents] = [.selectRead, .selectWrite, .selectExcept]
        var watched: [(fd: Int, file: OpenFile)] = []
        for fd in 0..<count where sets.contains(where: { $0.map { $0[fd / 64] >> (fd % 64) & 1 != 0 } == true }) {
            watched.append((fd, try file(fd)))
        }
        var results = [[UInt64]](repeating: [UInt64](repeating: 0, count: words), count: 3)
        let ticks = watched.contains { $0.file.isPolledByTicks }
        let ready = try PollWait.wait(deadline: deadline, ticks: ticks) { () -> Int in
            var ready = 0
            for (fd, file) in watched {
                let events = file.poll()
                for s in 0..<3 {
                    guard let set = sets[s], set[fd / 64] >> (fd % 64) & 1 != 0, !events.isDisjoint(with: masks[s])
                    else { continue }
                    results[s][fd / 64] |= 1 << (fd % 64)
                    ready += 1
                }
            }
            return ready
        }
        for (s, address) in [readAddress, writeAddress, exceptAddress].enumerated() where address.value != 0 {
            var bytes = [UInt8](repeating: 0, count: 8 * words)
            bytes.withUnsafeMutableBytes { raw in for i in 0..<words { raw.storeBytes(of: results[s][i], toByteOffset: 8 * i, as: UInt64.self) } }
            try UserCopy.copyOut(to: address, bytes)
        }
        return ready
    }

    /// A timespec timeout: nil for NULL (wait for ever); EINVAL out of range.
    private static func readDeadline(_ address: VirtAddr) throws(Errno) -> UInt64? {
        guard address.value != 0 else { return nil }
        let (seconds, nanoseconds) = try UserCopy.read((Int64, Int64).self, at: address)
        guard seconds >= 0, nanoseconds >= 0, nanoseconds < 1_000_000_000 else { throw .EINVAL }
        return deadlineAfter(seconds: seconds, nanoseconds: nanoseconds)
    }

    private static func deadlineAfter(seconds: Int64, nanoseconds: Int64) -> UInt64 {
        let (total, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max : Clock.monotonicNanoseconds &+ total &+ UInt64(nanoseconds)
    }

    /// The time left, written back where the timeout was (Linux does, for
    /// select, pselect6 and ppoll); a timeout that cannot be written is left
    /// as it is, as Linux leaves it. Linux: poll_select_finish()
    private static func writeRemaining(_ address: VirtAddr, deadline: UInt64?, microseconds: Bool) {
        guard address.value != 0, let deadline else { return }
        let left = deadline &- min(deadline, Clock.monotonicNanoseconds)
        let seconds = Int64(left / 1_000_000_000), fraction = Int64(left % 1_000_000_000)
        do throws(Errno) {
            try UserCopy.write((seconds, microseconds ? fraction / 1000 : fraction), at: address)
        } catch {
            // Linux ignores this fault too: the call's own result stands.
        }
    }

    /// A sigset_t for ppoll/pselect6: nil for NULL; EINVAL unless 8 bytes.
    private static func readSignalMask(_ address: VirtAddr, size: Int) throws(Errno) -> UInt64? {
        guard address.value != 0 else { return nil }
        guard size == 8 else { throw .EINVAL }
        return try UserCopy.read(UInt64.self, at: address)
    }

    /// Runs `body` with `mask` as the blocked signals. A signal the mask let
    /// in (EINTR) keeps it until its handler is set up, which restores the
    /// old mask on return; otherwise the old mask comes back now.
    /// Linux: set_user_sigmask() and restore_saved_sigmask_unless()
    private static func withTemporaryMask(_ mask: UInt64?, _ body: () throws(Errno) -> Int) throws(Errno) -> Int {
        guard let mask else { return try body() }
        let task = Scheduler.current
        task.signals.lock.withLock {
            task.savedBlockedSignals = task.blockedSignals
            task.blockedSignals = mask & ~Signals.unblockable
        }
        do throws(Errno) {
            let result = try body()
            restoreMask(task)
            return result
        } catch {
            if error != .EINTR { restoreMask(task) }
            throw error
        }
    }

    private static func restoreMask(_ task: Task) {
        task.signals.lock.withLock {
            if let saved = task.savedBlockedSignals { task.blockedSignals = saved }
            task.savedBlockedSignals = nil
        }
    }
}
