// Identity, time, randomness, limits, signals bookkeeping and reboot.
// Linux: kernel/sys.c, kernel/time/, drivers/char/random.c, kernel/signal.c

enum MiscSyscalls {
    /// struct utsname: six 65-byte fields. Linux: sys_newuname()
    static func uname(_ a: SyscallArgs) throws(Errno) -> Int {
        var buffer = [UInt8](repeating: 0, count: 6 * 65)
        let fields = ["Keel", "keel", "0.1.0", "#1 Keel teaching kernel (Embedded Swift)", "x86_64", "(none)"]
        for (i, field) in fields.enumerated() {
            for (j, byte) in field.utf8.prefix(64).enumerated() { buffer[i * 65 + j] = byte }
        }
        try UserCopy.copyOut(to: a.address(0), buffer)
        return 0
    }

    static let CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3
    static let CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7

    /// Linux: clock_gettime()
    static func clockGettime(_ a: SyscallArgs) throws(Errno) -> Int {
        let ns: UInt64
        switch a.int(0) {
        case CLOCK_REALTIME, CLOCK_REALTIME_COARSE: ns = Clock.realtimeNanoseconds
        case CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
             CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID: ns = Clock.monotonicNanoseconds
        default: throw .EINVAL
        }
        try writeTimespec(ns, at: a.address(1))
        return 0
    }

    /// Linux: gettimeofday(); either pointer may be NULL. The timezone is always
    /// UTC (struct timezone of zeros), as on a Linux machine with no tz set.
    static func gettimeofday(_ a: SyscallArgs) throws(Errno) -> Int {
        if a.u64(0) != 0 {
            let ns = Clock.realtimeNanoseconds
            try UserCopy.write((ns / 1_000_000_000, ns % 1_000_000_000 / 1000), at: a.address(0))
        }
        if a.u64(1) != 0 { try UserCopy.write((Int32(0), Int32(0)), at: a.address(1)) }
        return 0
    }

    /// Linux: time(); seconds since 1970, also stored at the pointer when it is not NULL.
    static func time(_ a: SyscallArgs) throws(Errno) -> Int {
        let seconds = Int64(Clock.realtimeNanoseconds / 1_000_000_000)
        if a.u64(0) != 0 { try UserCopy.write(seconds, at: a.address(0)) }
        return Int(seconds)
    }

    static let PR_SET_NAME = 15, PR_GET_NAME = 16

    /// Linux: prctl(); the thread name (comm) only, EINVAL for every other option.
    static func prctl(_ a: SyscallArgs) throws(Errno) -> Int {
        let task = Scheduler.current
        switch a.int(0) {
        case PR_SET_NAME:
            let bytes = try UserCopy.copyIn(from: a.address(1), count: 16)
            let name = bytes.prefix { $0 != 0 }
            let comm = String(decoding: name.prefix(15), as: UTF8.self)
            task.allocLock.withLock { task.name = comm }        // /proc may be reading it
            return 0
        case PR_GET_NAME:
            var bytes = [UInt8](repeating: 0, count: 16)
            for (i, byte) in task.name.utf8.prefix(15).enumerated() { bytes[i] = byte }   // its own: no lock
            try UserCopy.copyOut(to: a.address(1), bytes)
            return 0
        default:
            throw .EINVAL
        }
    }

    static func writeTimespec(_ ns: UInt64, at address: VirtAddr) throws(Errno) {
        try UserCopy.write((ns / 1_000_000_000, ns % 1_000_000_000), at: address)
    }

    /// Linux: nanosleep(); a signal ends it early with EINTR and the time left.
    static func nanosleep(_ a: SyscallArgs) throws(Errno) -> Int {
        try sleep(request: a.address(0), remaining: a.address(1), clock: CLOCK_MONOTONIC, absolute: false)
    }

    static let TIMER_ABSTIME = 1

    /// clock_nanosleep(clock, flags, request, remaining): nanosleep on a
    /// clock, to a time on it with TIMER_ABSTIME (then no time left is
    /// written). Linux: sys_clock_nanosleep() → hrtimer_nanosleep()
    static func clockNanosleep(_ a: SyscallArgs) throws(Errno) -> Int {
        switch a.int(0) {
        case CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME: break
        default: throw .EINVAL
        }
        let absolute = a.int(1) & TIMER_ABSTIME != 0
        return try sleep(request: a.address(2), remaining: absolute ? VirtAddr(0) : a.address(3),
                         clock: a.int(0), absolute: absolute)
    }

    /// Sleeps for the timespec at `request` (or until it, on `clock`); a
    /// signal ends it with EINTR and the time left at `remaining` (if not NULL).
    private static func sleep(request: VirtAddr, remaining: VirtAddr, clock: Int, absolute: Bool) throws(Errno) -> Int {
        let (seconds, nanoseconds) = try UserCopy.read((Int64, Int64).self, at: request)
        guard seconds >= 0, nanoseconds >= 0, nanoseconds < 1_000_000_000 else { throw .EINVAL }
        let duration = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        var length = duration.overflow ? UInt64.max : duration.partialValue &+ UInt64(nanoseconds)
        if absolute {
            let now = clock == CLOCK_REALTIME ? Clock.realtimeNanoseconds : Clock.monotonicNanoseconds
            length = length &- min(length, now)
        }
        let (sum, overflow) = Clock.monotonicNanoseconds.addingReportingOverflow(length)
        let deadline = overflow ? UInt64.max : sum
        let task = Scheduler.current
        while !Scheduler.sleep(until: deadline, unless: {
            Clock.monotonicNanoseconds >= deadline || Signals.interrupted(task)
        }) {}
        if Clock.monotonicNanoseconds >= deadline { return 0 }
        if remaining.value != 0 { try writeTimespec(deadline &- min(deadline, Clock.monotonicNanoseconds), at: remaining) }
        throw .EINTR
    }

    /// Linux: pause(): sleeps until a signal is delivered, then EINTR.
    static func pause() throws(Errno) -> Int {
        let task = Scheduler.current
        while !Scheduler.sleep(unless: { Signals.interrupted(task) }) {}
        throw .EINTR
    }

    static let GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4

    /// Linux: getrandom(); RDRAND (or the TSC) through arc4random_buf. The count is
    /// a size_t, cut to INT_MAX as Linux does; a buffer that runs into an unmapped
    /// page gets a short count, EFAULT only if nothing was written.
    static func getrandom(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.int(2) & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) == 0 else { throw .EINVAL }
        let count = a.u64(1) > UInt64(Int32.max) ? Int(Int32.max) : Int(a.u64(1))
        var user = try UserIOVector(address: a.address(0), count: count)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
        defer { chunk.deallocate() }
        var done = 0
        while user.remaining > 0 {
            if done > 0 && Signals.interrupted(Scheduler.current) { break }   // Linux: a signal ends a long read
            let n = min(chunk.count, user.remaining)
            arc4random_buf(chunk.baseAddress!, n)
            done += try user.copyOut(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            Scheduler.condResched()
        }
        return done
    }

    /// Linux: prlimit64() / getrlimit(); Keel reports Linux's defaults and accepts changes it ignores.
    static func prlimit(_ a: SyscallArgs) throws(Errno) -> Int {
        let isPrlimit = a.number == Syscall.prlimit64.rawValue
        let resource = isPrlimit ? a.int(1) : a.int(0)
        let oldAddress = isPrlimit ? a.address(3) : a.address(1)
        if isPrlimit, a.int(0) != 0, Task.lookup(pid: Int32(a.int(0))) == nil { throw .ESRCH }
        guard resource >= 0 && resource < 16 else { throw .EINVAL }
        let infinity = UInt64.max
        let limit: (UInt64, UInt64)
        switch resource {
        case 3: limit = (8 << 20, infinity)            // RLIMIT_STACK
        case 7: limit = (1024, 4096)                   // RLIMIT_NOFILE
        case 4: limit = (0, infinity)                  // RLIMIT_CORE
        case 6: limit = (UInt64(Scheduler.maxTasks / 2), UInt64(Scheduler.maxTasks / 2))   // RLIMIT_NPROC: Linux's max_threads / 2
        case 8: limit = (8 << 20, 8 << 20)             // RLIMIT_MEMLOCK: Linux's MLOCK_LIMIT (root may lock past it: Mlock.swift)
        default: limit = (infinity, infinity)
        }
        if oldAddress.value != 0 { try UserCopy.write(limit, at: oldAddress) }
        return 0
    }

    static let LINUX_REBOOT_MAGIC1: UInt64 = 0xfee1_dead
    static let LINUX_REBOOT_MAGIC2: [UInt64] = [672_274_793, 85_072_278, 369_367_448, 537_993_216]
    static let LINUX_REBOOT_CMD_POWER_OFF = 0x4321_fedc, LINUX_REBOOT_CMD_RESTART = 0x0123_4567
    static let LINUX_REBOOT_CMD_HALT = 0xcdef_0123

    /// Linux: reboot(). Every command writes out and unmounts the file systems
    /// and powers QEMU off; `make run` then returns 0.
    static func reboot(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.u64(0) & 0xffff_ffff == LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2.contains(a.u64(1) & 0xffff_ffff) else {
            throw .EINVAL
        }
        switch a.int(2) {
        case LINUX_REBOOT_CMD_POWER_OFF, LINUX_REBOOT_CMD_HALT, LINUX_REBOOT_CMD_RESTART:
            FS.shutdown()
            Console.write("reboot: Power down\n")
            PowerOff.now(.normal)
        default:
            throw .EINVAL
        }
    }
}
