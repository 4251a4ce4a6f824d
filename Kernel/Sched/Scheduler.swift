// The scheduler: per-CPU run queues from Kernel/Core/Sched (RT > WRR > NORMAL >
// idle), a table from scheduling entities to tasks, placement of new and woken
// tasks on the CPU with the least WRR weight, periodic balancing, and the
// context switch.
//
// Keel's kernel is not preemptible (Linux: CONFIG_PREEMPT_NONE): the timer only
// sets need_resched while kernel code runs, and the switch happens on the way
// back to user mode or when kernel code blocks. So kernel code never loses the
// CPU in the middle of updating a data structure. The run queues are shared with
// the timer interrupt and other CPUs, so every access holds `lock` (which also
// disables interrupts). Linux: kernel/sched/core.c (schedule, scheduler_tick,
// wake_up_process, select_task_rq, load_balance)

enum Scheduler {
    /// Most tasks (threads, zombies included) at once, from the memory size as
    /// Linux computes it: one task per 8 kernel stacks' worth of RAM, at least 20,
    /// at most pid_max. fork and clone give EAGAIN beyond it. Linux: max_threads
    /// (/proc/sys/kernel/threads-max), set by set_max_threads()
    nonisolated(unsafe) private(set) static var maxTasks = 0

    static func threadsMax(managedPages: Int) -> Int {
        let stackPages = KernelStack.size / Int(pageSize)
        return min(max(managedPages / (8 * stackPages), 20), Int(Task.maxPID))
    }
    /// Ticks between two periodic balancing passes (100 ms). Linux: the sched domain's balance interval
    static let balanceInterval = 10
    /// The tick and slice lengths of every run queue. Linux: HZ and the slice sysctls
    static let tunables = SchedTunables()

    /// Scheduler ticks as clock ticks (1/100 s), what times() and /proc/<pid>/stat
    /// count in. Linux: jiffies_to_clock_t()
    static func clockTicks(_ ticks: Int) -> Int {
        ProcTaskInfo.clockTicks(ticks: ticks, tickMilliseconds: tunables.tickMilliseconds)
    }

    nonisolated(unsafe) static var entities = UnsafeMutableBufferPointer<SchedEntity>(start: nil, count: 0)
    nonisolated(unsafe) private static var tasks: [Task?] = []
    nonisolated(unsafe) private static var freeEntities: [EntityIndex] = []
    nonisolated(unsafe) static var runQueues: [RunQueue] = []
    /// Per CPU: the running task, the idle task, and "switch at the next chance".
    nonisolated(unsafe) private static var running: [Task] = []
    nonisolated(unsafe) private static var idleTasks: [Task] = []
    nonisolated(unsafe) static var needResched: [Bool] = []
    nonisolated(unsafe) private static var ticks = 0
    /// The runnable tasks averaged over 1, 5 and 15 minutes, sampled by CPU 0's
    /// tick. Protected by `lock`. Linux: avenrun
    nonisolated(unsafe) private static var loadAverage = LoadAverage(ticksPerSecond: UInt64(HZ))
    /// Tasks that exited, kept until their kernel stack is no longer in use.
    nonisolated(unsafe) private static var exited: [Task] = []
    /// Guards everything above, and `sleepers`. Lock order: after every lock of
    /// a system call or fault, before CrossCall's slot (Kernel/Arch/x86_64/SpinLock.swift).
    static let lock = SchedulerLock()

    /// The boot CPU's boot context becomes its idle task. Linux: sched_init(), init_idle()
    static func initialize(idle: Task) {
        maxTasks = threadsMax(managedPages: PageAllocator.managedPages)
        entities = .allocate(capacity: maxTasks)
        tasks = [Task?](repeating: nil, count: maxTasks)
        freeEntities = (0..<EntityIndex(maxTasks)).reversed().map { $0 }
        // Code under the scheduler lock (the tick, the switch) must not allocate:
        // these lists never grow past what is reserved here.
        exited.reserveCapacity(maxTasks)
        sleepers.reserveCapacity(maxTasks)
        runQueues.reserveCapacity(SMP.maxCPUs)
        running.reserveCapacity(SMP.maxCPUs)
        idleTasks.reserveCapacity(SMP.maxCPUs)
        needResched.reserveCapacity(SMP.maxCPUs)
        CPUKick.send = { cpu in LocalAPIC.sendIPI(to: SMP.apicID(of: cpu), IPICommand.fixed(CPUKick.vector)) }
        addCPU(0, idle: idle)
    }

    /// A CPU joins: its run queue and idle task. Linux: sched_cpu_activate()
    static func addCPU(_ cpu: Int, idle: Task) {
        let irq = lock.lock()
        precondition(cpu == runQueues.count, "CPUs join in order")
        runQueues.append(RunQueue(cpu: cpu, tunables: tunables))
        running.append(idle)
        idleTasks.append(idle)
        needResched.append(false)
        lock.unlock(irq)
    }

    /// An application processor's last step of bring-up: join the scheduler and
    /// idle until there is work. Linux: start_secondary() → cpu_startup_entry()
    static func secondaryCPUStarted(cpu: Int, idle: Task) -> Never {
        addCPU(cpu, idle: idle)
        LocalAPIC.startTimer()
        idleLoop()
    }

    static var cpuCount: Int { runQueues.count }
    static var onlineMask: UInt64 { cpuCount >= 64 ? .max : (1 << UInt64(cpuCount)) - 1 }

    /// Linux: current
    static var current: Task { running[PerCPU.cpu] }

    /// The CPU runs its idle context (the boot code, a test hook), which
    /// cannot sleep: there is nothing to switch to that would come back.
    /// Linux: is_idle_task(current)
    static var inIdleTask: Bool { current === idleTasks[PerCPU.cpu] }

    // MARK: admitting, waking, sleeping

    /// Gives a new task a scheduling entity (a copy of `template`: policy and weight
    /// inherited, a fresh slice) and puts it on the lightest CPU.
    /// Linux: sched_fork() + wake_up_new_task()
    static func admit(_ task: Task, like template: SchedEntity) {
        let irq = lock.lock()
        guard reservedEntities > 0, let index = freeEntities.popLast() else {
            Panic.now("scheduler: admitted without reserveEntity()")
        }
        reservedEntities -= 1
        entities[Int(index)] = template.forked(pid: task.pid, tgid: task.tgid)
        tasks[Int(index)] = task
        task.entity = index
        task.state = .runnable
        place(index)
        lock.unlock(irq)
    }

    /// Entities promised to forks in progress (protected by `lock`).
    nonisolated(unsafe) private static var reservedEntities = 0

    /// Sets a scheduling entity aside for a task about to be created, if one
    /// is free and the task would be within threads-max; fork calls it first
    /// (EAGAIN otherwise), so that `admit` cannot fail even with forks on
    /// several CPUs at once. `cancelReservation` undoes it for a fork that fails.
    /// Linux: copy_process()'s nr_threads >= max_threads check
    static func reserveEntity() -> Bool {
        let tasks = Task.count      // before the scheduler lock (lock order); threads-max is a soft limit, as in Linux
        let irq = lock.lock()
        defer { lock.unlock(irq) }
        guard freeEntities.count > reservedEntities && tasks + reservedEntities < maxTasks else { return false }
        reservedEntities += 1
        return true
    }

    static func cancelReservation() {
        let irq = lock.lock()
        reservedEntities -= 1
        lock.unlock(irq)
    }

    /// The scheduling entity init starts from: WRR, weight 10, every CPU. Linux: init_task
    static var defaultEntity: SchedEntity { SchedEntity(pid: 0, tgid: 0) }

    /// Enqueues on the CPU placement picks and pokes that CPU. Lock held.
    private static func place(_ index: EntityIndex) {
        let cpu = runQueues.selectCPU(for: index, in: entities, nodeOf: NUMA.node(ofCPU:)) ?? 0
        Trace.schedMigrate(tasks[Int(index)], from: entities[Int(index)].cpu, to: cpu)
        runQueues[cpu].enqueue(index, in: &entities)
        if runQueues[cpu].current == nil || runQueues[cpu].shouldPreempt(by: index, in: entities) {
            needResched[cpu] = true
            if cpu != PerCPU.cpu { CPUKick.reschedule(cpu) }
        }
    }

    /// Removes a task that will never run again.
    static func retire(_ task: Task) {
        let irq = lock.lock()
        if task.entity != SchedEntity.none {
            let e = entities[Int(task.entity)]
            if e.onRunQueue { runQueues[e.cpu].dequeue(task.entity, in: &entities) }
            tasks[Int(task.entity)] = nil
            freeEntities.append(task.entity)
            task.entity = SchedEntity.none
        }
        lock.unlock(irq)
    }

    /// The first half of a sleep that cannot miss its wake-up: from here on a
    /// `wake` makes the task runnable again, even before it has switched away.
    /// The caller then looks at its condition one last time (under the lock its
    /// waker takes) and calls `sleepPrepared`, or `cancelSleep` if the condition
    /// already holds. A waker that comes between that last look and the switch
    /// finds the task sleeping and sets it runnable, and `sleepPrepared` returns
    /// at once. Linux: set_current_state(TASK_INTERRUPTIBLE), before the check
    ///
    /// With a `deadline` (CLOCK_MONOTONIC, ns), the tick wakes the task then if
    /// nothing else did: the timer is armed here, under the scheduler lock.
    static func prepareToSleep(until deadline: UInt64? = nil) {
        let irq = lock.lock()
        let task = current
        if task.state == .runnable {
            task.state = .sleeping
            if let deadline { sleepers.append((deadline, task)) }
        }
        lock.unlock(irq)
    }

    /// The second half: switches away unless a wake-up came since `prepareToSleep`.
    /// Linux: schedule() with current->state != TASK_RUNNING
    static func sleepPrepared() {
        Lockdep.mightSleep()
        let irq = lock.lock()
        if current.state == .sleeping {
            dequeueSleeper()
            switchToNext()
        }
        lock.unlock(irq)
    }

    /// The condition held after `prepareToSleep`: stay runnable.
    /// Linux: __set_current_state(TASK_RUNNING) in finish_wait()
    static func cancelSleep() {
        let irq = lock.lock()
        let task = current
        if task.state == .sleeping {
            task.state = .runnable
            sleepers.removeAll { $0.task === task }
        }
        lock.unlock(irq)
    }

    /// One round of "sleep until `done` holds, a wake-up, or `deadline`": the
    /// two steps around one look at the condition. `done` is read after the
    /// task is marked sleeping, and every waker changes what it reads before it
    /// wakes the task, so no wake-up is lost. Returns whether `done` held
    /// (the caller loops, and checks signals and the clock in `done` too).
    /// Linux: one pass of wait_event_interruptible_timeout()'s loop
    @discardableResult
    static func sleep(until deadline: UInt64? = nil, unless done: () -> Bool) -> Bool {
        prepareToSleep(until: deadline)
        if done() {
            cancelSleep()
            return true
        }
        sleepPrepared()
        return false
    }

    /// Tasks waiting for a time, checked by every tick. Linux: hrtimers (here at
    /// tick resolution, in an unsorted list of reserved capacity)
    nonisolated(unsafe) private static var sleepers: [(deadline: UInt64, task: Task)] = []

    /// The current task, marked sleeping, leaves its run queue. Lock held.
    private static func dequeueSleeper() {
        let task = current
        let e = entities[Int(task.entity)]
        if e.onRunQueue { runQueues[e.cpu].dequeue(task.entity, in: &entities) }
    }

    /// From the tick, lock held: wakes the sleepers whose time has come.
    private static func expireTimers() {
        guard !sleepers.isEmpty else { return }
        let now = Clock.monotonicNanoseconds
        var i = 0
        while i < sleepers.count {
            if sleepers[i].deadline <= now {
                let task = sleepers[i].task
                sleepers.swapAt(i, sleepers.count - 1)
                sleepers.removeLast()
                wakeLocked(task)
            } else {
                i += 1
            }
        }
    }

    /// Linux: wake_up_process() → try_to_wake_up() → select_task_rq()
    static func wake(_ task: Task) {
        let irq = lock.lock()
        wakeLocked(task)
        lock.unlock(irq)
    }

    /// A task that prepared to sleep but has not switched away yet is still on
    /// its run queue: it only becomes runnable again, and its `sleepPrepared`
    /// returns without switching. One that has left the queue is placed anew.
    private static func wakeLocked(_ task: Task) {
        guard task.state == .sleeping && task.entity != SchedEntity.none else { return }
        task.state = .runnable
        sleepers.removeAll { $0.task === task }
        if !entities[Int(task.entity)].onRunQueue { place(task.entity) }
        Trace.schedWakeup(task)
    }

    /// sched_yield(): to the back of the queue. Linux: do_sched_yield()
    static func yield() {
        let irq = lock.lock()
        let cpu = PerCPU.cpu
        if current.entity != SchedEntity.none { runQueues[cpu].yield(in: &entities) }
        switchToNext()
        lock.unlock(irq)
    }

    /// The current task stops for good (exit): switch away and never come back.
    /// Its kernel stack is in use until the switch, so the task is kept on a list
    /// and released by whichever task runs next. Linux: finish_task_switch()
    ///
    /// No strong reference to the task may stay in this frame: it never returns,
    /// so the reference would never be released. The work happens in a helper.
    static func exitCurrent() -> Never {
        retireCurrent()
        _ = lock.lock()
        switchToNext()
        Panic.now("a task that exited was scheduled again")
    }

    @inline(never)
    private static func retireCurrent() {
        let task = current
        retire(task)
        let irq = lock.lock()
        exited.append(task)
        lock.unlock(irq)
    }

    // MARK: attributes

    /// A consistent look at every run queue (for /proc/sched_wrr).
    /// The load averages as sysinfo(2) gives them (16 fraction bits). Linux: get_avenrun()
    static var loadAverages: [UInt64] {
        let irq = lock.lock()
        let snapshot = loadAverage
        lock.unlock(irq)
        return snapshot.sysinfoLoads
    }

    static func withRunQueues(_ body: ([RunQueue], UnsafeMutableBufferPointer<SchedEntity>) -> Void) {
        let irq = lock.lock()
        body(runQueues, entities)
        lock.unlock(irq)
    }

    /// A copy of a task's scheduling entity, nil once it has exited.
    static func entity(of task: Task) -> SchedEntity? {
        task.entity == SchedEntity.none ? nil : entities[Int(task.entity)]
    }

    /// Linux: __sched_setscheduler(); false for an invalid priority.
    static func setScheduler(_ task: Task, policy: SchedPolicy, priority: Int) -> Bool {
        let irq = lock.lock()
        let e = entities[Int(task.entity)]
        let ok = runQueues[e.cpu].setScheduler(task.entity, policy: policy, priority: priority, in: &entities)
        if ok { needResched[e.cpu] = true }
        lock.unlock(irq)
        return ok
    }

    /// Keel: sched_setweight(); the new weight sizes the next slice.
    static func setWeight(_ task: Task, _ weight: WRRWeight) {
        let irq = lock.lock()
        let e = entities[Int(task.entity)]
        runQueues[e.cpu].setWeight(task.entity, to: weight, in: &entities)
        lock.unlock(irq)
    }

    /// Linux: set_cpus_allowed_ptr(): a queued task on a CPU it may no longer use moves.
    static func setAffinity(_ task: Task, _ mask: CPUMask) {
        let irq = lock.lock()
        entities[Int(task.entity)].allowedCPUs = mask
        let e = entities[Int(task.entity)]
        if e.onRunQueue && !mask.contains(cpu: e.cpu) {
            if runQueues[e.cpu].current == task.entity {
                needResched[e.cpu] = true        // moved when it next switches out
            } else {
                runQueues[e.cpu].dequeue(task.entity, in: &entities)
                place(task.entity)
            }
        }
        lock.unlock(irq)
    }

    // MARK: the tick and the switch

    /// The timer tick on this CPU. Linux: scheduler_tick() + trigger_load_balance()
    /// Returns whether to switch now (the tick interrupted user code that used up
    /// its slice): the caller does, after leaving interrupt context.
    static func tick(fromUserMode: Bool) -> Bool {
        let irq = lock.lock()
        let cpu = PerCPU.cpu
        let task = running[cpu]
        if task !== idleTasks[cpu] {      // Linux: account_process_tick() (tick-sampled, no VIRT_CPU_ACCOUNTING)
            task.chargeTick(userMode: fromUserMode)
        }
        expireTimers()
        if runQueues[cpu].current != nil && runQueues[cpu].tick(in: &entities) { needResched[cpu] = true }
        if current === idleTasks[cpu] && runQueues[cpu].nrRunning > 0 { needResched[cpu] = true }
        if cpu == 0 {
            ticks += 1
            var runnable = 0
            for queue in runQueues { runnable += queue.nrRunning }
            loadAverage.tick(UInt64(ticks), active: runnable)
            if ticks % balanceInterval == 0, let move = runQueues.balance(in: entities, nodeOf: NUMA.node(ofCPU:)) {
                Trace.schedMigrate(tasks[Int(move.entity)], from: move.from, to: move.to)
                runQueues.migrate(move, in: &entities)
                if runQueues[move.to].current == nil { needResched[move.to] = true; CPUKick.reschedule(move.to) }
            }
        }
        let switchNow = fromUserMode && needResched[cpu]
        lock.unlock(irq)
        return switchNow
    }

    /// Switch if the tick or a wake-up asked for it. Linux: schedule() on return to user
    /// Gives the CPU away if the scheduler asked for it: long loops in the kernel
    /// call this, since the kernel is not preemptible. Linux: cond_resched()
    static func condResched() {
        if needResched[PerCPU.cpu] { schedule() }
    }

    static func schedule() {
        let irq = lock.lock()
        switchToNext()
        lock.unlock(irq)
    }

    /// Picks the next task on this CPU and switches to it. Lock held.
    private static func switchToNext() {
        // Only raw values cross switch_to: an exiting task never comes back to
        // release references held in this frame.
        guard let (previousSlot, nextSP) = prepareSwitch() else { return }
        CPU.switchStacks(saveTo: previousSlot, next: nextSP)
    }

    /// Decides the next task and installs it as current; nil if it is the same one.
    @inline(never)
    private static func prepareSwitch() -> (UnsafeMutablePointer<UInt64>, UInt64)? {
        let cpu = PerCPU.cpu
        let preempted = needResched[cpu]
        needResched[cpu] = false
        let previous = current
        if previous.entity != SchedEntity.none {
            let e = entities[Int(previous.entity)]
            if e.onRunQueue && !e.allowedCPUs.contains(cpu: cpu) {
                runQueues[cpu].dequeue(previous.entity, in: &entities)
                place(previous.entity)
            }
        }
        var pick = runQueues[cpu].pickNext()
        if pick == nil, let pull = runQueues.idlePull(cpu: cpu, in: entities, nodeOf: NUMA.node(ofCPU:)) {   // Linux: newidle_balance()
            Trace.schedMigrate(tasks[Int(pull.entity)], from: pull.from, to: pull.to)
            runQueues.migrate(pull, in: &entities)
            pick = runQueues[cpu].pickNext()
        }
        let next = pick.flatMap { tasks[Int($0)] } ?? idleTasks[cpu]
        guard next !== previous else { return nil }
        Trace.schedSwitch(from: previous, to: next, preempted: preempted)
        // The user FPU state goes with the task (Linux: switch_fpu_prepare/finish).
        TaskStack.completeUserFPUState(previous)
        TaskStack.loadUserFPUState(next)
        running[cpu] = next
        Lockdep.switchTasks(saving: &previous.heldSleepingLocks, restoring: &next.heldSleepingLocks)
        PerCPU.setKernelStack(next.kernelStack.top)
        if next.mm !== previous.mm {
            previous.mm?.deactivate(on: cpu)
            // A kernel thread (idle) runs on the kernel's own tables, so no CPU
            // keeps an address space loaded that another CPU might free.
            // (Linux keeps the old one, "lazy TLB", and pins it with mmgrab().)
            if let mm = next.mm {
                mm.activate(on: cpu)
                MMU.load(mm.pageTable.root)
            } else {
                MMU.load(KernelPageTable.root)
            }
        }
        CPU.setFSBase(next.fsBase)
        return (previous.savedSP, next.savedSP.pointee)
    }

    /// Drops the scheduler's reference to tasks that exited and run nowhere any
    /// more (their kernel stacks are free to go once release_task has run too).
    /// Called on system-call entry, where memory may be freed.
    /// Linux: put_task_struct() from finish_task_switch()
    static func reapExited() {
        // A racy peek is enough to skip the common case: a task that exits now is
        // reaped by the next call.
        if exited.isEmpty { return }
        while let task = takeFinished() { task.put() }      // outside the scheduler lock: it frees memory
    }

    /// Removes one exited task that runs on no CPU from `exited` (one at a time:
    /// nothing is allocated with interrupts off).
    private static func takeFinished() -> Task? {
        let irq = lock.lock()
        defer { lock.unlock(irq) }
        guard let i = exited.firstIndex(where: { task in !running.contains { $0 === task } }) else { return nil }
        exited.swapAt(i, exited.count - 1)
        return exited.removeLast()
    }

    /// A new task's first instructions, before it returns to user mode through
    /// isr_exit: the lock its creator's switch_to held is released here.
    /// Linux: schedule_tail()
    static func scheduleTail() {
        lock.unlock(false)
    }

    /// Runs on each CPU's boot context once everything is set up. An idle CPU
    /// also feeds typed input to the terminal (Keel's stand-in for the
    /// kernel worker thread that does it in Linux) and sends the SIGALRMs that
    /// are due. Linux: do_idle()
    static func idleLoop() -> Never {
        let cpu = PerCPU.cpu
        while true {
            CPU.idle()
            ConsoleDevice.runReceiveWork()
            AlarmTimers.runExpired()
            if needResched[cpu] { schedule() }
        }
    }
}

/// Telling another CPU to look at its run queue. Single-CPU builds never need it;
/// with SMP it is a reschedule IPI. Linux: smp_send_reschedule()
@_cdecl("keel_schedule_tail")
func keelScheduleTail() { Scheduler.scheduleTail() }

enum CPUKick {
    /// The reschedule IPI's vector. Linux: RESCHEDULE_VECTOR (0xfd)
    static let vector: UInt8 = 0xfd
    nonisolated(unsafe) static var send: ((Int) -> Void)? = nil
    static func reschedule(_ cpu: Int) { send?(cpu) }
}
