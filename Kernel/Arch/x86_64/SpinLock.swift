// Spinlocks: mutual exclusion between CPUs for data touched by several of them
// and by interrupt handlers. Linux: spinlock_t / raw_spinlock_t
// (include/linux/spinlock.h), test-and-test-and-set as in the old x86
// __raw_spin_lock_flags().
//
// A lock an interrupt handler also takes must disable interrupts while held
// (the default here), or a handler wanting a lock its own CPU holds would spin
// forever. Locks only system calls and faults take leave interrupts on. While
// it waits, a CPU keeps the interrupt flag it had before, so a CPU spinning
// here still answers IPIs: another CPU holding this lock may be waiting for a
// TLB shootdown acknowledgement from it.
//
// Lock order. A CPU holding several locks must have taken them in one order
// and never the other way round, or two CPUs can each hold what the other waits
// for (an ABBA deadlock). docs/ARCHITECTURE.md section 5 lists every lock, what
// it protects and where it is; in short:
//   1. sleeping locks: a file's f_pos_lock, a pipe's mutex, the console reader's
//      lock, oom_lock, then an mm's mmap_lock (Kernel/Locking/SleepingLocks.swift)
//   2. spinning locks that leave interrupts on: tasklist_lock, then siglock;
//      futex buckets; file tables; fs contexts; a task's alloc_lock; the
//      mapped-files table, then a shmem object's lock; vmap_area_lock; an mm's
//      page_table_lock; then the allocators: a CPU's slab slot lock, the slab
//      list lock, zone->lock (anything may allocate, so they come last)
//   3. spinning locks that turn interrupts off: PCI's config lock (alone), a
//      disk's queue lock (Kernel/Drivers/VirtioBlk.swift), a sleeping lock's wait
//      lock, the console's port lock, the scheduler lock (Kernel/Sched/SchedulerLock.swift),
//      CrossCall's request slot, innermost: a TLB shootdown may be sent with any
//      lock of groups 1 and 2 held, never with one of group 3.
// (The SMP self-test's locks are taken alone.)
// Interrupt handlers may take only locks whose holders never wait for an
// acknowledgement from another CPU (a handler runs with interrupts off, so it
// could not give one).
// The lock validator (Kernel/Locking/Lockdep.swift) checks the order and the
// interrupt rule on every acquisition: each lock names its class.

import Synchronization

/// A lock that spins until free. By default it keeps interrupts off while held
/// (Linux: raw_spin_lock_irqsave()), which a lock an interrupt handler also
/// takes needs. A lock made with `disablesInterrupts: false` leaves them as they
/// are (Linux: spin_lock()): for locks that only system calls and faults take,
/// so that a CPU holding or waiting for one still acknowledges TLB shootdowns
/// (Kernel/Arch/x86_64/TLB.swift sends them only with interrupts on). The kernel
/// is not preemptible, so its holder keeps the CPU until it unlocks; it must
/// not sleep (the lock validator checks).
/// Linux: raw_spinlock_t, spinlock_t
final class SpinLock: @unchecked Sendable {   // sharing it between CPUs is its purpose
    private let locked = Atomic<Bool>(false)
    /// The holder's interrupt flag from before `lock`; only the holder touches it.
    private var interruptsWereEnabled = false
    /// Its kind, for the lock validator (Kernel/Locking/Lockdep.swift).
    let lockClass: LockClass
    /// Interrupts go off while it is held (an interrupt handler may take it).
    let disablesInterrupts: Bool

    init(_ lockClass: LockClass, disablesInterrupts: Bool = true) {
        self.lockClass = lockClass
        self.disablesInterrupts = disablesInterrupts
    }

    /// Spins until this CPU owns the lock; interrupts are off when it returns
    /// if the lock disables them.
    func lock() { acquire(lockClass) }

    /// Takes a second lock of a class this CPU already holds one of, in an
    /// order the caller guarantees (lowest address first, say): the validator
    /// sees it as `subclass`. Unlock with `unlock(as:)` and the same subclass.
    /// Linux: spin_lock_nested(lock, SINGLE_DEPTH_NESTING)
    func lock(as subclass: LockClass) { acquire(subclass) }

    /// The body of both: inlined, so that the validator's report names the
    /// lock function the caller called, and the caller as the site.
    @inline(__always)
    private func acquire(_ validatedAs: LockClass) {
        // Before spinning: a deadlock is reported, not hung.
        guard disablesInterrupts else {
            // The interrupt flag stays as it is, so it is not even read (under
            // TCG reading RFLAGS costs a helper call), but for the validator.
            Lockdep.acquire(validatedAs, interruptsOn: interruptsEnabled)
            while locked.exchange(true, ordering: .acquiring) {
                while locked.load(ordering: .relaxed) { cpu_pause() }
            }
            return
        }
        let enabled = interruptsEnabled
        Lockdep.acquire(validatedAs, interruptsOn: false)
        while true {
            if disablesInterrupts { cpu_cli() }
            if !locked.exchange(true, ordering: .acquiring) { break }
            if enabled { cpu_sti() }
            // Read-only spinning keeps the cache line shared until the holder lets go.
            while locked.load(ordering: .relaxed) { cpu_pause() }
        }
        interruptsWereEnabled = enabled
    }

    /// Takes the lock if it is free. Linux: raw_spin_trylock_irqsave()
    func tryLock() -> Bool {
        let enabled = interruptsEnabled
        if disablesInterrupts { cpu_cli() }
        guard !locked.exchange(true, ordering: .acquiring) else {
            if enabled { cpu_sti() }
            return false
        }
        interruptsWereEnabled = enabled
        Lockdep.acquire(lockClass, interruptsOn: enabled && !disablesInterrupts)
        return true
    }

    /// Releases the lock and restores the interrupt flag `lock` found.
    func unlock() { unlock(as: lockClass) }

    func unlock(as subclass: LockClass) {
        Lockdep.release(subclass)
        guard disablesInterrupts else {
            locked.store(false, ordering: .releasing)
            return
        }
        let enabled = interruptsWereEnabled
        locked.store(false, ordering: .releasing)
        if enabled { cpu_sti() }
    }

    /// Runs `body` with the lock held.
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// RFLAGS.IF of this CPU.
    private var interruptsEnabled: Bool { read_rflags() & (1 << 9) != 0 }

    /// For assertions only: another CPU may take or drop it at any moment.
    /// Linux: raw_spin_is_locked()
    var isLocked: Bool { locked.load(ordering: .relaxed) }
}
