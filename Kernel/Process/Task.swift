// A task: one thread of execution with its own kernel stack and saved
// registers; a process is a thread group of tasks sharing an address space.
//
// Who may touch what (each field says it too):
//   - the task itself, running, owns its registers, `fsBase`, `signalStack`, `clearChildTID`,
//     `vforkParent` and its own reads of `mm`, `files`, `fs`;
//   - `Task.tasklistLock` (ProcessTable.swift) protects the family: `parent`,
//     `children`, `threads`, `groupLeader`, `groupExitStatus`, `exitStatus`,
//     `hasExited`, `pgid`, `sid`, `didExec`, `oomScoreAdj`, and the pid table;
//   - `signals.lock` (the thread group's siglock) protects the pending and
//     blocked sets and `pendingSignalInfo` (Signals.swift);
//   - `allocLock` lets another task read `mm`, `name`, `files`,
//     `capabilities` and `memPolicy` while the task itself may replace them
//     (execve, exit, capset, set_mempolicy);
//   - the scheduler lock protects `state` and `entity`.
// Linux: struct task_struct (include/linux/sched.h)

import Synchronization

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
    /// The executable's name, for logs and /proc. Written by the task itself
    /// under `allocLock`; other tasks read it through `commName`. Linux: comm
    var name: String
    /// Protected by the scheduler lock (a zombie's by tasklistLock).
    var state: TaskState = .runnable
    /// Linux: real_parent (cleared when reaped, to break the reference cycle).
    /// Protected by tasklistLock.
    var parent: Task?
    /// Protected by tasklistLock.
    var children: [Task] = []
    /// Linux: exit_code, in wait4's status encoding. Protected by tasklistLock.
    var exitStatus: Int32 = 0
    /// Lets other tasks read `mm` and `name`, which the task itself replaces
    /// (execve) or drops (exit) under it. Linux: task_lock() (alloc_lock)
    let allocLock = SpinLock(Task.allocLockClass, disablesInterrupts: false)
    static let allocLockClass = LockClass("&p->alloc_lock")

    let kernelStack: KernelStack
    /// Where switch_to saves the stack pointer while the task is not running
    /// (a fixed slot: switch_to writes it through a raw pointer). Linux: thread.sp
    let savedSP = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    /// The user address space; nil for kernel threads. The task reads its own
    /// freely and changes it under `allocLock`; others use `mmReference()`.
    /// Linux: mm
    var mm: MM?
    /// User TLS base (arch_prctl ARCH_SET_FS). Linux: thread.fsbase
    var fsBase: UInt64 = 0
    /// The alternate signal stack (sigaltstack); only the task itself touches
    /// it. Linux: sas_ss_sp, sas_ss_size, sas_ss_flags
    var signalStack = SignalStack()
    /// The signal this task gets when its parent exits, 0 for none
    /// (prctl PR_SET_PDEATHSIG); fork clears it. Protected by tasklistLock.
    /// Linux: pdeath_signal
    var parentDeathSignal: Int32 = 0
    /// execve may not grant privileges (prctl PR_SET_NO_NEW_PRIVS): inherited
    /// by fork, kept by execve, never cleared. Keel's execve grants none anyway
    /// (no set-user-ID files), so it is only reported. Only the task itself
    /// touches it. Linux: the PFA_NO_NEW_PRIVS atomic flag
    var noNewPrivileges = false
    /// The capability sets: changed by the task itself (capset, execve) under
    /// `allocLock`, which capget of another task reads them under. Linux: cred->cap_*
    var capabilities = CapabilitySets.root
    /// The task's NUMA memory policy (nil: MPOL_DEFAULT, local allocation)
    /// and the node its last round-robin interleaved page came from. Only
    /// the task itself changes them (set_mempolicy, under `allocLock`) and
    /// reads them without the lock; another task reads the policy under
    /// `allocLock`. Inherited by fork, kept by execve.
    /// Linux: task->mempolicy, task->il_prev (task_lock)
    var memPolicy: MemPolicy? = nil
    var interleavePrevious = MemPolicy.maxNumNodes - 1
    /// This task's scheduling entity in the scheduler's pool.
    var entity: EntityIndex = SchedEntity.none
    /// Scheduler ticks that found this task running in user mode and in the
    /// kernel: its CPU time, sampled at the tick. Only the tick of the CPU the
    /// task runs on adds to them (`chargeTick`, under the scheduler lock);
    /// /proc reads them from any CPU (`cpuTicks`), hence atomics.
    /// Linux: utime, stime
    private let userTicks = Atomic<Int>(0)
    private let systemTicks = Atomic<Int>(0)

    /// The tick found this task running. Linux: account_user_time() / account_system_time()
    func chargeTick(userMode: Bool) {
        if userMode { userTicks.add(1, ordering: .relaxed) } else { systemTicks.add(1, ordering: .relaxed) }
    }

    /// Ticks charged so far, in user mode and in the kernel.
    var cpuTicks: (user: Int, system: Int) {
        (userTicks.load(ordering: .relaxed), systemTicks.load(ordering: .relaxed))
    }
    /// The CPU time of the process's threads that have left `threads` (each
    /// adds its own as it exits), kept by the group leader. Protected by
    /// tasklistLock. Linux: signal->utime, signal->stime
    var exitedThreadsTicks: (user: Int, system: Int) = (0, 0)
    /// The CPU time of the reaped children: theirs and their own reaped
    /// children's, kept by the group leader and added at each reap. Protected
    /// by tasklistLock. Linux: signal->cutime, signal->cstime
    var reapedChildrenTicks: (user: Int, system: Int) = (0, 0)

    /// Under tasklistLock: the CPU time of this task's process, its live
    /// threads' and its exited threads'. Linux: thread_group_cputime()
    func processTicksLocked() -> (user: Int, system: Int) {
        let leader = groupLeader ?? self
        var total = leader.exitedThreadsTicks
        for thread in leader.threads {
            let t = thread.cpuTicks
            total = (total.user + t.user, total.system + t.system)
        }
        return total
    }
    /// Linux: set_child_tid / clear_child_tid (set_tid_address). A user pointer,
    /// checked when it is used (UserPages refuses anything but user memory).
    var clearChildTID: VirtAddr = VirtAddr(0)
    /// The parent waiting in vfork until this task execs or exits (set before
    /// the task first runs; then only the task itself touches it). Linux: vfork_done
    var vforkParent: Task?
    /// Set when this task no longer uses its vfork parent's memory; the parent
    /// sleeps until it is. Linux: the vfork_done completion
    let vforkDone = Atomic<Bool>(false)
    /// The live threads of this task's process, kept by the group leader (the task
    /// whose pid is the tgid). Protected by tasklistLock. Linux: signal->thread_head
    var threads: [Task] = []
    /// The first thread of the process. Protected by tasklistLock. Linux: group_leader
    var groupLeader: Task?
    /// Set by exit_group or a fatal signal: the status every thread exits with.
    /// Protected by tasklistLock. Linux: signal->group_exit_code
    var groupExitStatus: Int32?
    /// The process group and session, kept by the group leader (threads read
    /// their leader's). Init starts in group 0 and session 0, as Linux's pid 1
    /// does before it calls setsid. Protected by tasklistLock.
    /// Linux: task_pgrp(), task_session() (the PIDTYPE_PGID and PIDTYPE_SID links)
    var pgid: Int32 = 0
    var sid: Int32 = 0
    /// How much likelier (up to 1000) or less likely (down to -1000: never)
    /// the OOM killer is to choose this process, in thousandths of all memory
    /// (/proc/<pid>/oom_score_adj). Kept by the group leader, so the threads
    /// share it; fork copies it, execve keeps it. Protected by tasklistLock.
    /// Linux: signal->oom_score_adj
    var oomScoreAdj = 0
    /// The process ran execve: its parent may no longer move it to another
    /// process group (setpgid gives EACCES). Protected by tasklistLock.
    /// Linux: p->did_exec (now the in_execve / exec_id test in setpgid)
    var didExec = false
    /// This thread has run its last instruction (a leader may outlive it as the
    /// process's zombie). Protected by tasklistLock. Linux: PF_EXITING
    var hasExited = false
    /// Open files. Set before the task is registered; replaced by its exit
    /// under `allocLock`; other tasks (/proc/<pid>/fd) read it through
    /// `filesReference`. Linux: files
    var files = FileTable()
    /// Current directory. Linux: fs
    var fs = FSContext()
    /// Signal dispositions and siglock, shared by threads. The task replaces
    /// it (execve) under `allocLock`; other tasks read it through `sighand`.
    /// Linux: sighand
    var signals = SignalHandlers()
    /// Linux: pending.signal, blocked (bit n-1 for signal n). Changed under
    /// `signals.lock`; a racy peek (one aligned word) is allowed.
    var pendingSignals: UInt64 = 0
    var blockedSignals: UInt64 = 0
    /// The mask to restore once a signal that interrupted ppoll, pselect6 or
    /// rt_sigsuspend (which ran with a mask of their own) has been acted on.
    /// Changed under `signals.lock`. Linux: saved_sigmask, TIF_RESTORE_SIGMASK
    var savedSignalMask: UInt64? = nil
    /// A signal that must kill the process on its way back to user mode (a fault
    /// nobody handles, or an out-of-memory kill): one atomic word, 0 for none,
    /// since other CPUs set it (the OOM killer) while the task peeks at it.
    /// Linux: force_sig() resetting the action, SIGNAL_GROUP_EXIT
    private let fatalSignalWord = Atomic<Int32>(0)
    var fatalSignal: Int32? {
        get { let signal = fatalSignalWord.load(ordering: .acquiring); return signal == 0 ? nil : signal }
        set { fatalSignalWord.store(newValue ?? 0, ordering: .releasing) }
    }
    /// The sleeping locks this task holds while switched out, for the lock
    /// validator. Touched only by the context switch. Linux: held_locks
    var heldSleepingLocks = Lockdep.TaskLocks()
    /// The futex hash bucket this task waits in, -1 when it waits on none; a
    /// requeue moves it (Kernel/Process/Futex.swift). Changed only with that
    /// bucket's lock held (both buckets', for a requeue).
    var futexBucket = -1
    /// Above 0, a fault on a user address in kernel mode is not resolved: the
    /// user copy fails at once (EFAULT) and the caller, holding a spinlock,
    /// retries after letting go. Only the task itself touches it.
    /// Linux: current->pagefault_disabled, pagefault_disable()
    var pagefaultsDisabled = 0
    /// Page-cache pages this task made dirty since its last
    /// balance_dirty_pages check (PageCache.swift). Only the task itself
    /// touches it. Linux: current->nr_dirtied
    var dirtiedPages = 0
    /// siginfo details of pending fault signals (si_code, si_addr), by signal
    /// number. Protected by `signals.lock`.
    var pendingSignalInfo = [SignalFrame.Info?](repeating: nil, count: 65)

    /// References that keep the kernel stack: one dropped by the scheduler once
    /// the task has switched away for the last time, one by release_task (the
    /// parent's wait, or the thread's own exit). Either may come first on SMP,
    /// on different CPUs: an atomic count. Linux: usage (refcount_t)
    private let usage = Atomic<Int>(2)

    init(pid: Int32, tgid: Int32, name: String, kernelStack: KernelStack) {
        self.pid = pid
        self.tgid = tgid
        self.name = name
        self.kernelStack = kernelStack
        savedSP.initialize(to: 0)
    }

    /// The stack goes with the last put(), never with the last Swift reference.
    deinit {
        let left = usage.load(ordering: .relaxed)
        precondition(left == 0, "task \(pid) freed with \(left) reference(s) left: a missing put()")
    }

    /// Drops one reference; the last frees the kernel stack and the saved-SP
    /// slot. Linux: put_task_struct() → __put_task_struct()
    func put() {
        let left = usage.subtract(1, ordering: .acquiringAndReleasing).newValue
        precondition(left >= 0, "put_task_struct() of task \(pid) already freed")
        guard left == 0 else { return }
        savedSP.deallocate()
        KernelStacks.free(kernelStack)
    }

    /// The signal handlers, read from another task (a sender). Linux: lock_task_sighand()
    var sighand: SignalHandlers { allocLock.withLock { signals } }

    /// The descriptor table, read from another task (/proc/<pid>/fd); an
    /// exited task's is empty. Linux: get_files_struct() under task_lock()
    var filesReference: FileTable { allocLock.withLock { files } }

    /// The name, read from another task. Linux: get_task_comm()
    var commName: String { allocLock.withLock { name } }

    /// Another task's mm with a reference taken (the caller puts it), or nil
    /// if it has none or it is being torn down. Linux: get_task_mm() → mmget_not_zero()
    func mmReference() -> MM? {
        allocLock.withLock { () -> MM? in
            guard let mm, mm.tryGet() else { return nil }
            return mm
        }
    }

    /// Replaces the task's own mm (execve, exit) so that readers in other tasks
    /// see the old one or the new one. Returns the old one for the caller to put.
    func replaceMM(with newMM: MM?) -> MM? {
        allocLock.withLock {
            let old = mm
            mm = newMM
            return old
        }
    }

    /// The user registers saved at the top of the kernel stack on every entry
    /// from user mode. Linux: task_pt_regs()
    var userFrame: UnsafeMutablePointer<InterruptFrame> {
        UnsafeMutablePointer(bitPattern: UInt(kernelStack.top) - UInt(InterruptFrame.byteSize))!
    }

}
