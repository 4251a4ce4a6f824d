// The system-call table: Linux x86-64 numbers to Keel's handlers.
// Linux: arch/x86/entry/syscalls/syscall_64.tbl and do_syscall_64()
//
// Every handler takes the raw arguments and either returns a value or throws
// an Errno; the dispatcher turns that into rax (-errno on failure).

@_cdecl("keel_syscall")
func keelSyscall(_ framePointer: UnsafeMutableRawPointer) {
    let frame = framePointer.assumingMemoryBound(to: InterruptFrame.self)
    let args = SyscallArgs(frame: frame.pointee)
    Scheduler.reapExited()
    SyscallTable.run(Syscall(rawValue: args.number), args, frame: frame)
    let interrupted = frame.pointee.rax == UInt64(bitPattern: Errno.ERESTARTSYS.syscallReturn)
    exitToUserMode(frame, restarting: interrupted ? args.number : nil)
}

/// The work on the way back to user mode (OOM kill, reschedule, signals). The
/// peeks are racy: a signal sent this instant is acted on at the next entry or
/// timer tick. Linux: syscall_exit_to_user_mode() → exit_to_user_mode_loop()
/// and its work flags
/// A call that ended with ERESTARTSYS (`restarting`, its number) always goes
/// through signal delivery, which runs it again or makes it EINTR.
private func exitToUserMode(_ frame: UnsafeMutablePointer<InterruptFrame>, restarting call: Int?) {
    OOMKiller.checkReserve()
    ConsoleDevice.runReceiveWork()
    AlarmTimers.runExpired()
    Scheduler.condResched()
    if call != nil || Signals.mayBePending(Scheduler.current) { Signals.deliver(frame, restarting: call) }
}

/// The system calls Keel implements, by Linux's x86-64 number and under
/// Linux's name (the names are kept as Linux spells them, so a student can
/// grep syscall_64.tbl and man 2 for them). Sorted by number, like the table.
/// Linux: arch/x86/entry/syscalls/syscall_64.tbl
enum Syscall: Int {
    case read = 0
    case write = 1
    case open = 2
    case close = 3
    case stat = 4
    case fstat = 5
    case lstat = 6
    case poll = 7
    case lseek = 8
    case mmap = 9
    case mprotect = 10
    case munmap = 11
    case brk = 12
    case rt_sigaction = 13
    case rt_sigprocmask = 14
    case rt_sigreturn = 15
    case ioctl = 16
    case pread64 = 17
    case pwrite64 = 18
    case readv = 19
    case writev = 20
    case access = 21
    case pipe = 22
    case select = 23
    case sched_yield = 24
    case mremap = 25
    case msync = 26
    case mincore = 27
    case madvise = 28
    case dup = 32
    case dup2 = 33
    case pause = 34
    case nanosleep = 35
    case getitimer = 36
    case alarm = 37
    case setitimer = 38
    case getpid = 39
    case sendfile = 40
    case socket = 41
    case connect = 42
    case clone = 56
    case fork = 57
    case vfork = 58
    case execve = 59
    case exit = 60
    case wait4 = 61
    case kill = 62
    case uname = 63
    case fcntl = 72
    case fsync = 74
    case fdatasync = 75
    case truncate = 76
    case ftruncate = 77
    case getcwd = 79
    case chdir = 80
    case fchdir = 81
    case rename = 82
    case mkdir = 83
    case rmdir = 84
    case creat = 85
    case link = 86
    case unlink = 87
    case symlink = 88
    case readlink = 89
    case chmod = 90
    case fchmod = 91
    case chown = 92
    case fchown = 93
    case lchown = 94
    case umask = 95
    case gettimeofday = 96
    case getrlimit = 97
    case getrusage = 98
    case sysinfo = 99
    case times = 100
    case getuid = 102
    case getgid = 104
    case geteuid = 107
    case getegid = 108
    case setpgid = 109
    case getppid = 110
    case getpgrp = 111
    case setsid = 112
    case getpgid = 121
    case getsid = 124
    case capget = 125
    case capset = 126
    case rt_sigpending = 127
    case rt_sigsuspend = 130
    case sigaltstack = 131
    case utime = 132
    case mknod = 133
    case statfs = 137
    case fstatfs = 138
    case sched_setparam = 142
    case sched_getparam = 143
    case sched_setscheduler = 144
    case sched_getscheduler = 145
    case sched_get_priority_max = 146
    case sched_get_priority_min = 147
    case sched_rr_get_interval = 148
    case mlock = 149
    case munlock = 150
    case mlockall = 151
    case munlockall = 152
    case vhangup = 153
    case prctl = 157
    case arch_prctl = 158
    case chroot = 161
    case sync = 162
    case mount = 165
    case umount2 = 166
    case swapon = 167
    case swapoff = 168
    case reboot = 169
    case gettid = 186
    case tkill = 200
    case time = 201
    case futex = 202
    case sched_setaffinity = 203
    case sched_getaffinity = 204
    case getdents64 = 217
    case set_tid_address = 218
    case fadvise64 = 221
    case clock_gettime = 228
    case clock_nanosleep = 230
    case exit_group = 231
    case tgkill = 234
    case utimes = 235
    case mbind = 237
    case set_mempolicy = 238
    case get_mempolicy = 239
    case waitid = 247
    case migrate_pages = 256
    case openat = 257
    case mkdirat = 258
    case mknodat = 259
    case fchownat = 260
    case newfstatat = 262
    case unlinkat = 263
    case renameat = 264
    case linkat = 265
    case symlinkat = 266
    case readlinkat = 267
    case fchmodat = 268
    case faccessat = 269
    case pselect6 = 270
    case ppoll = 271
    case set_robust_list = 273
    case move_pages = 279
    case utimensat = 280
    case fallocate = 285
    case dup3 = 292
    case pipe2 = 293
    case prlimit64 = 302
    case syncfs = 306
    case getcpu = 309
    case renameat2 = 316
    case getrandom = 318
    case memfd_create = 319
    case mlock2 = 325
    case statx = 332
    case rseq = 334
    case faccessat2 = 439
    // Keel's own, above Linux's range (Tests/Userland/keel.h)
    case sched_setweight = 1001
    case sched_getweight = 1002
}

enum SyscallTable {
    /// Runs the call and leaves its result, or -errno, in the frame's rax.
    static func run(_ call: Syscall?, _ args: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) {
        Trace.sysEnter(args)
        let result: Int64
        do {
            result = Int64(try dispatch(call, args, frame: frame))
        } catch {
            result = error.syscallReturn
        }
        Trace.sysExit(args.number, result: result)
        frame.pointee.rax = UInt64(bitPattern: result)
    }

    /// Each call's entry point, grouped by subsystem (one Kernel/Syscall file
    /// each), numbers ascending within a group. Linux: sys_call_table
    static func dispatch(_ call: Syscall?, _ a: SyscallArgs, frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        guard let call else {
            UnknownSyscalls.report(a.number)
            throw .ENOSYS
        }
        switch call {
        // files (FileSyscalls*.swift)
        case .read: return try FileSyscalls.read(a)
        case .write: return try FileSyscalls.write(a)
        case .open: return try FileSyscalls.open(a)
        case .close: return try FileSyscalls.close(a)
        case .stat: return try FileSyscalls.stat(a)
        case .fstat: return try FileSyscalls.fstat(a)
        case .lstat: return try FileSyscalls.lstat(a)
        case .lseek: return try FileSyscalls.lseek(a)
        case .fadvise64: return try FileSyscalls.fadvise64(a)
        case .ioctl: return try FileSyscalls.ioctl(a)
        case .pread64: return try FileSyscalls.pread64(a)
        case .pwrite64: return try FileSyscalls.pwrite64(a)
        case .sendfile: return try FileSyscalls.sendfile(a)
        case .fsync: return try FileSyscalls.fsync(a)
        case .fdatasync: return try FileSyscalls.fsync(a)
        case .truncate: return try FileSyscalls.truncate(a)
        case .ftruncate: return try FileSyscalls.ftruncate(a)
        case .rename: return try FileSyscalls.rename(a)
        case .mkdir: return try FileSyscalls.mkdir(a)
        case .rmdir: return try FileSyscalls.rmdir(a)
        case .creat: return try FileSyscalls.creat(a)
        case .link: return try FileSyscalls.link(a)
        case .unlink: return try FileSyscalls.unlink(a)
        case .symlink: return try FileSyscalls.symlink(a)
        case .chmod: return try FileSyscalls.chmod(a)
        case .fchmod: return try FileSyscalls.fchmod(a)
        case .chown: return try FileSyscalls.chown(a)
        case .fchown: return try FileSyscalls.fchown(a)
        case .lchown: return try FileSyscalls.lchown(a)
        case .umask: return try FileSyscalls.umask(a)
        case .utime: return try FileSyscalls.utime(a)
        case .mknod: return try FileSyscalls.mknod(a)
        case .statfs: return try FileSyscalls.statfs(a)
        case .fstatfs: return try FileSyscalls.fstatfs(a)
        case .chroot: return try FileSyscalls.chroot(a)
        case .sync: return try FileSyscalls.sync(a)
        case .mount: return try FileSyscalls.mount(a)
        case .umount2: return try FileSyscalls.umount2(a)
        case .utimes: return try FileSyscalls.utimes(a)
        case .mkdirat: return try FileSyscalls.mkdirat(a)
        case .mknodat: return try FileSyscalls.mknodat(a)
        case .fchownat: return try FileSyscalls.fchownat(a)
        case .unlinkat: return try FileSyscalls.unlinkat(a)
        case .renameat: return try FileSyscalls.renameat(a)
        case .linkat: return try FileSyscalls.linkat(a)
        case .symlinkat: return try FileSyscalls.symlinkat(a)
        case .fchmodat: return try FileSyscalls.fchmodat(a)
        case .utimensat: return try FileSyscalls.utimensat(a)
        case .fallocate: return try FileSyscalls.fallocate(a)
        case .syncfs: return try FileSyscalls.syncfs(a)
        case .renameat2: return try FileSyscalls.renameat2(a)
        case .statx: return try FileSyscalls.statx(a)
        case .readv: return try FileSyscalls.readv(a)
        case .writev: return try FileSyscalls.writev(a)
        case .access: return try FileSyscalls.access(a)
        case .pipe, .pipe2: return try FileSyscalls.pipe2(a)
        case .dup: return try FileSyscalls.dup(a)
        case .dup2: return try FileSyscalls.dup2(a)
        case .fcntl: return try FileSyscalls.fcntl(a)
        case .getcwd: return try FileSyscalls.getcwd(a)
        case .chdir: return try FileSyscalls.chdir(a)
        case .fchdir: return try FileSyscalls.fchdir(a)
        case .readlink: return try FileSyscalls.readlink(a)
        case .getdents64: return try FileSyscalls.getdents64(a)
        case .openat: return try FileSyscalls.openat(a)
        case .newfstatat: return try FileSyscalls.newfstatat(a)
        case .readlinkat: return try FileSyscalls.readlinkat(a)
        case .faccessat: return try FileSyscalls.faccessat(a)
        case .dup3: return try FileSyscalls.dup3(a)
        case .faccessat2: return try FileSyscalls.faccessat2(a)
        // waiting for descriptors (PollSyscalls.swift → Kernel/FS/Poll.swift)
        case .poll: return try PollSyscalls.poll(a)
        case .select: return try PollSyscalls.select(a)
        case .pselect6: return try PollSyscalls.pselect6(a)
        case .ppoll: return try PollSyscalls.ppoll(a)
        // memory (MemorySyscalls.swift → Kernel/Memory)
        case .mmap: return try MemorySyscalls.mmap(a)
        case .mprotect: return try MemorySyscalls.mprotect(a)
        case .munmap: return try MemorySyscalls.munmap(a)
        case .brk: return try MemorySyscalls.brk(a)
        case .mremap: return try MemorySyscalls.mremap(a)
        case .msync: return try MemorySyscalls.msync(a)
        case .madvise: return try MemorySyscalls.madvise(a)
        case .mlock, .mlock2, .munlock: return try MemorySyscalls.mlock(a)
        case .mlockall: return try MemorySyscalls.mlockall(a)
        case .munlockall: return try MemorySyscalls.munlockall()
        case .mincore: return try MemorySyscalls.mincore(a)
        case .swapon: return try MemorySyscalls.swapon(a)
        case .swapoff: return try MemorySyscalls.swapoff(a)
        // NUMA memory policies (MemPolicySyscalls.swift → Kernel/Memory/NUMAPolicy.swift)
        case .mbind: return try MemPolicySyscalls.mbind(a)
        case .set_mempolicy: return try MemPolicySyscalls.setMempolicy(a)
        case .get_mempolicy: return try MemPolicySyscalls.getMempolicy(a)
        case .migrate_pages: return try MemPolicySyscalls.migratePages(a)
        case .move_pages: return try MemPolicySyscalls.movePages(a)
        // processes and threads (ProcessSyscalls.swift, ChildSyscalls.swift → Kernel/Process)
        case .getpid: return Int(Scheduler.current.tgid)
        case .clone: return try ChildSyscalls.clone(a, frame: frame)
        case .fork: return try ChildSyscalls.fork(frame)
        case .vfork: return try ChildSyscalls.vfork(frame)
        case .execve: return try ProcessSyscalls.execve(a, frame: frame)
        case .exit: ProcessSyscalls.exit(a)
        case .wait4: return try ChildSyscalls.wait4(a)
        case .waitid: return try ChildSyscalls.waitid(a)
        case .getppid: return ChildSyscalls.getppid()
        // process groups and sessions (ProcessGroupSyscalls.swift)
        case .setpgid: return try ProcessGroupSyscalls.setpgid(a)
        case .getpgrp: return ProcessGroupSyscalls.getpgrp()
        case .setsid: return try ProcessGroupSyscalls.setsid()
        case .getpgid: return try ProcessGroupSyscalls.getpgid(a)
        case .getsid: return try ProcessGroupSyscalls.getsid(a)
        case .vhangup: return ProcessGroupSyscalls.vhangup()
        case .arch_prctl: return try ProcessSyscalls.archPrctl(a)
        case .gettid: return Int(Scheduler.current.pid)
        case .futex: return try Futex.syscall(a)
        case .set_tid_address: return ProcessSyscalls.setTIDAddress(a)
        case .exit_group: ProcessSyscalls.exitGroup(a)
        case .set_robust_list: return 0                 // accepted; robust futexes are not walked
        // Restartable sequences are an optional feature: Keel is a Linux built
        // without CONFIG_RSEQ, whose rseq() is ENOSYS; glibc then does without
        // (its __rseq_size is 0). Linux: kernel/rseq.c, COND_SYSCALL(rseq)
        case .rseq: throw .ENOSYS
        // signals (SignalSyscalls.swift)
        case .rt_sigaction: return try SignalSyscalls.rtSigaction(a)
        case .rt_sigprocmask: return try SignalSyscalls.rtSigprocmask(a)
        case .rt_sigreturn: return try SignalFrame.sigreturn(frame)
        case .kill: return try SignalSyscalls.kill(a)
        case .rt_sigpending: return try SignalSyscalls.rtSigpending(a)
        case .tkill, .tgkill: return try SignalSyscalls.tkill(a)
        case .rt_sigsuspend: return try PollSyscalls.rtSigsuspend(a)
        case .sigaltstack: return try SignalSyscalls.sigaltstack(a, frame: frame)
        // scheduling (SchedSyscalls.swift)
        case .sched_yield: return ProcessSyscalls.schedYield(a)
        case .sched_setparam: return try SchedSyscalls.setParam(a)
        case .sched_getparam: return try SchedSyscalls.getParam(a)
        case .sched_setscheduler: return try SchedSyscalls.setScheduler(a)
        case .sched_getscheduler: return try SchedSyscalls.getScheduler(a)
        case .sched_get_priority_max: return try SchedSyscalls.priorityBound(a, max: true)
        case .sched_get_priority_min: return try SchedSyscalls.priorityBound(a, max: false)
        case .sched_rr_get_interval: return try SchedSyscalls.rrGetInterval(a)
        case .sched_setaffinity: return try SchedSyscalls.setAffinity(a)
        case .sched_getaffinity: return try SchedSyscalls.getAffinity(a)
        case .sched_setweight: return try SchedSyscalls.setWeight(a)
        case .sched_getweight: return try SchedSyscalls.getWeight(a)
        // Keel has no network stack: it is a Linux built without CONFIG_NET,
        // where every socket call is ENOSYS. glibc's callers cope: syslog()
        // drops the message, the nscd client falls back to the files.
        // Linux: net/socket.c, COND_SYSCALL(socket) in kernel/sys_ni.c
        case .socket, .connect: throw .ENOSYS
        // time, identity and the rest (MiscSyscalls.swift)
        case .pause: return try MiscSyscalls.pause()
        case .nanosleep: return try MiscSyscalls.nanosleep(a)
        case .getitimer: return try MiscSyscalls.getitimer(a)
        case .alarm: return MiscSyscalls.alarm(a)
        case .setitimer: return try MiscSyscalls.setitimer(a)
        case .uname: return try MiscSyscalls.uname(a)
        case .gettimeofday: return try MiscSyscalls.gettimeofday(a)
        case .getrusage: return try ProcessSyscalls.getrusage(a)
        case .sysinfo: return try MiscSyscalls.sysinfo(a)
        case .capget: return try MiscSyscalls.capget(a)
        case .capset: return try MiscSyscalls.capset(a)
        case .times: return try ProcessSyscalls.times(a)
        case .getrlimit, .prlimit64: return try MiscSyscalls.prlimit(a)
        case .getuid, .getgid, .geteuid, .getegid: return 0      // everyone is root
        case .prctl: return try MiscSyscalls.prctl(a)
        case .reboot: return try MiscSyscalls.reboot(a)
        case .time: return try MiscSyscalls.time(a)
        case .clock_gettime: return try MiscSyscalls.clockGettime(a)
        case .clock_nanosleep: return try MiscSyscalls.clockNanosleep(a)
        case .getrandom: return try MiscSyscalls.getrandom(a)
        case .memfd_create: return try FileSyscalls.memfdCreate(a)
        case .getcpu: return try MiscSyscalls.getcpu(a)
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
    /// Protected by `lock` (programs on several CPUs may try the same call).
    nonisolated(unsafe) private static var seen = [UInt64](repeating: 0, count: remembered / 64)
    nonisolated(unsafe) private static var seenOutOfRange = false
    private static let lock = SpinLock(LockClass("unknown_syscalls_lock"), disablesInterrupts: false)

    static func report(_ number: Int) {
        let first = lock.withLock { () -> Bool in
            if number >= 0 && number < remembered {
                let bit: UInt64 = 1 << UInt64(number % 64)
                guard seen[number / 64] & bit == 0 else { return false }
                seen[number / 64] |= bit
            } else {
                guard !seenOutOfRange else { return false }
                seenOutOfRange = true
            }
            return true
        }
        guard first else { return }
        Log.notice("keel: \(Scheduler.current.name)[\(Scheduler.current.pid)]: unknown system call \(number), returning -ENOSYS")
    }
}
