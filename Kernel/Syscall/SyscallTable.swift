// The system-call table: Linux x86-64 numbers to Keel's handlers.
// Linux: arch/x86/entry/syscalls/syscall_64.tbl and do_syscall_64()
//
// Every handler takes the raw arguments and either returns a value or throws
// an Errno; the dispatcher turns that into rax (-errno on failure).

@_cdecl("keel_syscall")
func keelSyscall(_ framePointer: UnsafeMutableRawPointer) {
    let frame = framePointer.assumingMemoryBound(to: InterruptFrame.self)
    let args = SyscallArgs(frame: frame.pointee)
    BigKernelLock.lock()
    Scheduler.reapExited()
    let result: Int64
    do {
        result = Int64(try SyscallTable.dispatch(args, frame: frame))
    } catch {
        result = error.syscallReturn
    }
    frame.pointee.rax = UInt64(bitPattern: result)
    OOMKiller.checkReserve()
    if Scheduler.needResched[PerCPU.cpu] { Scheduler.schedule() }
    Signals.deliver(frame)
    BigKernelLock.unlock()
}

enum SyscallTable {
    static func dispatch(_ a: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        switch a.number {
        // files (Kernel/Syscall/FileSyscalls+*.swift)
        case 0: return try FileSyscalls.read(a)
        case 1: return try FileSyscalls.write(a)
        case 2: return try FileSyscalls.open(a)
        case 3: return try FileSyscalls.close(a)
        case 4: return try FileSyscalls.stat(a)
        case 5: return try FileSyscalls.fstat(a)
        case 6: return try FileSyscalls.lstat(a)
        case 8: return try FileSyscalls.lseek(a)
        case 16: return try FileSyscalls.ioctl(a)
        case 17: return try FileSyscalls.pread64(a)
        case 18: return try FileSyscalls.pwrite64(a)
        case 19: return try FileSyscalls.readv(a)
        case 20: return try FileSyscalls.writev(a)
        case 21: return try FileSyscalls.access(a)
        case 22, 293: return try FileSyscalls.pipe2(a)
        case 32: return try FileSyscalls.dup(a)
        case 33: return try FileSyscalls.dup2(a)
        case 72: return try FileSyscalls.fcntl(a)
        case 79: return try FileSyscalls.getcwd(a)
        case 80: return try FileSyscalls.chdir(a)
        case 81: return try FileSyscalls.fchdir(a)
        case 89: return try FileSyscalls.readlink(a)
        case 217: return try FileSyscalls.getdents64(a)
        case 257: return try FileSyscalls.openat(a)
        case 262: return try FileSyscalls.newfstatat(a)
        case 267: return try FileSyscalls.readlinkat(a)
        case 269: return try FileSyscalls.faccessat(a)
        case 292: return try FileSyscalls.dup3(a)
        case 439: return try FileSyscalls.faccessat2(a)
        // memory (Kernel/Syscall/MemorySyscalls.swift)
        case 9: return try MemorySyscalls.mmap(a)
        case 10: return try MemorySyscalls.mprotect(a)
        case 11: return try MemorySyscalls.munmap(a)
        case 12: return try MemorySyscalls.brk(a)
        case 25: return try MemorySyscalls.mremap(a)
        case 26: return try MemorySyscalls.msync(a)
        case 28: return try MemorySyscalls.madvise(a)
        // processes (Kernel/Syscall/ProcessSyscalls.swift)
        case 24: return ProcessSyscalls.schedYield(a)
        case 56: return try ChildSyscalls.clone(a, frame: frame)
        case 57: return try ChildSyscalls.fork(frame)
        case 58: return try ChildSyscalls.vfork(frame)
        case 61: return try ChildSyscalls.wait4(a)
        case 110: return ChildSyscalls.getppid()
        case 39: return Int(Scheduler.current.tgid)
        case 59: return try ProcessSyscalls.execve(a, frame: frame)
        case 60: ProcessSyscalls.exit(a)
        case 186: return Int(Scheduler.current.pid)
        case 218: return ProcessSyscalls.setTIDAddress(a)
        case 231: ProcessSyscalls.exitGroup(a)
        case 158: return try ProcessSyscalls.archPrctl(a)
        // identity, time, misc (Kernel/Syscall/MiscSyscalls.swift)
        // signals (Kernel/Syscall/SignalSyscalls.swift)
        case 13: return try SignalSyscalls.rtSigaction(a)
        case 14: return try SignalSyscalls.rtSigprocmask(a)
        case 15: return try SignalFrame.sigreturn(frame)
        case 62: return try SignalSyscalls.kill(a)
        case 127: return try SignalSyscalls.rtSigpending(a)
        case 200, 234: return try SignalSyscalls.tkill(a)
        case 34: return try MiscSyscalls.pause()
        case 35: return try MiscSyscalls.nanosleep(a)
        case 63: return try MiscSyscalls.uname(a)
        case 96: return try MiscSyscalls.gettimeofday(a)
        case 97, 302: return try MiscSyscalls.prlimit(a)
        case 102, 104, 107, 108: return 0                // getuid, getgid, geteuid, getegid: root
        case 157: return try MiscSyscalls.prctl(a)
        case 169: return try MiscSyscalls.reboot(a)
        case 201: return try MiscSyscalls.time(a)
        case 228: return try MiscSyscalls.clockGettime(a)
        case 202: return try Futex.syscall(a)
        // scheduling (Kernel/Syscall/SchedSyscalls.swift)
        case 142: return try SchedSyscalls.setParam(a)
        case 143: return try SchedSyscalls.getParam(a)
        case 144: return try SchedSyscalls.setScheduler(a)
        case 145: return try SchedSyscalls.getScheduler(a)
        case 146: return try SchedSyscalls.priorityBound(a, max: true)
        case 147: return try SchedSyscalls.priorityBound(a, max: false)
        case 148: return try SchedSyscalls.rrGetInterval(a)
        case 203: return try SchedSyscalls.setAffinity(a)
        case 204: return try SchedSyscalls.getAffinity(a)
        case 1001: return try SchedSyscalls.setWeight(a)
        case 1002: return try SchedSyscalls.getWeight(a)
        case 273: return 0                               // set_robust_list: accepted; robust futexes are not walked
        case 318: return try MiscSyscalls.getrandom(a)
        default:
            UnknownSyscalls.report(a.number)
            throw .ENOSYS
        }
    }
}

/// Unknown system calls are logged once per number. Linux logs nothing; Keel
/// tells a student which call their program needs. The numbers a program may
/// pass are any 64-bit value, so only the table's range is remembered (a bitmap
/// of fixed size); numbers beyond it are logged once in all.
enum UnknownSyscalls {
    /// Numbers below this are remembered one by one: Linux's table and Keel's own.
    private static let remembered = 1024
    nonisolated(unsafe) private static var seen = [UInt64](repeating: 0, count: remembered / 64)
    nonisolated(unsafe) private static var seenOutOfRange = false

    static func report(_ number: Int) {
        if number >= 0 && number < remembered {
            let bit: UInt64 = 1 << UInt64(number % 64)
            guard seen[number / 64] & bit == 0 else { return }
            seen[number / 64] |= bit
        } else {
            guard !seenOutOfRange else { return }
            seenOutOfRange = true
        }
        Log.notice("keel: \(Scheduler.current.name)[\(Scheduler.current.pid)]: unknown system call \(number), returning -ENOSYS")
    }
}
