// The scheduler: per-CPU run queues from Kernel/Core/Sched (RT > WRR > NORMAL >
// idle), a table from scheduling entities to tasks, and the context switch.
//
// Keel's kernel is not preemptible (Linux: CONFIG_PREEMPT_NONE): the timer only
// sets need_resched while kernel code runs, and the switch happens on the way
// back to user mode or when kernel code blocks. So kernel code never loses the
// CPU in the middle of updating a data structure, and interrupts need to be off
// only around the run queues, which the timer handler also touches.
// Linux: kernel/sched/core.c (schedule, scheduler_tick, wake_up_process)

enum Scheduler {
    static let maxTasks = 4096
    nonisolated(unsafe) static var entities = UnsafeMutableBufferPointer<SchedEntity>(start: nil, count: 0)
    nonisolated(unsafe) private static var tasks: [Task?] = []
    nonisolated(unsafe) private static var freeEntities: [EntityIndex] = []
    nonisolated(unsafe) static var runQueues: [RunQueue] = []
    /// Per CPU: the running task, the idle task, and "switch at the next chance".
    nonisolated(unsafe) private static var running: [Task] = []
    nonisolated(unsafe) private static var idleTasks: [Task] = []
    nonisolated(unsafe) static var needResched: [Bool] = []

    /// The boot context of each CPU becomes its idle task. Linux: sched_init(), init_idle()
    static func initialize(idle: Task) {
        entities = .allocate(capacity: maxTasks)
        tasks = [Task?](repeating: nil, count: maxTasks)
        freeEntities = (0..<EntityIndex(maxTasks)).reversed().map { $0 }
        runQueues = [RunQueue(cpu: 0)]
        running = [idle]
        idleTasks = [idle]
        needResched = [false]
    }

    /// Linux: current
    static var current: Task { running[PerCPU.cpu] }

    /// Gives a new task a scheduling entity (a copy of `template`, fresh slice)
    /// and puts it on a run queue. Linux: sched_fork() + wake_up_new_task()
    static func admit(_ task: Task, like template: SchedEntity) {
        let guardInterrupts = InterruptsDisabled()
        guard let index = freeEntities.popLast() else { Panic.now("scheduler: more than \(maxTasks) tasks") }
        entities[Int(index)] = template.forked(pid: task.pid, tgid: task.tgid)
        tasks[Int(index)] = task
        task.entity = index
        task.state = .runnable
        runQueues[0].enqueue(index, in: &entities)
        _ = guardInterrupts
    }

    /// The scheduling entity a new process starts from (init's). Linux: init_task
    static var defaultEntity: SchedEntity { SchedEntity(pid: 0, tgid: 0) }

    /// Removes a task that will never run again (it is a zombie or freed).
    static func retire(_ task: Task) {
        let guardInterrupts = InterruptsDisabled()
        if task.entity != SchedEntity.none {
            if entities[Int(task.entity)].onRunQueue { runQueues[0].dequeue(task.entity, in: &entities) }
            tasks[Int(task.entity)] = nil
            freeEntities.append(task.entity)
            task.entity = SchedEntity.none
        }
        _ = guardInterrupts
    }

    /// Puts the current task to sleep until `wake`. The caller re-checks its
    /// condition afterwards. Linux: set_current_state(TASK_INTERRUPTIBLE); schedule()
    static func sleep() {
        let guardInterrupts = InterruptsDisabled()
        let task = current
        task.state = .sleeping
        runQueues[0].dequeue(task.entity, in: &entities)
        switchToNext()
        _ = guardInterrupts
    }

    /// Linux: wake_up_process()
    static func wake(_ task: Task) {
        let guardInterrupts = InterruptsDisabled()
        guard task.state == .sleeping, task.entity != SchedEntity.none else { return }
        task.state = .runnable
        runQueues[0].enqueue(task.entity, in: &entities)
        if runQueues[0].current == nil || runQueues[0].shouldPreempt(by: task.entity, in: entities) {
            needResched[0] = true
        }
        _ = guardInterrupts
    }

    /// sched_yield(): to the back of the queue. Linux: do_sched_yield()
    static func yield() {
        let guardInterrupts = InterruptsDisabled()
        if current.entity != SchedEntity.none { runQueues[0].yield(in: &entities) }
        switchToNext()
        _ = guardInterrupts
    }

    /// The current task stops for good (exit): switch away and never come back.
    static func exitCurrent() -> Never {
        cpu_cli()
        let task = current
        if task.entity != SchedEntity.none, entities[Int(task.entity)].onRunQueue {
            runQueues[0].dequeue(task.entity, in: &entities)
        }
        switchToNext()
        Panic.now("a task that exited was scheduled again")
    }

    /// The timer tick. Linux: scheduler_tick()
    static func tick(fromUserMode: Bool) {
        if runQueues[0].current != nil && runQueues[0].tick(in: &entities) { needResched[0] = true }
        if current === idleTasks[0] && runQueues[0].nrRunning > 0 { needResched[0] = true }
        if fromUserMode && needResched[0] { schedule() }
    }

    /// Switch if the tick or a wake-up asked for it. Linux: schedule() on return to user
    static func schedule() {
        let guardInterrupts = InterruptsDisabled()
        switchToNext()
        _ = guardInterrupts
    }

    /// Picks the next task and switches to it. Interrupts are off.
    private static func switchToNext() {
        needResched[0] = false
        let previous = current
        let next: Task
        if let index = runQueues[0].pickNext(), let task = tasks[Int(index)] { next = task } else { next = idleTasks[0] }
        guard next !== previous else { return }
        running[0] = next
        PerCPU.setKernelStack(next.kernelStack.top)
        if let mm = next.mm, mm !== previous.mm { write_cr3(mm.pageTable.root.value) }
        wrmsr(0xc000_0100, next.fsBase)                 // MSR_FS_BASE: the user's TLS
        switch_to(previous.savedSP, next.savedSP.pointee)
    }

    /// Runs on each CPU's boot context once everything is set up. Linux: cpu_idle_loop()
    static func idleLoop() -> Never {
        while true {
            cpu_idle()
            if needResched[0] { schedule() }
        }
    }
}
