// The big kernel lock: at most one CPU runs "ordinary" kernel code (system
// calls, page faults, signal delivery) at a time, while every CPU may run user
// code in parallel. It is how Linux first ran on several CPUs (2.0 to 2.6.39)
// and it is what lets the rest of Keel — allocators, VMAs, files — stay free of
// fine-grained locks. It is recursive (a page fault inside a system call takes
// it again) and it is let go while a task sleeps: switching away releases it,
// and the task takes it back when it runs again. Code that runs without it —
// interrupt handlers, the idle loop, the context switch — touches only the run
// queues, under the scheduler lock, and never allocates or frees memory.
// Linux: lock_kernel() / unlock_kernel(), release_kernel_lock() in schedule()
//
// Lock order: the big kernel lock, then the scheduler lock, then a SpinLock
// (see Kernel/Arch/x86_64/SpinLock.swift). Structures protected by this lock
// say so and call `assertHeld` (the file table, the cwd, the console reader).

import Synchronization

enum BigKernelLock {
    /// Linux: the kernel_flag lock's class
    static let lockClass = LockClass("big_kernel_lock")
    /// The CPU holding the lock, or -1.
    private static let owner = Atomic<Int>(-1)
    /// How many times the owner has taken it (touched only by the owner).
    nonisolated(unsafe) private static var depth = 0

    /// Linux: lock_kernel()
    static func lock() {
        let cpu = PerCPU.cpu
        if owner.load(ordering: .relaxed) == cpu {
            depth += 1
            return
        }
        Lockdep.acquire(lockClass, interruptsOn: true)      // held with interrupts on
        spin(cpu)
        depth = 1
    }

    private static func spin(_ cpu: Int) {
        // Spin with interrupts on, even inside an interrupt handler: the holder may
        // be waiting for this CPU to acknowledge a TLB shootdown. (An interrupt
        // nested here finds kernel mode and takes none of the paths that need the lock.)
        let interruptsWereOn = CPU.interruptsEnabled
        while !owner.compareExchange(expected: -1, desired: cpu, ordering: .acquiring).exchanged {
            CPU.enableInterrupts()
            while owner.load(ordering: .relaxed) != -1 { CPU.relax() }
            if !interruptsWereOn { CPU.disableInterrupts() }
        }
    }

    /// Stops the kernel when the caller does not hold the lock: what a structure
    /// documented as "protected by the big kernel lock" calls on every access.
    /// Linux: lockdep_assert_held()
    static func assertHeld(_ what: StaticString) {
        if owner.load(ordering: .relaxed) != PerCPU.cpu {
            Panic.now("\(what) used without the big kernel lock")
        }
    }

    /// Linux: unlock_kernel()
    static func unlock() {
        depth -= 1
        if depth == 0 {
            Lockdep.release(lockClass)
            owner.store(-1, ordering: .releasing)
        }
    }

    /// Lets go completely before a context switch; returns the depth to take back.
    static func releaseForSwitch() -> Int {
        guard owner.load(ordering: .relaxed) == PerCPU.cpu else { return 0 }
        let held = depth
        depth = 0
        Lockdep.release(lockClass)
        owner.store(-1, ordering: .releasing)
        return held
    }

    /// Takes the lock back after the task runs again, as deep as it was.
    static func reacquire(_ held: Int) {
        guard held > 0 else { return }
        Lockdep.reacquireAfterSleep(lockClass)
        spin(PerCPU.cpu)
        depth = held
    }

}
