// mlock and munlock, and faulting a range in ahead of use (populate), which
// mlock, MAP_POPULATE and MADV_POPULATE_* share. Keel has no swap, so an
// anonymous page once present stays; VM_LOCKED is what keeps a locked file
// page from being reclaimed, and what /proc reports. Everyone is root
// (CAP_IPC_LOCK): RLIMIT_MEMLOCK does not apply.
// Linux: mm/mlock.c do_mlock(), apply_vma_lock_flags(); mm/gup.c
// __mm_populate(), populate_vma_page_range()

extension MM {
    /// How `populate` touches each page.
    enum PopulateAccess {
        /// Write to private writable pages (breaking copy-on-write now), read
        /// the rest; skip regions without access. Linux: mlock's and MAP_POPULATE's FOLL_WRITE rule
        case asMapped
        /// Read every page. Linux: MADV_POPULATE_READ
        case read
        /// Write every page. Linux: MADV_POPULATE_WRITE
        case write
    }

    /// Why `populate` stopped before the end.
    enum PopulateFailure: Error {
        /// A page of the range is not mapped. Linux: -ENOMEM from __mm_populate()
        case unmapped
        /// A region forbids the access asked for (.read and .write). Linux: -EFAULT
        case accessDenied
        /// No frame could be had. Linux: VM_FAULT_OOM
        case outOfMemory
        /// The task is being killed. Linux: -EINTR
        case interrupted
    }

    /// Faults in every page of [start, end) (page-aligned), giving the CPU away
    /// when asked. Linux: __mm_populate() → populate_vma_page_range()
    func populate(_ start: VirtAddr, _ end: VirtAddr, access: PopulateAccess) throws(PopulateFailure) {
        precondition(mmapLock.isLocked, "populate without mmap_lock")
        var page = start
        while page < end {
            guard !Signals.fatalPending(Scheduler.current) else { throw .interrupted }
            guard let vma = vmas.findVMA(page), vma.contains(page) else { throw .unmapped }
            let kind: FaultAccess.Kind
            switch access {
            case .asMapped:
                guard !vma.flags.intersection(.access).isEmpty else {   // PROT_NONE: nothing to fault in
                    page = min(vma.end, end)
                    continue
                }
                kind = vma.flags.contains(.write) && !vma.flags.contains(.shared) ? .write : .read
            case .read:
                guard vma.flags.contains(.read) else { throw .accessDenied }
                kind = .read
            case .write:
                guard vma.flags.contains(.write) else { throw .accessDenied }
                kind = .write
            }
            switch handleFault(at: page, access: FaultAccess(kind, fromUserMode: false)) {
            case .resolved: break
            case .outOfMemory: throw .outOfMemory
            default: throw .accessDenied
            }
            page = page + pageSize
            Scheduler.condResched()
        }
    }

    /// mlock (`lock`) or munlock of the pages holding [start, start + length):
    /// VM_LOCKED on their regions, and the pages faulted in. ENOMEM if part of
    /// the range is unmapped; EAGAIN if memory runs out while faulting in (the
    /// regions stay locked, as in Linux). Linux: do_mlock(), sys_munlock()
    func mlock(_ start: VirtAddr, length: UInt64, lock: Bool) throws(Errno) {
        precondition(mmapLock.isWriteLocked, "mlock without mmap_lock held for writing")
        let first = start.alignedDown()
        let (sum, overflow) = length.addingReportingOverflow(start.pageOffset)
        let aligned = Mman.pageAlign(sum)
        let (last, wraps) = first.value.addingReportingOverflow(aligned)
        guard !overflow, !wraps, aligned != 0 || sum == 0 else { throw .EINVAL }     // Linux: end < start
        let end = VirtAddr(last)
        guard end > first else { return }
        do { try vmas.setFlags(.locked, on: lock, first, end) } catch { throw error.errno }
        guard lock else { return }
        do throws(PopulateFailure) {
            try populate(first, end, access: .asMapped)
        } catch {
            // Linux: __mlock_posix_error_return()
            switch error {
            case .outOfMemory: throw .EAGAIN
            case .interrupted: throw .EINTR
            case .unmapped, .accessDenied: throw .ENOMEM
            }
        }
    }
}
