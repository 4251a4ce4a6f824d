// /proc/<pid>/status and /proc/<pid>/stat: what ps and top read about a process.
// status is "Name:\tvalue" lines for people; stat is one line of 52 numbers for
// programs, the name in parentheses (it may hold spaces) followed by the state
// letter. Keel fills the fields it tracks (utime and stime among them) and
// prints 0 (or Linux's fixed value: priority 20, exit_signal SIGCHLD, no RSS
// limit) in the others.

/// A task's scheduling state as /proc shows it. Linux: task_state_array[]
public enum ProcTaskState: Sendable {
    case running, sleeping, zombie

    /// Linux: the letter of task_state_array[] ("R (running)" → R)
    public var letter: String {
        switch self {
        case .running: "R"
        case .sleeping: "S"
        case .zombie: "Z"
        }
    }

    public var description: String {
        switch self {
        case .running: "R (running)"
        case .sleeping: "S (sleeping)"
        case .zombie: "Z (zombie)"
        }
    }
}

/// A process's memory as /proc shows it; nil for kernel threads.
public struct ProcTaskMemory: Equatable, Sendable {
    /// Linux: mm->total_vm
    public var totalPages: UInt64
    /// Resident pages by kind. Linux: rss_stat (MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES)
    public var rss: RSSStat
    /// Linux: get_mm_rss()
    public var residentPages: UInt64 { UInt64(rss.total) }
    /// Linux: mm->start_brk, mm->start_stack
    public var startBrk: VirtAddr
    public var startStack: VirtAddr
    /// Pages of mlocked regions. Linux: mm->locked_vm
    public var lockedPages: UInt64
    /// Pages in swap slots. Linux: get_mm_counter(mm, MM_SWAPENTS)
    public var swapPages: UInt64

    public init(totalPages: UInt64, rss: RSSStat, startBrk: VirtAddr, startStack: VirtAddr,
                lockedPages: UInt64 = 0, swapPages: UInt64 = 0) {
        self.swapPages = swapPages
        self.totalPages = totalPages
        self.rss = rss
        self.startBrk = startBrk
        self.startStack = startStack
        self.lockedPages = lockedPages
    }
}

/// Everything /proc/<pid>/status and stat print. Linux: proc_pid_status(), do_task_stat()
public struct ProcTaskInfo: Sendable {
    /// Linux: comm
    public var name: String
    public var state: ProcTaskState
    public var pid: Int32
    public var tgid: Int32
    /// 0 for a task without a parent. Linux: task_tgid_nr_ns(real_parent)
    public var parentPid: Int32
    public var threads: Int
    public var memory: ProcTaskMemory?
    /// A zombie's wait status. Linux: exit_code
    public var exitCode: Int32
    /// CPU time in user mode and in the kernel, in clock ticks of 1/100 s
    /// (sysconf(_SC_CLK_TCK)). Linux: utime, stime as clock_t (USER_HZ)
    public var userTime: Int
    public var systemTime: Int
    /// The same for its reaped children, in clock ticks. Linux: cutime, cstime
    public var childrenUserTime: Int
    public var childrenSystemTime: Int
    /// Where the task may run and take memory from: its CPU affinity (over
    /// `cpuBits`, nr_cpu_ids) and its allowed nodes; nil prints no such lines.
    /// Linux: task->cpus_ptr, task->mems_allowed
    public var allowed: (cpus: CPUMask, cpuBits: Int, nodes: NodeMask)? = nil

    public init(name: String, state: ProcTaskState, pid: Int32, tgid: Int32, parentPid: Int32, threads: Int,
                memory: ProcTaskMemory?, exitCode: Int32, userTime: Int = 0, systemTime: Int = 0,
                childrenUserTime: Int = 0, childrenSystemTime: Int = 0) {
        self.name = name
        self.state = state
        self.pid = pid
        self.tgid = tgid
        self.parentPid = parentPid
        self.threads = threads
        self.memory = memory
        self.exitCode = exitCode
        self.userTime = userTime
        self.systemTime = systemTime
        self.childrenUserTime = childrenUserTime
        self.childrenSystemTime = childrenSystemTime
    }

    /// Clock ticks per second, what user space divides utime and stime by. Linux: USER_HZ
    public static let userHZ = 100

    /// Scheduler ticks of `tickMilliseconds` each, in clock ticks (rounded down).
    /// Linux: jiffies_to_clock_t()
    public static func clockTicks(ticks: Int, tickMilliseconds: Int) -> Int {
        ticks * tickMilliseconds * userHZ / 1000
    }

    /// Linux: proc_pid_status() (task_name, task_state, task_mem, ...)
    public func writeStatus<Sink: TextSink>(to out: inout Sink) {
        out.write("Name:\t" + name + "\nUmask:\t0022\nState:\t" + state.description + "\n")
        out.write("Tgid:\t" + Fmt.dec(tgid) + "\nNgid:\t0\nPid:\t" + Fmt.dec(pid) + "\nPPid:\t" + Fmt.dec(parentPid))
        out.write("\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
        if let memory {
            // "VmSize:\t%8lu kB" Linux: task_mem()
            out.write("VmSize:\t" + Fmt.dec(memory.totalPages * (pageSize / 1024), width: 8) + " kB\n")
            out.write("VmLck:\t" + Fmt.dec(memory.lockedPages * (pageSize / 1024), width: 8) + " kB\n")
            out.write("VmRSS:\t" + Fmt.dec(memory.residentPages * (pageSize / 1024), width: 8) + " kB\n")
            // "RssAnon:\t%8lu kB" and its two siblings, their sum VmRSS. Linux: task_mem()
            let kB = Int(pageSize / 1024)
            out.write("RssAnon:\t" + Fmt.dec(memory.rss.anon * kB, width: 8) + " kB\n")
            out.write("RssFile:\t" + Fmt.dec(memory.rss.file * kB, width: 8) + " kB\n")
            out.write("RssShmem:\t" + Fmt.dec(memory.rss.shmem * kB, width: 8) + " kB\n")
            out.write("VmSwap:\t" + Fmt.dec(memory.swapPages * (pageSize / 1024), width: 8) + " kB\n")
        }
        out.write("Threads:\t" + Fmt.dec(threads) + "\n")
        if let allowed {
            // "%*pb" and "%*pbl": the CPUs over nr_cpu_ids bits, the nodes over
            // MAX_NUMNODES (64 in Keel), where libnuma finds the nodemask size.
            // Linux: task_cpus_allowed(), cpuset_task_status_allowed()
            let cpus = { (cpu: Int) in allowed.cpus.contains(cpu: cpu) }
            out.write("Cpus_allowed:\t" + BitmapText.mask(bits: allowed.cpuBits, contains: cpus) + "\n")
            out.write("Cpus_allowed_list:\t" + BitmapText.list(bits: allowed.cpuBits, contains: cpus) + "\n")
            out.write("Mems_allowed:\t" + BitmapText.mask(bits: NodeMask.capacity) { allowed.nodes.contains($0) } + "\n")
            out.write("Mems_allowed_list:\t" + allowed.nodes.listText + "\n")
        }
    }

    /// The 52 fields of /proc/<pid>/stat. Linux: do_task_stat()
    public func writeStat<Sink: TextSink>(to out: inout Sink) {
        let vsize = (memory?.totalPages ?? 0) * pageSize
        let fields: [String] = [
            Fmt.dec(pid), "(" + name + ")", state.letter, Fmt.dec(parentPid),
            "0", "0", "0", "-1", "0",                               // pgrp session tty_nr tpgid flags (not tracked)
            "0", "0", "0", "0", Fmt.dec(userTime), Fmt.dec(systemTime),    // minflt cminflt majflt cmajflt utime stime
            Fmt.dec(childrenUserTime), Fmt.dec(childrenSystemTime), // cutime cstime
            "20", "0", Fmt.dec(threads), "0", "0",                  // priority nice num_threads itrealvalue starttime
            Fmt.dec(vsize), Fmt.dec(memory?.residentPages ?? 0), "18446744073709551615",
            "0", "0", Fmt.dec(memory?.startStack.value ?? 0), "0", "0",   // startcode endcode startstack kstkesp kstkeip
            "0", "0", "0", "0", "0", "0", "0",                      // signal blocked sigignore sigcatch wchan nswap cnswap
            "17", "0", "0", "0", "0", "0", "0",                     // exit_signal processor rt_priority policy blkio guest cguest
            "0", "0", Fmt.dec(memory?.startBrk.value ?? 0),         // start_data end_data start_brk
            "0", "0", "0", "0", Fmt.dec(exitCode),                  // arg_start arg_end env_start env_end exit_code
        ]
        var line = ""
        for field in fields { line += (line.isEmpty ? "" : " ") + field }
        out.write(line + "\n")
    }
}
