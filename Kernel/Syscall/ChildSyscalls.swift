// Creating and reaping child processes and threads.

/// fork, vfork, clone, wait4, getppid. Linux: kernel/fork.c, kernel/exit.c
enum ChildSyscalls {
    /// Linux: fork()
    static func fork(_ frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        Int(try Fork.clone([], frame: frame.pointee))
    }

    /// The child borrows the parent's memory, and the parent waits until the child
    /// execs or exits. Linux: vfork() = clone(CLONE_VM | CLONE_VFORK | SIGCHLD)
    static func vfork(_ frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        Int(try Fork.clone([.vm, .vfork], frame: frame.pointee))
    }

    /// clone(flags, stack, parent_tid, child_tid, tls): x86-64's argument order. Linux: sys_clone()
    static func clone(_ a: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        let flags = CloneFlags(rawValue: a.u64(0) & ~CloneFlags.exitSignalMask)
        guard flags.subtracting(.supported).isEmpty else { throw .EINVAL }
        return Int(try Fork.clone(flags, frame: frame.pointee, stack: a.u64(1), parentTID: a.address(2),
                                  childTID: a.address(3), tls: a.u64(4)))
    }

    static let WNOHANG = 1, WUNTRACED = 2, WCONTINUED = 8
    static let __WNOTHREAD = 0x2000_0000, __WALL = 0x4000_0000, __WCLONE = Int(bitPattern: 0x8000_0000)

    /// wait4(pid, status, options, rusage). The child is reaped before the
    /// results are stored, so a bad pointer gives EFAULT with the child gone, as
    /// in Linux. Linux: kernel_wait4()
    static func wait4(_ a: SyscallArgs) throws(Errno) -> Int {
        let pid = Int32(truncatingIfNeeded: a.int(0)), options = a.int(2)
        guard options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) == 0 else { throw .EINVAL }
        guard pid != Int32.min else { throw .ESRCH }        // Linux: -INT_MIN is not a process group
        guard let (child, status) = try ProcessExit.wait(for: pid, noHang: options & WNOHANG != 0) else { return 0 }
        if a.u64(1) != 0 { try UserCopy.write(status, at: a.address(1)) }
        if a.u64(3) != 0 {
            try UserCopy.copyOut(to: a.address(3), [UInt8](repeating: 0, count: 144))   // struct rusage: all zero
        }
        return Int(child)
    }

    /// Linux: getppid()
    static func getppid() -> Int {
        let task = Scheduler.current
        return Int(Task.tasklistLock.withLock { task.parent?.tgid ?? 0 })     // reparenting may change it
    }
}
