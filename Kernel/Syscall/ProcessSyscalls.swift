// System calls about the running process: execve, exit, TLS, yield.
// (Their work is in Kernel/Process: Exec.swift, Exit.swift.)
// Linux: fs/exec.c, kernel/exit.c, arch/x86/kernel/process_64.c

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
