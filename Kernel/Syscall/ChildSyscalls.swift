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

    /// Linux: kernel_wait4() → do_wait()
    static func wait4(_ a: SyscallArgs) throws(Errno) -> Int {
        let pid = Int32(truncatingIfNeeded: a.int(0)), options = a.int(2)
        guard options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) == 0 else { throw .EINVAL }
        guard pid != Int32.min else { throw .ESRCH }        // Linux: -INT_MIN is not a process group
        let task = Scheduler.current.groupLeader ?? Scheduler.current
        while true {
            let candidates = task.children.filter { pid <= 0 || $0.pid == pid }
            guard !candidates.isEmpty else { throw .ECHILD }
            if let zombie = candidates.first(where: { $0.state == .zombie }) {
                if a.u64(1) != 0 { try UserCopy.write(zombie.exitStatus, at: a.address(1)) }
                if a.u64(3) != 0 {
                    try UserCopy.copyOut(to: a.address(3), [UInt8](repeating: 0, count: 144))   // struct rusage
                }
                reap(zombie, from: task)
                return Int(zombie.pid)
            }
            if options & WNOHANG != 0 { return 0 }
            if Signals.interrupted(Scheduler.current) { throw .EINTR }
            Scheduler.sleep()
        }
    }

    /// Frees what is left of a zombie. Linux: release_task()
    static func reap(_ zombie: Task, from parent: Task) {
        parent.children.removeAll { $0 === zombie }
        zombie.parent = nil
        zombie.threads.removeAll()
        Task.unregister(zombie)
    }

    /// Linux: getppid()
    static func getppid() -> Int { Int(Scheduler.current.parent?.tgid ?? 0) }
}
