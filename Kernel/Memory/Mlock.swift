// Locking pages in memory: mlock, mlock2, munlock, mlockall, munlockall, and
// faulting a range in ahead of use ("populating"), which mlock shares with
// MAP_POPULATE, a locked mmap or brk and mremap of a locked mapping.
//
// A lock is a VMA flag, VM_LOCKED (with VM_LOCKONFAULT for the "on fault"
// variants). mlock cuts the range's VMAs at its edges and re-flags the pieces,
// as mprotect does (VMATree.lockRange), then faults every page in unless on
// fault; munlock clears the flags, and the pieces merge back.
// mlockall(MCL_FUTURE) sets the mm's default flags (`defFlags`), which every
// later mmap and brk takes; fork's child and execve's new mm start without
// any lock and without those defaults.
//
// What a lock means here: Linux keeps mlocked pages off the reclaim lists
// (PG_mlocked, the unevictable LRU) so they are never swapped or dropped.
// Keel has no reclaim: a page, once present, stays anyway. So on Keel a lock
// means "every page of the range is present now, and stays": the population
// below is the whole of it, with what user space can see of the flag besides:
// VmLck in /proc/<pid>/status (VMATree.lockedVM), msync(MS_INVALIDATE) and
// madvise(MADV_DONTNEED) refusing locked pages, and the child of a fork
// getting none.
//
// RLIMIT_MEMLOCK: Linux refuses to lock more pages than the limit (8 MiB by
// default) unless the caller has CAP_IPC_LOCK, and refuses every mlock when the
// limit is 0 unless it has it (can_do_mlock(), EPERM). Every Keel process is
// root, with every capability, so neither check can ever refuse, and Keel has
// no code for them (getrlimit reports Linux's default all the same; a root
// process on Linux may lock past it too, which test_mlock checks there).
//
// The caller holds mmap_lock for writing (MemorySyscalls.swift takes it);
// population runs under it too (Linux drops to the read side for it).
// Linux: mm/mlock.c, mm/gup.c (__mm_populate, populate_vma_page_range)

/// mlock2's and mlockall's flags. Linux: include/uapi/asm-generic/mman-common.h, mman.h
enum Mlock {
    static let MLOCK_ONFAULT: UInt64 = 1
    static let MCL_CURRENT = 1, MCL_FUTURE = 2, MCL_ONFAULT = 4
}

extension MM {
    /// mlock, mlock2 and munlock: gives [address, address + length) the lock
    /// bits `lock` (`[.locked]`, with `.lockOnFault` for MLOCK_ONFAULT, none
    /// for munlock), then faults the pages in when locking. The start is
    /// rounded down to a page and the length up, with the start's offset;
    /// a length that wraps is EINVAL, an empty one does nothing. ENOMEM if part
    /// of the range is unmapped (then nothing changes; Linux may already have
    /// locked the regions before the hole) or a page cannot be had for want of
    /// access (PROT_NONE, a file page past its end: the regions stay locked,
    /// as on Linux), EAGAIN without memory for a page.
    /// Linux: do_mlock(), SYSCALL_DEFINE2(munlock), __mlock_posix_error_return()
    func mlock(_ address: VirtAddr, length requested: UInt64, _ lock: VMFlags) throws(Errno) {
        precondition(mmapLock.isWriteLocked, "mlock without mmap_lock held for writing")
        let start = address.alignedDown()
        let length = Mman.pageAlign(requested &+ address.pageOffset)
        let end = VirtAddr(start.value &+ length)
        guard end >= start else { throw .EINVAL }
        guard end > start else { return }
        do { try vmas.lockRange(start, end, lock) } catch { throw error.errno }
        guard lock.contains(.locked) else {
            rescueUnevictable(start, end)
            return
        }
        do {
            try populateLocked(start, end)
        } catch .EFAULT {
            throw .ENOMEM
        } catch .ENOMEM {
            throw .EAGAIN
        }
    }

    /// mlockall: MCL_CURRENT locks every region now (and faults them in; a
    /// region where that fails stays locked, and mlockall still succeeds),
    /// MCL_FUTURE every region mapped from now on, MCL_ONFAULT makes either
    /// lock on fault. EINVAL for no flags, unknown flags or MCL_ONFAULT alone.
    /// Linux: SYSCALL_DEFINE1(mlockall) → apply_mlockall_flags(), mm_populate()
    func mlockall(_ flags: Int) throws(Errno) {
        precondition(mmapLock.isWriteLocked, "mlockall without mmap_lock held for writing")
        guard flags != 0, flags & ~(Mlock.MCL_CURRENT | Mlock.MCL_FUTURE | Mlock.MCL_ONFAULT) == 0,
              flags != Mlock.MCL_ONFAULT else { throw .EINVAL }
        let lock: VMFlags = flags & Mlock.MCL_ONFAULT != 0 ? [.locked, .lockOnFault] : [.locked]
        applyMlockall(future: flags & Mlock.MCL_FUTURE != 0 ? lock : [],
                      current: flags & Mlock.MCL_CURRENT != 0 ? lock : nil)
        if flags & Mlock.MCL_CURRENT != 0 { populate(VirtAddr(0), VirtAddr(layout.taskSize)) }
    }

    /// munlockall: every region unlocked, and later ones no longer locked.
    /// Linux: SYSCALL_DEFINE0(munlockall) → apply_mlockall_flags(0)
    func munlockall() {
        precondition(mmapLock.isWriteLocked, "munlockall without mmap_lock held for writing")
        applyMlockall(future: [], current: [])
        rescueUnevictable(VirtAddr(0), VirtAddr(layout.taskSize))
    }

    /// Unlocked pages of [start, end) that reclaim had set aside as
    /// unevictable go back to the LRU lists it scans. (A page some other
    /// mm still locks is set aside again at its next scan.)
    /// Linux: munlock_folio() → __munlock_folio() → folio_putback_lru()
    private func rescueUnevictable(_ start: VirtAddr, _ end: VirtAddr) {
        var frames: [PhysAddr] = []
        pageTable.forEachLeaf(in: start..<end) { leaf in
            if leaf.entry.frame != ZeroPage.frame && PageState.flags(leaf.entry.frame).contains(.unevictable) {
                frames.append(leaf.entry.frame)
            }
        }
        for frame in frames where LRU.isolate(frame) {
            PageState.clear(frame, .unevictable)
            LRU.putback(frame)
            VMStat.count(.unevictableRescued)
        }
    }

    /// The default lock bits become `future`; every region gets the lock bits
    /// `current` unless it is nil (MCL_FUTURE alone leaves the regions as they
    /// are). Linux: apply_mlockall_flags()
    private func applyMlockall(future: VMFlags, current: VMFlags?) {
        defFlags = defFlags.withLock(future)
        if let current { vmas.modifyAllFlags(merging: true) { $0.withLock(current) } }
    }

    /// Some region of [start, end) is locked: msync(MS_INVALIDATE) is EBUSY
    /// and madvise(MADV_DONTNEED) EINVAL there. Linux meets the locked VMA in
    /// its loop before it reports a hole, so this comes before ENOMEM.
    func hasLockedRegion(_ start: VirtAddr, _ end: VirtAddr) -> Bool {
        var cursor = start
        while cursor < end, let vma = vmas.findVMA(cursor), vma.start < end {
            if vma.flags.contains(.locked) { return true }
            cursor = vma.end
        }
        return false
    }

    /// Faults in what can be of [start, end): MAP_POPULATE, a locked mmap or
    /// brk, the grown part of a locked mremap, mlockall(MCL_CURRENT). Holes are
    /// passed over, and so is the rest of a region where a page cannot be had
    /// (the call that asked still succeeds); a fatal signal ends it.
    /// Linux: mm_populate() → __mm_populate(ignore_errors: 1)
    func populate(_ start: VirtAddr, _ end: VirtAddr) {
        forEachRegion(start, end) { (vma, from, to) -> Bool in
            do throws(Errno) {
                try populateRegion(vma, from, to)
            } catch .EINTR {
                return false                // a fatal signal: the task is on its way out
            } catch {
                return true                 // this region is done; the next one may work
            }
            return true
        }
    }

    /// mlock's population: every page of the range's regions, stopping at the
    /// first that cannot be had. EFAULT for no access, ENOMEM for no memory,
    /// EINTR for a fatal signal. Linux: __mm_populate(ignore_errors: 0)
    private func populateLocked(_ start: VirtAddr, _ end: VirtAddr) throws(Errno) {
        try forEachRegion(start, end) { (vma, from, to) throws(Errno) -> Bool in
            try populateRegion(vma, from, to)
            return true
        }
    }

    /// Calls `body` with each region meeting [start, end) and the part of it
    /// inside, lowest first, while it returns true.
    private func forEachRegion<E: Error>(_ start: VirtAddr, _ end: VirtAddr,
                                         _ body: (VMA, VirtAddr, VirtAddr) throws(E) -> Bool) throws(E) {
        var cursor = start
        while cursor < end, let vma = vmas.findVMA(cursor), vma.start < end {
            let from = max(vma.start, cursor), to = min(vma.end, end)
            guard try body(vma, from, to) else { return }
            cursor = to
        }
    }

    /// Faults in the pages [from, to) of `vma`, as a touch from user space
    /// would: a store where the region is private and writable (so the page
    /// is the process's own copy now, not the zero page or a shared
    /// copy-on-write frame), else a load (a shared page is not dirtied for
    /// nothing). A page already present as needed is left alone. A region
    /// locked on fault is left for its faults; a PROT_NONE region is EFAULT.
    /// The CPU is given away between pages when asked, so a huge range is never
    /// an unbounded loop in the kernel. Linux: populate_vma_page_range() →
    /// __get_user_pages() with its fatal_signal_pending() and cond_resched()
    private func populateRegion(_ vma: VMA, _ from: VirtAddr, _ to: VirtAddr) throws(Errno) {
        if vma.flags.contains(.lockOnFault) { return }
        guard vma.flags.isAccessible else { throw .EFAULT }
        try faultIn(from, to, write: vma.flags.contains(.write) && !vma.flags.contains(.shared))
    }

    /// madvise(MADV_POPULATE_READ / MADV_POPULATE_WRITE): every page of
    /// [start, end) read- or write-faulted in, EINVAL where a region does not
    /// allow that access, ENOMEM for a hole or no memory, EINTR for a fatal
    /// signal. Linux: madvise_populate() → faultin_page_range()
    func populateForAdvice(_ start: VirtAddr, _ end: VirtAddr, write: Bool) throws(Errno) {
        var cursor = start
        while cursor < end {
            guard let vma = vmas.findVMA(cursor), vma.start <= cursor else { throw .ENOMEM }
            guard vma.flags.contains(write ? .write : .read) else { throw .EINVAL }
            let to = min(vma.end, end)
            do throws(Errno) {
                try faultIn(cursor, to, write: write)
            } catch .EFAULT {
                throw .EINVAL
            }
            cursor = to
        }
    }

    /// Faults in the pages [from, to) of one region by loads or stores.
    private func faultIn(_ from: VirtAddr, _ to: VirtAddr, write: Bool) throws(Errno) {
        let access = FaultAccess(write ? .write : .read, fromUserMode: false)
        var page = from
        while page < to {
            if Signals.fatalPending(Scheduler.current) { throw .EINTR }
            if case .present(let writable, _) = pteState(at: page).state, writable || !write {
                // Linux: follow_page_mask() finds it; no fault
            } else {
                switch handleFault(at: page, access: access) {
                case .resolved: break
                case .outOfMemory: throw .ENOMEM
                case .segv, .sigbus, .needsWriteLock: throw .EFAULT
                }
            }
            page = page + pageSize
            Scheduler.condResched()
        }
    }
}
