// A task: one thread of execution with its own kernel stack and saved
// registers; a process is a thread group of tasks sharing an address space.
// Linux: struct task_struct (include/linux/sched.h)

/// Linux: TASK_RUNNING, TASK_INTERRUPTIBLE, EXIT_ZOMBIE, EXIT_DEAD
enum TaskState: Equatable {
    /// On a run queue (running or waiting for a CPU). Linux: TASK_RUNNING
    case runnable
    /// Waiting for an event; `wake` puts it back. Linux: TASK_INTERRUPTIBLE
    case sleeping
    /// Exited, its exit status kept until the parent waits. Linux: EXIT_ZOMBIE
    case zombie
}

final class Task {
    /// Linux: pid
    let pid: Int32
    /// Thread group id: the pid of the group's first task, what getpid() returns. Linux: tgid
    var tgid: Int32
    /// The executable's name, for logs and /proc. Linux: comm
    var name: String
    var state: TaskState = .runnable
    /// Linux: real_parent (cleared when reaped, to break the reference cycle)
    var parent: Task?
    var children: [Task] = []
    /// Linux: exit_code, in wait4's status encoding
    var exitStatus: Int32 = 0

    let kernelStack: KernelStack
    /// Where switch_to saves the stack pointer while the task is not running
    /// (a fixed slot: switch_to writes it through a raw pointer). Linux: thread.sp
    let savedSP = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    /// The user address space; nil for kernel threads. Linux: mm
    var mm: MM?
    /// User TLS base (arch_prctl ARCH_SET_FS). Linux: thread.fsbase
    var fsBase: UInt64 = 0
    /// This task's scheduling entity in the scheduler's pool.
    var entity: EntityIndex = SchedEntity.none
    /// Linux: set_child_tid / clear_child_tid (set_tid_address). A user pointer,
    /// checked when it is used (UserPages refuses anything but user memory).
    var clearChildTID: VirtAddr = VirtAddr(0)
    /// The parent waiting in vfork until this task execs or exits. Linux: vfork_done
    var vforkParent: Task?
    /// The live threads of this task's process, kept by the group leader (the task
    /// whose pid is the tgid). Linux: signal->thread_head
    var threads: [Task] = []
    /// The first thread of the process. Linux: group_leader
    var groupLeader: Task?
    /// Set by exit_group or a fatal signal: the status every thread exits with. Linux: signal->group_exit_code
    var groupExitStatus: Int32?
    /// This thread has run its last instruction (a leader may outlive it as the
    /// process's zombie). Linux: PF_EXITING
    var hasExited = false
    /// Open files. Linux: files
    var files = FileTable()
    /// Current directory. Linux: fs
    var fs = FSContext()
    /// Signal dispositions, shared by threads. Linux: sighand
    var signals = SignalHandlers()
    /// Linux: pending.signal, blocked (bit n-1 for signal n)
    var pendingSignals: UInt64 = 0
    var blockedSignals: UInt64 = 0
    /// A signal that must kill the process on its way back to user mode (a fault
    /// nobody handles, or an out-of-memory kill). Linux: force_sig() resetting the action
    var fatalSignal: Int32?
    /// The sleeping locks this task holds while switched out, for the lock
    /// validator. Touched only by the context switch. Linux: held_locks
    var heldSleepingLocks = Lockdep.TaskLocks()
    /// The futex hash bucket this task waits in, -1 when it waits on none; a
    /// requeue moves it (Kernel/Process/Futex.swift). Protected by the big kernel lock.
    var futexBucket = -1
    /// siginfo details of pending fault signals (si_code, si_addr), by signal number.
    var pendingSignalInfo = [SignalFrame.Info?](repeating: nil, count: 65)

    /// References that keep the kernel stack: one dropped by the scheduler once
    /// the task has switched away for the last time, one by release_task (the
    /// parent's wait, or the thread's own exit). Either may come first on SMP.
    /// Protected by the big kernel lock. Linux: usage (refcount_t)
    private var usage = 2

    init(pid: Int32, tgid: Int32, name: String, kernelStack: KernelStack) {
        self.pid = pid
        self.tgid = tgid
        self.name = name
        self.kernelStack = kernelStack
        savedSP.initialize(to: 0)
    }

    /// The stack goes with the last put(), never with the last Swift reference.
    deinit { precondition(usage == 0, "task \(pid) freed with \(usage) reference(s) left: a missing put()") }

    /// Drops one reference; the last frees the kernel stack and the saved-SP
    /// slot. Linux: put_task_struct() → __put_task_struct()
    func put() {
        BigKernelLock.assertHeld("put_task_struct")
        precondition(usage > 0, "put_task_struct() of task \(pid) already freed")
        usage -= 1
        guard usage == 0 else { return }
        savedSP.deallocate()
        KernelStacks.free(kernelStack)
    }

    /// The user registers saved at the top of the kernel stack on every entry
    /// from user mode. Linux: task_pt_regs()
    var userFrame: UnsafeMutablePointer<InterruptFrame> {
        UnsafeMutablePointer(bitPattern: UInt(kernelStack.top) - UInt(InterruptFrame.byteSize))!
    }

}
