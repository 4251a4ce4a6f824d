// Kernel threads: tasks that run a kernel function on their own kernel stack,
// have no address space of their own (mm == nil: they run on the kernel's page
// tables) and never enter user mode. The scheduler treats them like any task,
// so they can sleep, which the boot CPU's idle context cannot.
//
// A new task starts where every new task starts, in ret_from_fork, which
// "returns" through isr_exit with the InterruptFrame prepared here: its CS is
// the kernel's, so iretq lands in `kernelThreadEntry` in ring 0, on the
// thread's own stack, interrupts on, with the body's box in rdi.
// Linux: kernel/kthread.c (kthread_run), copy_thread() for PF_KTHREAD

/// The function a thread runs, boxed so one pointer can carry it.
private final class KernelThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

enum KernelThread {
    /// Starts `body` in a new kernel thread called `name`, on the CPU the
    /// scheduler picks; false without memory. The thread exits when `body`
    /// returns. Nobody waits for a kernel thread: the caller learns it has
    /// finished from what `body` does. Linux: kthread_run()
    /// `policy` is its scheduling class: WRR by default, spread over the CPUs
    /// like any new task; a housekeeping thread (the flusher) is SCHED_NORMAL,
    /// below every WRR task, as Linux's kthreads are CFS tasks.
    @discardableResult
    static func start(_ name: String, policy: SchedPolicy = .wrr, _ body: @escaping () -> Void) -> Bool {
        guard Scheduler.reserveEntity() else { return false }
        guard let stack = KernelStacks.allocate() else {
            Scheduler.cancelReservation()
            return false
        }
        // pid 0 like the idle tasks: not in the process table, no signals, no wait().
        let task = Task(pid: 0, tgid: 0, name: name, kernelStack: stack)
        let entry: @convention(c) (UnsafeMutableRawPointer) -> Void = kernelThreadEntry
        var frame = InterruptFrame()
        frame.rip = UInt64(UInt(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self)))
        frame.cs = UInt64(GDT.kernelCode)
        frame.ss = UInt64(GDT.kernelData)
        frame.rflags = 0x202                                   // IF, and the always-one bit
        // As if called: rsp is 8 below a 16-byte boundary at a function's first
        // instruction. The stack starts below the (unused) FPU save area.
        frame.rsp = (TaskStack.sseArea(of: task) & ~15) - 8
        frame.rdi = UInt64(UInt(bitPattern: Unmanaged.passRetained(KernelThreadBody(body)).toOpaque()))
        task.savedSP.pointee = TaskStack.prepareReturnToUser(task, frame: frame)
        Scheduler.admit(task, like: SchedEntity(pid: 0, tgid: 0, policy: policy))
        // The creator's reference: nobody waits for this task, so the
        // scheduler's (dropped when it is reaped after exiting) is the last.
        task.put()
        return true
    }
}

/// Where a kernel thread begins, in ring 0 on its own stack.
@_cdecl("keel_kernel_thread_entry")
private func kernelThreadEntry(_ box: UnsafeMutableRawPointer) {
    runKernelThreadBody(box)
    Scheduler.exitCurrent()
}

/// The body in a frame of its own, so that no reference stays in the frame
/// that never returns (Scheduler.exitCurrent).
@inline(never)
private func runKernelThreadBody(_ box: UnsafeMutableRawPointer) {
    Unmanaged<KernelThreadBody>.fromOpaque(box).takeRetainedValue().body()
}
