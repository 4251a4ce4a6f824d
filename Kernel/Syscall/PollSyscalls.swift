// poll, ppoll, select, pselect6 and rt_sigsuspend: waiting for descriptors
// (Kernel/FS/Poll.swift) or for a signal, with a timeout and, for the "p"
// forms, a signal mask of their own while they wait. The user's arrays are
// copied in whole before the wait and out after it; their size is bounded by
// RLIMIT_NOFILE. Linux: fs/select.c, kernel/signal.c (sigsuspend)

enum PollSyscalls {
    /// Linux: struct pollfd (fd, events, revents)
    private static let pollfdSize = 8
    /// Bytes of the kernel's sigset_t. Linux: sizeof(sigset_t) on x86-64
    private static let sigsetSize = 8

    /// poll(fds, nfds, timeout): timeout in ms, < 0 forever. Linux: sys_poll()
    static func poll(_ a: SyscallArgs) throws(Errno) -> Int {
        let timeout = Int32(truncatingIfNeeded: a.int(2))
        let deadline: UInt64? = timeout < 0 ? nil : timeout == 0 ? 0 : Clock.monotonicNanoseconds + UInt64(timeout) * 1_000_000
        return try pollFiles(a.address(0), count: a.u64(1), deadline: deadline)
    }

    /// ppoll(fds, nfds, timeout, sigmask, sigsetsize): a timespec (NULL:
    /// forever), updated to the time left, and a mask for the wait. Linux: sys_ppoll()
    static func ppoll(_ a: SyscallArgs) throws(Errno) -> Int {
        let deadline = try readTimespec(a.address(2))
        var mask: UInt64? = nil
        if a.u64(3) != 0 {
            guard a.size(4) == sigsetSize else { throw .EINVAL }
            mask = try UserCopy.read(UInt64.self, at: a.address(3))
        }
        let result = try withMask(mask) { () throws(Errno) in try pollFiles(a.address(0), count: a.u64(1), deadline: deadline) }
        writeTimeLeft(deadline, at: a.address(2), microseconds: false)
        return try result.get()
    }

    /// select(nfds, readfds, writefds, exceptfds, timeout): a timeval (NULL:
    /// forever), updated to the time left as Linux does. Linux: kern_select()
    static func select(_ a: SyscallArgs) throws(Errno) -> Int {
        var deadline: UInt64? = nil
        if a.u64(4) != 0 {
            let (seconds, microseconds) = try UserCopy.read((Int64, Int64).self, at: a.address(4))
            deadline = try Self.deadline(seconds: seconds &+ microseconds / 1_000_000,
                                         nanoseconds: (microseconds % 1_000_000) &* 1000)
        }
        let result = Result { () throws(Errno) in try selectFiles(a, deadline: deadline) }
        writeTimeLeft(deadline, at: a.address(4), microseconds: true)
        return try result.get()
    }

    /// pselect6(nfds, readfds, writefds, exceptfds, timeout, sigdata): a
    /// timespec, and { const sigset_t *ss; size_t ss_len } for the mask.
    /// Linux: sys_pselect6()
    static func pselect6(_ a: SyscallArgs) throws(Errno) -> Int {
        let deadline = try readTimespec(a.address(4))
        var mask: UInt64? = nil
        if a.u64(5) != 0 {
            let (set, length) = try UserCopy.read((UInt64, UInt64).self, at: a.address(5))
            if set != 0 {
                guard length == UInt64(sigsetSize) else { throw .EINVAL }
                mask = try UserCopy.read(UInt64.self, at: VirtAddr(set))
            }
        }
        let result = try withMask(mask) { () throws(Errno) in try selectFiles(a, deadline: deadline) }
        writeTimeLeft(deadline, at: a.address(4), microseconds: false)
        return try result.get()
    }

    /// rt_sigsuspend(mask, size): waits with `mask` for a signal; always EINTR.
    /// Linux: sys_rt_sigsuspend()
    static func rtSigsuspend(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.size(1) == sigsetSize else { throw .EINVAL }
        let mask = try UserCopy.read(UInt64.self, at: a.address(0))
        let task = Scheduler.current
        let old = Signals.beginTemporaryMask(mask)
        while !Scheduler.sleep(unless: { Signals.interrupted(task) }) {}
        Signals.endTemporaryMask(old, interrupted: true)
        throw .EINTR
    }

    // MARK: the work

    /// Reads `count` pollfds, waits, writes every revents back.
    private static func pollFiles(_ address: VirtAddr, count: UInt64, deadline: UInt64?) throws(Errno) -> Int {
        guard count <= UInt64(FileDescriptorTable<OpenFile>.limit) else { throw .EINVAL }     // Linux: RLIMIT_NOFILE
        let n = Int(count)
        var bytes = try UserCopy.copyIn(from: address, count: n * pollfdSize)
        var requests: [Poll.Request] = []
        requests.reserveCapacity(n)
        bytes.withUnsafeBytes { raw in
            for i in 0..<n {
                let fd = raw.loadUnaligned(fromByteOffset: i * pollfdSize, as: Int32.self)
                let events = raw.loadUnaligned(fromByteOffset: i * pollfdSize + 4, as: UInt16.self)
                requests.append(Poll.Request(fd: fd, events: PollEvents(rawValue: events), reportingErrors: true))
            }
        }
        let ready = try Poll.wait(&requests, deadline: deadline)
        bytes.withUnsafeMutableBytes { raw in
            for i in 0..<n {
                raw.storeBytes(of: requests[i].ready.rawValue, toByteOffset: i * pollfdSize + 6, as: UInt16.self)
            }
        }
        try UserCopy.copyOut(to: address, bytes)
        return ready
    }

    /// select's three bitmaps (arguments 1-3, NULL for none) for `a.int(0)`
    /// descriptors: in, waited on, out. EBADF for a set bit of a descriptor
    /// that is not open. Linux: core_sys_select() → do_select()
    private static func selectFiles(_ a: SyscallArgs, deadline: UInt64?) throws(Errno) -> Int {
        let nfds = Int32(truncatingIfNeeded: a.int(0))
        guard nfds >= 0 else { throw .EINVAL }
        let n = min(Int(nfds), FileDescriptorTable<OpenFile>.limit)              // Linux: clamped to max_fds
        let words = (n + 63) / 64
        let kinds: [PollEvents] = [.selectRead, .selectWrite, .selectExcept]
        var sets: [[UInt64]?] = []
        for k in 0..<3 {
            if a.u64(1 + k) == 0 { sets.append(nil); continue }
            let bytes = try UserCopy.copyIn(from: a.address(1 + k), count: words * 8)
            sets.append((0..<words).map { w in bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self) } })
        }
        var requests: [Poll.Request] = []
        let files = Scheduler.current.files
        for fd in 0..<n {
            var events: PollEvents = []
            for k in 0..<3 where sets[k].map({ $0[fd / 64] & (1 << UInt64(fd % 64)) != 0 }) ?? false {
                events.formUnion(kinds[k])
            }
            guard !events.isEmpty else { continue }
            _ = try files.file(fd)                                      // EBADF. Linux: max_select_fd()
            requests.append(Poll.Request(fd: Int32(fd), events: events, reportingErrors: false))
        }
        _ = try Poll.wait(&requests, deadline: deadline)
        var count = 0
        for k in 0..<3 {
            guard var set = sets[k] else { continue }
            for w in set.indices { set[w] = 0 }
            for request in requests {
                let fd = Int(request.fd)
                let asked = sets[k]![fd / 64] & (1 << UInt64(fd % 64)) != 0
                if asked && !request.ready.isDisjoint(with: kinds[k]) {
                    set[fd / 64] |= 1 << UInt64(fd % 64)
                    count += 1
                }
            }
            var bytes = [UInt8](repeating: 0, count: words * 8)
            bytes.withUnsafeMutableBytes { raw in
                for w in set.indices { raw.storeBytes(of: set[w], toByteOffset: w * 8, as: UInt64.self) }
            }
            try UserCopy.copyOut(to: a.address(1 + k), bytes)
        }
        return count
    }

    /// Runs `body` with `mask` (if any) as the signal mask; an EINTR keeps it
    /// until the signal is handled. The result, success or failure, is returned
    /// for the caller to finish (the time left) before it throws.
    private static func withMask(_ mask: UInt64?, _ body: () throws(Errno) -> Int) throws(Errno) -> Result<Int, Errno> {
        guard let mask else { return Result { () throws(Errno) in try body() } }
        let old = Signals.beginTemporaryMask(mask)
        let result = Result { () throws(Errno) in try body() }
        if case .failure(.EINTR) = result {
            Signals.endTemporaryMask(old, interrupted: true)
        } else {
            Signals.endTemporaryMask(old, interrupted: false)
        }
        return result
    }

    /// A timespec timeout as a deadline: nil for NULL (forever), 0 for a zero
    /// timeout (do not wait). EINVAL for a negative or malformed one.
    private static func readTimespec(_ address: VirtAddr) throws(Errno) -> UInt64? {
        guard address.value != 0 else { return nil }
        let (seconds, nanoseconds) = try UserCopy.read((Int64, Int64).self, at: address)
        return try deadline(seconds: seconds, nanoseconds: nanoseconds)
    }

    /// Linux: poll_select_set_timeout() (timespec64_valid)
    private static func deadline(seconds: Int64, nanoseconds: Int64) throws(Errno) -> UInt64 {
        guard seconds >= 0, nanoseconds >= 0, nanoseconds < 1_000_000_000 else { throw .EINVAL }
        if seconds == 0 && nanoseconds == 0 { return 0 }
        let total = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if total.overflow { return UInt64.max }
        let (sum, overflow) = Clock.monotonicNanoseconds.addingReportingOverflow(total.partialValue &+ UInt64(nanoseconds))
        return overflow ? UInt64.max : sum
    }

    /// Writes the time left before `deadline` back to the user's timeout (a
    /// timeval or a timespec); nothing for NULL or a zero timeout. A fault is
    /// ignored: the call's result stands. Linux: poll_select_finish()
    private static func writeTimeLeft(_ deadline: UInt64?, at address: VirtAddr, microseconds: Bool) {
        guard let deadline, deadline != 0, address.value != 0 else { return }
        let left = deadline &- min(deadline, Clock.monotonicNanoseconds)
        let fraction = left % 1_000_000_000
        do {
            try UserCopy.write((left / 1_000_000_000, microseconds ? fraction / 1000 : fraction), at: address)
        } catch {
            // Linux: "we don't want the Linux-specific update to the timeval to cause a fault"
        }
    }
}
