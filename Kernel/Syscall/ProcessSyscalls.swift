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
        let arguments = try readStringArray(a.address(1))
        let environment = try readStringArray(a.address(2))
        let task = Scheduler.current
        let image = try Exec.load(path: path, relativeTo: task.fs.cwd, arguments: arguments, environment: environment)
        // The point of no return. Linux: begin_new_exec()
        write_cr3(image.mm.pageTable.root.value)      // before the old tables are freed
        task.mm?.activeCPUs.remove(.cpu(PerCPU.cpu))
        image.mm.activeCPUs.insert(.cpu(PerCPU.cpu))
        task.mm = image.mm
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

    /// argv or envp: a NULL-terminated array of string pointers. Linux: copy_strings()
    static func readStringArray(_ address: VirtAddr) throws(Errno) -> [String] {
        var strings: [String] = []
        guard address.value != 0 else { return strings }
        var total = 0
        while true {
            let pointer = try UserCopy.read(UInt64.self, at: address + UInt64(strings.count * 8))
            if pointer == 0 { return strings }
            let s = try UserCopy.readString(at: VirtAddr(pointer), maxLength: 128 * 1024)
            total += s.utf8.count + 1 + 8
            guard total <= Exec.argumentLimit, strings.count < 0x7fff_ffff else { throw .E2BIG }
            strings.append(s)
        }
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

/// fork, vfork, clone, wait4, getppid. Linux: kernel/fork.c, kernel/exit.c
enum ChildSyscalls {
    /// fork() and vfork() (with fork's semantics: the parent does not wait).
    static func fork(_ frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        Int(try Fork.clone([], frame: frame.pointee))
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
