// Scheduling-policy system calls with Linux's errors, plus Keel's
// sched_setweight/sched_getweight (Tests/Userland/keel.h).
// Linux: kernel/sched/syscalls.c

enum SchedSyscalls {
    /// pid 0 means the caller. ESRCH for an unknown pid, EINVAL for a negative one.
    private static func target(_ pid: Int) throws(Errno) -> Task {
        guard pid >= 0 else { throw .EINVAL }
        if pid == 0 { return Scheduler.current }
        guard let task = Task.lookup(pid: Int32(truncatingIfNeeded: pid)), task.entity != SchedEntity.none else {
            throw .ESRCH
        }
        return task
    }

    /// Linux: sched_setscheduler(pid, policy, &param)
    static func setScheduler(_ a: SyscallArgs) throws(Errno) -> Int {
        let policyNumber = a.int(1) & ~0x4000_0000            // SCHED_RESET_ON_FORK is accepted and ignored
        guard let policy = SchedPolicy(rawValue: Int32(policyNumber)) else { throw .EINVAL }
        guard a.u64(2) != 0 else { throw .EINVAL }
        let priority = Int(try UserCopy.read(Int32.self, at: a.address(2)))
        let task = try target(a.int(0))
        guard Scheduler.setScheduler(task, policy: policy, priority: priority) else { throw .EINVAL }
        return 0
    }

    /// Linux: sched_getscheduler()
    static func getScheduler(_ a: SyscallArgs) throws(Errno) -> Int {
        Int(Scheduler.entities[Int(try target(a.int(0)).entity)].policy.rawValue)
    }

    /// Linux: sched_setparam(): the priority for the task's current policy.
    static func setParam(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.u64(1) != 0 else { throw .EINVAL }
        let priority = Int(try UserCopy.read(Int32.self, at: a.address(1)))
        let task = try target(a.int(0))
        let policy = Scheduler.entities[Int(task.entity)].policy
        guard Scheduler.setScheduler(task, policy: policy, priority: priority) else { throw .EINVAL }
        return 0
    }

    /// Linux: sched_getparam(): RT priority for FIFO/RR, the weight for WRR, 0 otherwise.
    static func getParam(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.u64(1) != 0 else { throw .EINVAL }
        let e = Scheduler.entities[Int(try target(a.int(0)).entity)]
        let priority: Int32
        switch e.policy.schedClass {
        case .rt: priority = Int32(e.rtPriority.value)
        case .wrr: priority = Int32(e.weight.value)
        default: priority = 0
        }
        try UserCopy.write(priority, at: a.address(1))
        return 0
    }

    /// Linux: sched_get_priority_max() / _min(); WRR's range is its weights.
    static func priorityBound(_ a: SyscallArgs, max: Bool) throws(Errno) -> Int {
        guard let policy = SchedPolicy(rawValue: Int32(a.int(0))) else { throw .EINVAL }
        switch policy.schedClass {
        case .rt: return max ? RTPriority.max.value : RTPriority.min.value
        case .wrr: return max ? WRRWeight.max.value : WRRWeight.min.value
        default: return 0
        }
    }

    /// Linux: sched_rr_get_interval(): the slice a task gets (weight x 10 ms for WRR).
    static func rrGetInterval(_ a: SyscallArgs) throws(Errno) -> Int {
        let e = Scheduler.entities[Int(try target(a.int(0)).entity)]
        let tunables = Scheduler.runQueues[0].tunables
        let ms: Int
        switch e.policy {
        case .fifo: ms = 0
        default: ms = tunables.fullSlice(policy: e.policy, weight: e.weight) * tunables.tickMilliseconds
        }
        try MiscSyscalls.writeTimespec(UInt64(ms) * 1_000_000, at: a.address(1))
        return 0
    }

    /// Linux: sched_setaffinity(pid, len, mask)
    static func setAffinity(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.size(1) >= 8 else { throw .EINVAL }
        let mask = try UserCopy.read(UInt64.self, at: a.address(2)) & Scheduler.onlineMask
        guard mask != 0 else { throw .EINVAL }
        Scheduler.setAffinity(try target(a.int(0)), CPUMask(rawValue: mask))
        return 0
    }

    /// Linux: sched_getaffinity(); returns the bytes written (8).
    static func getAffinity(_ a: SyscallArgs) throws(Errno) -> Int {
        guard a.size(1) >= 8, a.size(1) & 7 == 0 else { throw .EINVAL }
        let e = Scheduler.entities[Int(try target(a.int(0)).entity)]
        try UserCopy.write(e.allowedCPUs.rawValue & Scheduler.onlineMask, at: a.address(2))
        return 8
    }

    /// Keel: sched_setweight(pid, weight), 1…20; EINVAL for other weights or a non-WRR task.
    static func setWeight(_ a: SyscallArgs) throws(Errno) -> Int {
        guard let weight = WRRWeight(a.int(1)) else { throw .EINVAL }
        let task = try target(a.int(0))
        guard Scheduler.entities[Int(task.entity)].policy == .wrr else { throw .EINVAL }
        Scheduler.setWeight(task, weight)
        return 0
    }

    /// Keel: sched_getweight(pid)
    static func getWeight(_ a: SyscallArgs) throws(Errno) -> Int {
        let e = Scheduler.entities[Int(try target(a.int(0)).entity)]
        guard e.policy == .wrr else { throw .EINVAL }
        return e.weight.value
    }
}
