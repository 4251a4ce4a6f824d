// System calls about the running process: execve, exit, TLS, yield, and the
// CPU time it used (getrusage, times). (Their work is in Kernel/Process:
// Exec.swift, Exit.swift; the time is charged per tick, Task.chargeTick.)
// Linux: fs/exec.c, kernel/exit.c, arch/x86/kernel/process_64.c, kernel/sys.c

enum ProcessSyscalls {
    /// Linux: sched_yield()
    static func schedYield(_ a: SyscallArgs) -> Int {
        Scheduler.yield()
        return 0
    }

    /// Linux: exit(): ends the calling thread only.
    static func exit(_ a: SyscallArgs) -> Never {
        ProcessExit.exitThread(status: WaitStatus.exited(a.int(0)))
    }

    /// Linux: exit_group()
    static func exitGroup(_ a: SyscallArgs) -> Never {
        ProcessExit.exit(status: WaitStatus.exited(a.int(0)))
    }

    static let RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1, RUSAGE_THREAD = 1

    /// getrusage(who, usage): the CPU time of the process (its live and exited
    /// threads), of its reaped children, or of the calling thread; the other
    /// fields of struct rusage are 0 (Keel does not count them per process).
    /// Linux: getrusage() in kernel/sys.c
    static func getrusage(_ a: SyscallArgs) throws(Errno) -> Int {
        let task = Scheduler.current
        let ticks: (user: Int, system: Int)
        switch Int32(truncatingIfNeeded: a.int(0)) {
        case Int32(RUSAGE_SELF): ticks = Task.tasklistLock.withLock { task.processTicksLocked() }
        case Int32(RUSAGE_CHILDREN): ticks = Task.tasklistLock.withLock { (task.groupLeader ?? task).reapedChildrenTicks }
        case Int32(RUSAGE_THREAD): ticks = task.cpuTicks
        default: throw .EINVAL
        }
        try writeRusage(ticks, at: a.address(1))
        return 0
    }

    /// struct rusage with ru_utime and ru_stime (struct timevals) from
    /// `ticks`, the 14 counters after them 0. Linux: struct rusage
    static func writeRusage(_ ticks: (user: Int, system: Int), at address: VirtAddr) throws(Errno) {
        var bytes = [UInt8](repeating: 0, count: 144)
        let tick = Scheduler.tunables.tickMilliseconds * 1000       // microseconds
        bytes.withUnsafeMutableBytes { raw in
            for (i, count) in [ticks.user, ticks.system].enumerated() {
                let us = count * tick
                raw.storeBytes(of: Int64(us / 1_000_000), toByteOffset: 16 * i, as: Int64.self)
                raw.storeBytes(of: Int64(us % 1_000_000), toByteOffset: 16 * i + 8, as: Int64.self)
            }
        }
        try UserCopy.copyOut(to: address, bytes)
    }

    /// times(buf): the process's and its reaped children's CPU time in clock
    /// ticks (1/100 s) into struct tms when `buf` is not NULL; returns the
    /// clock ticks since boot. Linux: sys_times()
    static func times(_ a: SyscallArgs) throws(Errno) -> Int {
        let task = Scheduler.current
        if a.u64(0) != 0 {
            let (own, children) = Task.tasklistLock.withLock {
                (task.processTicksLocked(), (task.groupLeader ?? task).reapedChildrenTicks)
            }
            let clock = { (ticks: Int) in Int64(Scheduler.clockTicks(ticks)) }
            try UserCopy.write((clock(own.user), clock(own.system), clock(children.user), clock(children.system)),
                               at: a.address(0))
        }
        return Int(Clock.monotonicNanoseconds / UInt64(1_000_000_000 / ProcTaskInfo.userHZ))
    }

    /// Linux: set_tid_address(): remembered for thread exit, returns the tid.
    static func setTIDAddress(_ a: SyscallArgs) -> Int {
        Scheduler.current.clearChildTID = a.address(0)
        return Int(Scheduler.current.pid)
    }

    static let ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004

    /// Linux: do_arch_prctl_64()
    static func archPrctl(_ a: SyscallArgs) throws(Errno) -> Int {
        let task = Scheduler.current
        switch a.int(0) {
        case ARCH_SET_FS:
            guard a.u64(1) < KernelLayout.taskSize else { throw .EPERM }
            task.fsBase = a.u64(1)
            CPU.setFSBase(task.fsBase)
            return 0
        case ARCH_GET_FS:
            try UserCopy.write(task.fsBase, at: a.address(1))
            return 0
        default:
            throw .EINVAL
        }
    }

    /// execve(path, argv, envp): the strings are measured here and copied by
    /// Kernel/Process/Exec.swift straight into the new stack. Linux: sys_execve()
    static func execve(_ a: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        let path = try UserCopy.readString(at: a.address(0))
        guard !path.isEmpty else { throw .ENOENT }
        let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(pageSize), alignment: 16)
        defer { bounce.deallocate() }
        var budget = Exec.argumentLimit
        let arguments = try ExecStrings(userArray: a.address(1), budget: &budget, bounce: bounce)
        let environment = try ExecStrings(userArray: a.address(2), budget: &budget, bounce: bounce)
        try Exec.execve(path: path, arguments: arguments, environment: environment, frame: frame)
        return 0
    }
}
