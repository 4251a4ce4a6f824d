// System calls about the running process: execve, exit, TLS, yield.
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
            wrmsr(0xc000_0100, task.fsBase)
            return 0
        case ARCH_GET_FS:
            try UserCopy.write(task.fsBase, at: a.address(1))
            return 0
        default:
            throw .EINVAL
        }
    }

    /// Linux: do_execveat_common()
    static func execve(_ a: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        let path = try UserCopy.readString(at: a.address(0))
        guard !path.isEmpty else { throw .ENOENT }
        let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(pageSize), alignment: 16)
        defer { bounce.deallocate() }
        var budget = Exec.argumentLimit
        let arguments = try ExecStrings(userArray: a.address(1), budget: &budget, bounce: bounce)
        let environment = try ExecStrings(userArray: a.address(2), budget: &budget, bounce: bounce)
        let task = Scheduler.current
        let image = try Exec.load(path: path, relativeTo: task.fs.cwd, arguments: arguments, environment: environment)
        // The point of no return. Linux: begin_new_exec()
        write_cr3(image.mm.pageTable.root.value)      // before the old tables are freed
        task.mm?.activeCPUs.remove(.cpu(PerCPU.cpu))
        image.mm.activeCPUs.insert(.cpu(PerCPU.cpu))
        task.mm = image.mm
        task.completeVforkDone()                        // off the parent's memory: it may run
        task.name = image.name
        task.fsBase = 0
        wrmsr(0xc000_0100, 0)
        task.files.closeOnExec()
        task.signals = task.signals.copy()              // no longer shared with threads of the old image
        task.signals.resetForExec()
        frame.pointee = InterruptFrame.userEntry(rip: image.entry.value, rsp: image.stackPointer)
        // The new program starts with clean x87/SSE state, as Linux's fpu__clear_user_states();
        // vector 0 makes the return path load all of it (iretq path), not just XMM.
        TaskStack.initializeSSEState(at: TaskStack.sseArea(of: task))
        frame.pointee.vector = 0
        return 0
    }

}

extension InterruptFrame {
    /// The registers a new program starts with: everything zero but the entry
    /// point, the stack, user segments and interrupts on. Linux: start_thread()
    static func userEntry(rip: UInt64, rsp: UInt64) -> InterruptFrame {
        var frame = InterruptFrame()
        frame.rip = rip
        frame.rsp = rsp
        frame.cs = UInt64(GDT.userCode)
        frame.ss = UInt64(GDT.userData)
        frame.rflags = 0x202
        return frame
    }
}
