// Identity, time, alarms, system information, randomness, limits, signals
// bookkeeping and reboot.
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

    /// sysinfo(info): uptime, load averages, memory and the number of tasks,
    /// in struct sysinfo (112 bytes). Memory is counted in bytes (mem_unit 1),
    /// as 64-bit Linux does whenever the totals fit. There is no swap, no high
    /// memory, and Keel's buffer cache is not counted (bufferram 0, as Buffers
    /// in /proc/meminfo). Linux: sys_sysinfo() → do_sysinfo(), si_meminfo()
    static func sysinfo(_ a: SyscallArgs) throws(Errno) -> Int {
        var words = [UInt64](repeating: 0, count: 14)
        let now = Clock.monotonicNanoseconds
        words[0] = now / 1_000_000_000 + (now % 1_000_000_000 == 0 ? 0 : 1)       // uptime, rounded up
        for (i, load) in Scheduler.loadAverages.enumerated() { words[1 + i] = load }
        words[4] = UInt64(PageAllocator.managedPages) * pageSize                  // totalram
        words[5] = UInt64(PageAllocator.freePages) * pageSize                     // freeram
        words[6] = UInt64(max(VMStat.value(.shmem), 0)) * pageSize                // sharedram
        words[10] = UInt64(min(Task.count, Int(UInt16.max)))                       // procs (u16), pad
        words[13] = 1                                                             // mem_unit (u32)
        try UserCopy.copyOut(to: a.address(0), words.withUnsafeBytes { Array($0) })
        return 0
    }

    /// getcpu(cpu, node, cache): the CPU the caller runs on (it may move at
    /// once) and its NUMA node, always 0; either pointer may be NULL, the third
    /// argument is unused since Linux 2.6.24. Linux: sys_getcpu()
    static func getcpu(_ a: SyscallArgs) throws(Errno) -> Int {
        let cpu = UInt32(PerCPU.cpu)
        if a.u64(0) != 0 { try UserCopy.write(cpu, at: a.address(0)) }
        if a.u64(1) != 0 { try UserCopy.write(UInt32(0), at: a.address(1)) }
        return 0
    }

    static let ITIMER_REAL = 0

    /// setitimer(which, new, old): ITIMER_REAL, the process's real-time timer
    /// (struct itimerval: interval, then value, each a timeval). ITIMER_VIRTUAL
    /// and ITIMER_PROF (CPU-time timers) are EINVAL, as in Linux built without
    /// CONFIG_POSIX_TIMERS. A NULL `new` only reads. Linux: sys_setitimer()
    static func setitimer(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.int(0) == ITIMER_REAL else { throw .EINVAL }
        let process = ProcessGroups.process(of: Scheduler.current)
        var old = AlarmTimers.get(process)
        if a.u64(1) != 0 {
            let (intervalSeconds, intervalMicros, valueSeconds, valueMicros) =
                try UserCopy.read((Int64, Int64, Int64, Int64).self, at: a.address(1))
            // Linux: timeval_valid()
            for (seconds, micros) in [(intervalSeconds, intervalMicros), (valueSeconds, valueMicros)] {
                guard seconds >= 0, micros >= 0, micros < 1_000_000 else { throw .EINVAL }
            }
            old = AlarmTimers.set(process, value: nanoseconds(valueSeconds, valueMicros),
                                  interval: nanoseconds(intervalSeconds, intervalMicros))
        }
        if a.u64(2) != 0 { try writeItimerval(old, at: a.address(2)) }
        return 0
    }

    /// getitimer(which, value). Linux: sys_getitimer()
    static func getitimer(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.int(0) == ITIMER_REAL else { throw .EINVAL }
        try writeItimerval(AlarmTimers.get(ProcessGroups.process(of: Scheduler.current)), at: a.address(1))
        return 0
    }

    private static func nanoseconds(_ seconds: Int64, _ micros: Int64) -> UInt64 {
        let (ns, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max : ns &+ UInt64(micros) * 1000
    }

    /// A timer as struct itimerval; a time left under a microsecond shows as
    /// one, so an armed timer never reads as disarmed. Linux: itimer_get_remtime()
    private static func writeItimerval(_ timer: (left: UInt64, interval: UInt64), at address: VirtAddr) throws(Errno) {
        let left = timer.left == 0 ? 0 : max(timer.left, 1000)
        try UserCopy.write((timer.interval / 1_000_000_000, timer.interval % 1_000_000_000 / 1000,
                            left / 1_000_000_000, left % 1_000_000_000 / 1000), at: address)
    }

    /// alarm(seconds): SIGALRM to the process after `seconds` (0 cancels);
    /// returns the seconds the previous alarm had left. Linux: sys_alarm()
    static func alarm(_ a: SyscallArgs) -> Int {
        let process = ProcessGroups.process(of: Scheduler.current)
        return Int(AlarmTimers.alarm(seconds: a.u64(0) & 0xffff_ffff, for: process))
    }

    /// Linux: _LINUX_CAPABILITY_VERSION_1 (one 32-bit word per set), _2 and _3 (two)
    static let capabilityVersion1: UInt32 = 0x1998_0330, capabilityVersion2: UInt32 = 0x2007_1026
    static let capabilityVersion3: UInt32 = 0x2008_0522

    /// The header of capget and capset: the pid it names and how many 32-bit
    /// words each set has in the data. An unknown version gets the one the
    /// kernel prefers written back, then EINVAL. Linux: cap_validate_magic()
    private static func capabilityHeader(_ address: VirtAddr) throws(Errno) -> (pid: Int32, words: Int) {
        let (version, pid) = try UserCopy.read((UInt32, Int32).self, at: address)
        switch version {
        case capabilityVersion1: return (pid, 1)
        case capabilityVersion2, capabilityVersion3: return (pid, 2)
        default:
            try UserCopy.write(capabilityVersion3, at: address)
            throw .EINVAL
        }
    }

    /// capget(header, data): a process's effective, permitted and inheritable
    /// capabilities (Kernel/Core/Cred/Capabilities.swift), in `words` structs
    /// of three u32s. Data NULL only checks the header, and is 0 even for an
    /// unknown version: how a program asks which version to use.
    /// Linux: sys_capget() → cap_get_target_pid()
    static func capget(_ a: SyscallArgs) throws(Errno) -> Int {
        let header: (pid: Int32, words: Int)
        do throws(Errno) {
            header = try capabilityHeader(a.address(0))
        } catch {
            if error == .EINVAL && a.u64(1) == 0 { return 0 }
            throw error
        }
        guard a.u64(1) != 0 else { return 0 }
        guard header.pid >= 0 else { throw .EINVAL }
        var target = Scheduler.current
        if header.pid != 0 {
            guard let task = Task.lookup(pid: header.pid) else { throw .ESRCH }
            target = task
        }
        let sets = target.allocLock.withLock { target.capabilities }
        var data: [UInt32] = []
        for word in 0..<header.words {
            let shift = UInt64(32 * word)
            data += [UInt32(truncatingIfNeeded: sets.effective >> shift), UInt32(truncatingIfNeeded: sets.permitted >> shift),
                     UInt32(truncatingIfNeeded: sets.inheritable >> shift)]
        }
        try UserCopy.copyOut(to: a.address(1), data.withUnsafeBytes { Array($0) })
        return 0
    }

    /// capset(header, data): the caller's own new sets (pid 0 or its own,
    /// else EPERM), which may only shrink (CapabilitySets.replaced). With a
    /// one-word version the upper capabilities are dropped. Linux: sys_capset()
    static func capset(_ a: SyscallArgs) throws(Errno) -> Int {
        let header = try capabilityHeader(a.address(0))
        let task = Scheduler.current
        guard header.pid == 0 || header.pid == task.pid else { throw .EPERM }
        let bytes = try UserCopy.copyIn(from: a.address(1), count: 12 * header.words)
        func set(_ index: Int) -> UInt64 {
            var bits: UInt64 = 0
            for word in 0..<header.words {
                for b in 0..<4 { bits |= UInt64(bytes[12 * word + 4 * index + b]) << UInt64(32 * word + 8 * b) }
            }
            return bits
        }
        let new = CapabilitySets(effective: set(0), permitted: set(1), inheritable: set(2))
        let installed = try task.capabilities.replaced(by: new)
        task.allocLock.withLock { task.capabilities = installed }
        return 0
    }

    static let PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_SET_NAME = 15, PR_GET_NAME = 16
    static let PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39

    /// Linux: prctl(); the thread name (comm), the parent-death signal and
    /// no_new_privs; EINVAL for every other option.
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
        case PR_SET_PDEATHSIG:
            guard a.u64(1) <= 64 else { throw .EINVAL }                 // Linux: valid_signal()
            Task.tasklistLock.withLock { task.parentDeathSignal = Int32(a.u64(1)) }
            return 0
        case PR_GET_PDEATHSIG:
            let signal = Task.tasklistLock.withLock { task.parentDeathSignal }
            try UserCopy.write(Int32(signal), at: a.address(1))
            return 0
        case PR_SET_NO_NEW_PRIVS:
            guard a.u64(1) == 1, a.u64(2) == 0, a.u64(3) == 0, a.u64(4) == 0 else { throw .EINVAL }
            task.noNewPrivileges = true
            return 0
        case PR_GET_NO_NEW_PRIVS:
            guard a.u64(1) == 0, a.u64(2) == 0, a.u64(3) == 0, a.u64(4) == 0 else { throw .EINVAL }
            return task.noNewPrivileges ? 1 : 0
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
