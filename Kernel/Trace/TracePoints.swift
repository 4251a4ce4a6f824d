// The trace points: one call at each place an event happens. Each is inlined
// into its caller and is, while its event is off, one load of
// `Trace.enabledMask`, a test of a constant bit and a branch not taken; the
// work is in a `record…` function that is never inlined. The fields each
// writes are those of the event's `format` (Kernel/Core/Trace/TraceEvent.swift).
// Linux: the trace_<event>() calls (include/trace/events/*.h)

extension Trace {
    // MARK: exceptions

    /// At the start of every page fault. Linux: trace_page_fault_user() /
    /// trace_page_fault_kernel() in handle_page_fault()
    @inline(__always)
    static func pageFault(fromUser: Bool, address: UInt64, ip: UInt64, errorCode: UInt64) {
        if _slowPath(enabledMask & (TraceEvent.pageFaultUser.bit | TraceEvent.pageFaultKernel.bit) != 0) {
            recordPageFault(fromUser ? .pageFaultUser : .pageFaultKernel, address: address, ip: ip, errorCode: errorCode)
        }
    }

    @inline(never)
    static func recordPageFault(_ event: TraceEvent, address: UInt64, ip: UInt64, errorCode: UInt64) {
        guard enabledMask & event.bit != 0 else { return }
        record(event) { entry in
            entry.storeBytes(of: address, toByteOffset: 8, as: UInt64.self)
            entry.storeBytes(of: ip, toByteOffset: 16, as: UInt64.self)
            entry.storeBytes(of: errorCode, toByteOffset: 24, as: UInt64.self)
        }
    }

    /// After a user-address fault was handled: how. Keel: keel:fault_resolved
    @inline(__always)
    static func faultResolved(address: UInt64, ip: UInt64, errorCode: UInt64, how: FaultHow) {
        if isOn(.faultResolved) { recordFaultResolved(address: address, ip: ip, errorCode: errorCode, how: how) }
    }

    @inline(never)
    static func recordFaultResolved(address: UInt64, ip: UInt64, errorCode: UInt64, how: FaultHow) {
        record(.faultResolved) { entry in
            entry.storeBytes(of: address, toByteOffset: 8, as: UInt64.self)
            entry.storeBytes(of: ip, toByteOffset: 16, as: UInt64.self)
            entry.storeBytes(of: errorCode, toByteOffset: 24, as: UInt64.self)
            entry.storeBytes(of: how.rawValue, toByteOffset: 32, as: UInt32.self)
        }
    }

    // MARK: kmem

    /// Linux: trace_mm_page_alloc() in __alloc_pages() (pfn -1 when it failed)
    @inline(__always)
    static func pageAlloc(_ block: PhysAddr?, order: Int, flags: GFP) {
        if isOn(.mmPageAlloc) { recordPageAlloc(block, order: order, flags: flags) }
    }

    @inline(never)
    static func recordPageAlloc(_ block: PhysAddr?, order: Int, flags: GFP) {
        let gfp = LinuxGFP.bits(of: flags)
        let pfn = block?.pfn ?? UInt64.max
        record(.mmPageAlloc) { entry in
            entry.storeBytes(of: pfn, toByteOffset: 8, as: UInt64.self)
            entry.storeBytes(of: UInt32(order), toByteOffset: 16, as: UInt32.self)
            entry.storeBytes(of: gfp, toByteOffset: 24, as: UInt64.self)
            entry.storeBytes(of: Int32(0), toByteOffset: 32, as: Int32.self)      // MIGRATE_UNMOVABLE: Keel has no mobility types
        }
    }

    /// Linux: trace_mm_page_free() in free_pages_prepare()
    @inline(__always)
    static func pageFree(_ block: PhysAddr, order: Int) {
        if isOn(.mmPageFree) { recordPageFree(block, order: order) }
    }

    @inline(never)
    static func recordPageFree(_ block: PhysAddr, order: Int) {
        record(.mmPageFree) { entry in
            entry.storeBytes(of: block.pfn, toByteOffset: 8, as: UInt64.self)
            entry.storeBytes(of: UInt32(order), toByteOffset: 16, as: UInt32.self)
        }
    }

    /// Linux: trace_kmalloc() in __kmalloc()
    @inline(__always)
    static func kmalloc(_ object: UnsafeMutableRawPointer?, requested: Int, allocated: @autoclosure () -> Int) {
        if isOn(.kmalloc) { recordKmalloc(object, requested: requested, allocated: allocated(), callSite: callSite()) }
    }

    @inline(never)
    static func recordKmalloc(_ object: UnsafeMutableRawPointer?, requested: Int, allocated: Int, callSite: UInt64) {
        record(.kmalloc) { entry in
            entry.storeBytes(of: callSite, toByteOffset: 8, as: UInt64.self)
            entry.storeBytes(of: UInt64(UInt(bitPattern: object)), toByteOffset: 16, as: UInt64.self)
            entry.storeBytes(of: UInt64(requested), toByteOffset: 24, as: UInt64.self)
            entry.storeBytes(of: UInt64(allocated), toByteOffset: 32, as: UInt64.self)
            entry.storeBytes(of: LinuxGFP.kernel, toByteOffset: 40, as: UInt64.self)
            entry.storeBytes(of: Int32(-1), toByteOffset: 48, as: Int32.self)     // NUMA_NO_NODE
        }
    }

    /// Linux: trace_kfree() in kfree()
    @inline(__always)
    static func kfree(_ object: UnsafeMutableRawPointer) {
        if isOn(.kfree) { recordKfree(object, callSite: callSite()) }
    }

    @inline(never)
    static func recordKfree(_ object: UnsafeMutableRawPointer, callSite: UInt64) {
        record(.kfree) { entry in
            entry.storeBytes(of: callSite, toByteOffset: 8, as: UInt64.self)
            entry.storeBytes(of: UInt64(UInt(bitPattern: object)), toByteOffset: 16, as: UInt64.self)
        }
    }

    /// The return address of the function this is inlined into (Slab.kmalloc,
    /// Slab.kfree, never inlined themselves): their caller. Linux: _RET_IP_
    @inline(__always)
    private static func callSite() -> UInt64 {
        UnsafePointer<UInt64>(bitPattern: UInt(CPU.framePointer))?[1] ?? 0
    }

    // MARK: sched

    /// Linux's prio of a task: 120 for a normal (or WRR) task, 99 - rt_priority
    /// for a real-time one. Linux: task->prio
    static func prio(of entity: SchedEntity?) -> Int32 {
        guard let entity, entity.policy.schedClass == .rt else { return 120 }
        return 99 - Int32(entity.rtPriority.value)
    }

    /// Linux: trace_sched_switch() in __schedule(); `preempted` gives "R+".
    /// Scheduler lock held (the entities are read under it).
    @inline(__always)
    static func schedSwitch(from previous: Task, to next: Task, preempted: Bool) {
        if isOn(.schedSwitch) { recordSchedSwitch(previous, next, preempted: preempted) }
    }

    @inline(never)
    static func recordSchedSwitch(_ previous: Task, _ next: Task, preempted: Bool) {
        let state: Int64
        switch previous.state {
        case .runnable: state = preempted ? 0x100 : 0
        case .sleeping: state = 0x01
        case .zombie: state = 0x20
        }
        let previousPrio = prio(of: Scheduler.entity(of: previous)), nextPrio = prio(of: Scheduler.entity(of: next))
        record(.schedSwitch) { entry in
            copyName(previous.name, to: entry + 8)
            entry.storeBytes(of: previous.pid, toByteOffset: 24, as: Int32.self)
            entry.storeBytes(of: previousPrio, toByteOffset: 28, as: Int32.self)
            entry.storeBytes(of: state, toByteOffset: 32, as: Int64.self)
            copyName(next.name, to: entry + 40)
            entry.storeBytes(of: next.pid, toByteOffset: 56, as: Int32.self)
            entry.storeBytes(of: nextPrio, toByteOffset: 60, as: Int32.self)
        }
    }

    /// Linux: trace_sched_wakeup() in ttwu_do_wakeup(). Scheduler lock held.
    @inline(__always)
    static func schedWakeup(_ task: Task) {
        if isOn(.schedWakeup) { recordSchedWakeup(task) }
    }

    @inline(never)
    static func recordSchedWakeup(_ task: Task) {
        let entity = Scheduler.entity(of: task)
        record(.schedWakeup) { entry in
            copyName(task.name, to: entry + 8)
            entry.storeBytes(of: task.pid, toByteOffset: 24, as: Int32.self)
            entry.storeBytes(of: prio(of: entity), toByteOffset: 28, as: Int32.self)
            entry.storeBytes(of: Int32(entity?.cpu ?? 0), toByteOffset: 32, as: Int32.self)
        }
    }

    /// Linux: trace_sched_migrate_task() in set_task_cpu(). Scheduler lock held.
    /// (Placing a task on the CPU it was on is no migration: nothing is recorded.)
    @inline(__always)
    static func schedMigrate(_ task: @autoclosure () -> Task?, from: @autoclosure () -> Int, to: Int) {
        if isOn(.schedMigrateTask), let task = task(), from() != to { recordSchedMigrate(task, from: from(), to: to) }
    }

    @inline(never)
    static func recordSchedMigrate(_ task: Task, from: Int, to: Int) {
        let prio = prio(of: Scheduler.entity(of: task))
        record(.schedMigrateTask) { entry in
            // __data_loc: the comm's offset in the entry in the low half, its length (NUL included) in the high.
            let commOffset = 28
            copyName(task.name, to: entry + commOffset)
            var length = 0
            while entry.load(fromByteOffset: commOffset + length, as: UInt8.self) != 0 { length += 1 }
            entry.storeBytes(of: UInt32(commOffset) | UInt32(length + 1) << 16, toByteOffset: 8, as: UInt32.self)
            entry.storeBytes(of: task.pid, toByteOffset: 12, as: Int32.self)
            entry.storeBytes(of: prio, toByteOffset: 16, as: Int32.self)
            entry.storeBytes(of: Int32(from), toByteOffset: 20, as: Int32.self)
            entry.storeBytes(of: Int32(to), toByteOffset: 24, as: Int32.self)
        }
    }

    // MARK: raw_syscalls

    /// Linux: trace_sys_enter() in syscall_trace_enter()
    @inline(__always)
    static func sysEnter(_ args: SyscallArgs) {
        if isOn(.sysEnter) { recordSysEnter(args) }
    }

    @inline(never)
    static func recordSysEnter(_ args: SyscallArgs) {
        record(.sysEnter) { entry in
            entry.storeBytes(of: Int64(args.number), toByteOffset: 8, as: Int64.self)
            for i in 0..<6 { entry.storeBytes(of: args.u64(i), toByteOffset: 16 + 8 * i, as: UInt64.self) }
        }
    }

    /// Linux: trace_sys_exit() in syscall_exit_work()
    @inline(__always)
    static func sysExit(_ number: Int, result: Int64) {
        if isOn(.sysExit) { recordSysExit(number, result: result) }
    }

    @inline(never)
    static func recordSysExit(_ number: Int, result: Int64) {
        record(.sysExit) { entry in
            entry.storeBytes(of: Int64(number), toByteOffset: 8, as: Int64.self)
            entry.storeBytes(of: result, toByteOffset: 16, as: Int64.self)
        }
    }

    // MARK: vmscan
    // Each record names its node (nid); kswapd balances all of a node's
    // zones together, so zid is ZONE_NORMAL's, the highest zone.

    /// kswapd goes to sleep (its zones are balanced at the high watermark).
    /// Linux: trace_mm_vmscan_kswapd_sleep() in kswapd_try_to_sleep()
    @inline(__always)
    static func vmscanKswapdSleep(node: Int) {
        if isOn(.vmscanKswapdSleep) { recordVmscanKswapdSleep(node: node) }
    }

    @inline(never)
    static func recordVmscanKswapdSleep(node: Int) {
        record(.vmscanKswapdSleep) { entry in
            entry.storeBytes(of: Int32(truncatingIfNeeded: node), toByteOffset: 8, as: Int32.self)
        }
    }

    /// kswapd wakes up to balance the zones for an allocation of `order`.
    /// Linux: trace_mm_vmscan_kswapd_wake() in kswapd()
    @inline(__always)
    static func vmscanKswapdWake(node: Int, order: Int) {
        if isOn(.vmscanKswapdWake) { recordVmscanKswapdWake(node: node, order: order) }
    }

    @inline(never)
    static func recordVmscanKswapdWake(node: Int, order: Int) {
        record(.vmscanKswapdWake) { entry in
            entry.storeBytes(of: Int32(truncatingIfNeeded: node), toByteOffset: 8, as: Int32.self)
            entry.storeBytes(of: Int32(ZoneType.normal.rawValue), toByteOffset: 12, as: Int32.self)
            entry.storeBytes(of: Int32(truncatingIfNeeded: order), toByteOffset: 16, as: Int32.self)
        }
    }

    /// An allocation of `order` found free memory below the low watermark and
    /// wakes kswapd. Kswapd.wake() is not told the allocation's flags: the
    /// record says GFP_KERNEL, what every Keel allocation may do.
    /// Linux: trace_mm_vmscan_wakeup_kswapd() in wakeup_kswapd()
    @inline(__always)
    static func vmscanWakeupKswapd(node: Int, order: Int) {
        if isOn(.vmscanWakeupKswapd) { recordVmscanWakeupKswapd(node: node, order: order) }
    }

    @inline(never)
    static func recordVmscanWakeupKswapd(node: Int, order: Int) {
        record(.vmscanWakeupKswapd) { entry in
            entry.storeBytes(of: Int32(truncatingIfNeeded: node), toByteOffset: 8, as: Int32.self)
            entry.storeBytes(of: Int32(ZoneType.normal.rawValue), toByteOffset: 12, as: Int32.self)
            entry.storeBytes(of: Int32(truncatingIfNeeded: order), toByteOffset: 16, as: Int32.self)
            entry.storeBytes(of: LinuxGFP.bits(of: .kernel), toByteOffset: 24, as: UInt64.self)
        }
    }

    /// An allocation of `order` that failed reclaims on its own (the record
    /// says GFP_KERNEL, as above). Linux: trace_mm_vmscan_direct_reclaim_begin()
    /// in try_to_free_pages()
    @inline(__always)
    static func vmscanDirectReclaimBegin(order: Int) {
        if isOn(.vmscanDirectReclaimBegin) { recordVmscanDirectReclaimBegin(order: order) }
    }

    @inline(never)
    static func recordVmscanDirectReclaimBegin(order: Int) {
        record(.vmscanDirectReclaimBegin) { entry in
            entry.storeBytes(of: Int32(truncatingIfNeeded: order), toByteOffset: 8, as: Int32.self)
            entry.storeBytes(of: LinuxGFP.bits(of: .kernel), toByteOffset: 16, as: UInt64.self)
        }
    }

    /// Direct reclaim is done, having freed `reclaimed` pages.
    /// Linux: trace_mm_vmscan_direct_reclaim_end() in try_to_free_pages()
    @inline(__always)
    static func vmscanDirectReclaimEnd(reclaimed: Int) {
        if isOn(.vmscanDirectReclaimEnd) { recordVmscanDirectReclaimEnd(reclaimed: reclaimed) }
    }

    @inline(never)
    static func recordVmscanDirectReclaimEnd(reclaimed: Int) {
        record(.vmscanDirectReclaimEnd) { entry in
            entry.storeBytes(of: UInt64(truncatingIfNeeded: reclaimed), toByteOffset: 8, as: UInt64.self)
        }
    }

    /// One pass of shrink_inactive_list over the `kind` list: `scanned`
    /// pages, and from `stats` what was freed and why the rest stayed (dirty,
    /// under writeback, moved to an active list, kept for its references,
    /// still mapped). Keel has no congestion and no immediate-reclaim
    /// writeback, so those two fields are 0 (Linux's nr_congested always is).
    /// Linux: trace_mm_vmscan_lru_shrink_inactive()
    @inline(__always)
    static func vmscanShrinkInactive(node: Int, scanned: Int, stats: Vmscan.ShrinkStats, priority: Int, kind: LRUListKind) {
        if isOn(.vmscanLRUShrinkInactive) {
            recordVmscanShrinkInactive(node: node, scanned: scanned, stats: stats, priority: priority, file: kind.isFile)
        }
    }

    @inline(never)
    static func recordVmscanShrinkInactive(node: Int, scanned: Int, stats: Vmscan.ShrinkStats, priority: Int, file: Bool) {
        record(.vmscanLRUShrinkInactive) { entry in
            // One store each, no array: nothing is allocated while the ring is held.
            func count(_ value: Int, at offset: Int) {
                entry.storeBytes(of: UInt64(truncatingIfNeeded: value), toByteOffset: offset, as: UInt64.self)
            }
            entry.storeBytes(of: Int32(truncatingIfNeeded: node), toByteOffset: 8, as: Int32.self)
            count(scanned, at: 16); count(stats.reclaimed, at: 24); count(stats.dirty, at: 32)
            count(stats.writeback, at: 40); count(0, at: 48); count(0, at: 56)
            count(stats.keptReferenced, at: 72); count(stats.unmapFailed, at: 80)
            entry.storeBytes(of: UInt32(truncatingIfNeeded: stats.activatedAnon), toByteOffset: 64, as: UInt32.self)
            entry.storeBytes(of: UInt32(truncatingIfNeeded: stats.activatedFile), toByteOffset: 68, as: UInt32.self)
            entry.storeBytes(of: Int32(truncatingIfNeeded: priority), toByteOffset: 88, as: Int32.self)
            entry.storeBytes(of: ReclaimFlags.shrinking(file: file), toByteOffset: 92, as: Int32.self)
        }
    }

    /// One pass of shrink_active_list over the `kind` list: `taken` pages off
    /// it, `deactivated` of them moved to the inactive list; the others were
    /// referenced program text and stay active (Linux's nr_active, and its
    /// nr_referenced, which counts exactly those).
    /// Linux: trace_mm_vmscan_lru_shrink_active()
    @inline(__always)
    static func vmscanShrinkActive(node: Int, taken: Int, deactivated: Int, kind: LRUListKind, priority: Int) {
        if isOn(.vmscanLRUShrinkActive) {
            recordVmscanShrinkActive(node: node, taken: taken, deactivated: deactivated, file: kind.isFile, priority: priority)
        }
    }

    @inline(never)
    static func recordVmscanShrinkActive(node: Int, taken: Int, deactivated: Int, file: Bool, priority: Int) {
        let kept = UInt64(truncatingIfNeeded: taken - deactivated)
        record(.vmscanLRUShrinkActive) { entry in
            entry.storeBytes(of: Int32(truncatingIfNeeded: node), toByteOffset: 8, as: Int32.self)
            entry.storeBytes(of: UInt64(truncatingIfNeeded: taken), toByteOffset: 16, as: UInt64.self)
            entry.storeBytes(of: kept, toByteOffset: 24, as: UInt64.self)
            entry.storeBytes(of: UInt64(truncatingIfNeeded: deactivated), toByteOffset: 32, as: UInt64.self)
            entry.storeBytes(of: kept, toByteOffset: 40, as: UInt64.self)
            entry.storeBytes(of: Int32(truncatingIfNeeded: priority), toByteOffset: 48, as: Int32.self)
            entry.storeBytes(of: ReclaimFlags.shrinking(file: file), toByteOffset: 52, as: Int32.self)
        }
    }
}
