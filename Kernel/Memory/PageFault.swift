// The page-fault path, from the #PF exception to a mapped page. In order:
//
//   PageFaultHandler.handle   decide whose fault it is: a user address with an mm
//                             (Linux: exc_page_fault → do_user_addr_fault), a user
//                             copy that gets EFAULT through the exception table, or a
//                             kernel bug (panic)
//   MM.handleFault            look up the VMA and ask Kernel/Core/VM's FaultAction
//                             what to do (Linux: handle_mm_fault → handle_pte_fault)
//   the actions               a zeroed frame (do_anonymous_page), the shared zero page,
//                             a page-cache page mapped as it is (do_read_fault,
//                             do_shared_fault) or copied for a private write
//                             (do_cow_fault), a copy on write (do_wp_page →
//                             wp_page_copy) or reuse of an exclusive page
//                             (wp_page_reuse), or SIGBUS past the end of a file
//
// The decision is a pure truth table tested on the host (FaultAction.classify);
// this file only acts on it. Locking, as in Linux: the fault holds the mm's
// mmap_lock for reading (so the VMAs stay put while threads of the mm fault at
// once), and the page-table lock only to look at a PTE and to change it. The
// slow part (allocating, zeroing or copying a frame, reading a file) runs
// between the two, so two threads may race to fill the same PTE: each
// re-checks under the lock that the PTE is still what the decision saw, and
// the loser gives its frame back and returns (the instruction runs again and
// finds the winner's page). Growing the stack changes a VMA: that fault asks
// for the mmap_lock for writing and runs again.
// Linux: arch/x86/mm/fault.c, mm/memory.c (pte_offset_map_lock(), pte_same())

enum PageFaultHandler {
    /// The #PF handler, called by Kernel/Arch with the faulting address (CR2).
    /// Linux: exc_page_fault()
    static func handle(_ frame: UnsafeMutablePointer<InterruptFrame>, address: UInt64) {
        resolve(frame, address: address)
    }

    /// Linux: do_user_addr_fault(), and do_kern_addr_fault() for the rest
    private static func resolve(_ frame: UnsafeMutablePointer<InterruptFrame>, address: UInt64) {
        let error = PageFaultErrorCode(rawValue: frame.pointee.errorCode)
        let fromUser = frame.pointee.isUserMode
        let task = Scheduler.current
        Trace.pageFault(fromUser: fromUser, address: address, ip: frame.pointee.rip, errorCode: frame.pointee.errorCode)
        // A user copy under a spinlock may not sleep for mmap_lock: it fails
        // (the fixup below) and its caller retries. Linux: faulthandler_disabled()
        let mayResolve = fromUser || task.pagefaultsDisabled == 0
        if address < KernelLayout.taskSize, mayResolve, let mm = task.mm, !error.contains(.reservedBit) {
            let kind: FaultAccess.Kind = error.contains(.instructionFetch) ? .execute : error.contains(.write) ? .write : .read
            let access = FaultAccess(kind, fromUserMode: fromUser)
            var how = FaultHow.spurious
            var outcome = mm.handleFaultReadLocked(at: VirtAddr(address), access: access, how: &how)
            if case .needsWriteLock = outcome {
                mm.mmapLock.lockWrite()
                outcome = mm.handleFault(at: VirtAddr(address), access: access, how: &how)
                mm.mmapLock.unlockWrite()
            }
            switch outcome {
            case .resolved: Trace.faultResolved(address: address, ip: frame.pointee.rip, errorCode: error.rawValue, how: how)
            case .segv: Trace.faultResolved(address: address, ip: frame.pointee.rip, errorCode: error.rawValue, how: .sigsegv)
            case .sigbus: Trace.faultResolved(address: address, ip: frame.pointee.rip, errorCode: error.rawValue, how: .sigbus)
            case .needsWriteLock, .outOfMemory: break
            }
            switch outcome {
            case .resolved, .needsWriteLock:         // (the second time it cannot ask again)
                return
            case .outOfMemory:
                let nodes = mm.mmapLock.withRead { mm.allowedNodes(at: VirtAddr(address)) }
                switch OOMKiller.outOfMemory(faulting: task, nodes: nodes) {
                case .retry:
                    return                       // the instruction runs again once the victim is gone
                case .killed:
                    if fromUser { return }       // the fatal signal is acted on on the way out
                }                                // in a user copy: EFAULT below, then the task dies
            case .segv(let cause):
                if fromUser {
                    if Signals.unhandled(Signal.SIGSEGV, by: task) { logSegfault(task, frame.pointee, address: address, error: error) }
                    Signals.force(Signal.SIGSEGV, info: SignalFrame.Info(code: cause.siCode, address: address), on: task)
                    return
                }
            case .sigbus:
                if fromUser {
                    Signals.force(Signal.SIGBUS, info: SignalFrame.Info(code: busAddressError, address: address), on: task)
                    return
                }                                // in a user copy: EFAULT below, as Linux's no_context
            }
        }
        if !fromUser {
            if let fixup = UserAccess.fixup(forFaultAt: frame.pointee.rip) {
                frame.pointee.rip = fixup        // the copy returns "bytes left": EFAULT
                return
            }
            Panic.exception(.pageFault, frame: frame.pointee, cr2: address)
        }
        // A user access to the kernel half, or with reserved bits: no VMA could help.
        if Signals.unhandled(Signal.SIGSEGV, by: task) { logSegfault(task, frame.pointee, address: address, error: error) }
        Signals.force(Signal.SIGSEGV, info: SignalFrame.Info(code: 1, address: address), on: task)
    }

    /// Linux's show_signal_msg(): `name[pid]: segfault at ADDR ip IP sp SP error CODE in FILE[START+SIZE]`
    private static func logSegfault(_ task: Task, _ frame: InterruptFrame, address: UInt64, error: PageFaultErrorCode) {
        var line = "\(task.name)[\(task.pid)]: segfault at \(Fmt.hex(address)) ip \(Fmt.hex(frame.rip, digits: 16))"
        line += " sp \(Fmt.hex(frame.rsp, digits: 16)) error \(Fmt.hex(error.rawValue))"
        if let mm = task.mm, let vma = mm.mmapLock.withRead({ mm.vmas.findVMA(VirtAddr(frame.rip)) }), vma.contains(VirtAddr(frame.rip)),
           case .file(let file, _) = vma.backing, let name = MappedFiles.name(file) {
            line += " in \(name.name)"
            line += "[\(Fmt.hex(vma.start.value))+\(Fmt.hex(vma.end - vma.start))]"
        }
        Log.notice(line)     // Linux uses KERN_INFO; Keel shows it at its default loglevel
    }
}

/// si_code of a SIGBUS for an address with nothing behind it. Linux: BUS_ADRERR
private let busAddressError: Int32 = 2

/// How a fault ended.
enum FaultOutcome {
    case resolved
    case segv(SegvCause)
    /// A file page wholly past the end of the file, a disk that cannot give
    /// a shared page room, or one that cannot be read. Linux: VM_FAULT_SIGBUS
    case sigbus
    /// No frame could be had. Linux: VM_FAULT_OOM
    case outOfMemory
    /// The stack must grow, which changes a VMA: run the fault again holding
    /// mmap_lock for writing. Linux: lock_mm_and_find_vma() → expand_stack()
    case needsWriteLock
}

/// The page flags of a process's own anonymous page (zero-filled or a copy):
/// /proc/kpageflags and pagemap read them. Linux: PageAnon + PG_swapbacked
let anonymousPageFlags: PageFlags = [.anon, .swapBacked]

extension MM {
    /// `handleFault` under mmap_lock held for reading. (A method of the mm, so
    /// the lock is reached through `self` without a reference count taken for
    /// each call: two atomic pairs fewer on the hottest path under TCG.)
    /// Linux: lock_mm_and_find_vma() + handle_mm_fault() + mmap_read_unlock()
    func handleFaultReadLocked(at address: VirtAddr, access: FaultAccess, how: inout FaultHow) -> FaultOutcome {
        mmapLock.lockRead()
        defer { mmapLock.unlockRead() }
        return handleFault(at: address, access: access, how: &how)
    }

    /// `handleFault` for a kernel caller that does not ask how (a user copy's
    /// pre-fault, get_user_pages).
    func handleFault(at address: VirtAddr, access: FaultAccess) -> FaultOutcome {
        var how = FaultHow.spurious
        return handleFault(at: address, access: access, how: &how)
    }

    /// Resolves a fault at `address` in this mm, or says why it cannot, and
    /// sets `how` to the path taken (for keel:fault_resolved).
    /// Linux: handle_mm_fault() → __handle_mm_fault() → handle_pte_fault()
    func handleFault(at address: VirtAddr, access: FaultAccess, how: inout FaultHow) -> FaultOutcome {
        precondition(mmapLock.isLocked, "handle_mm_fault() without mmap_lock")
        VMStat.count(.pageFaults)
        let page = address.alignedDown()
        var lookup = vmas.findVMAPrev(address)
        // A lockless look at the PTE, as Linux's ptep_get_lockless(): the
        // tables cannot go while mmap_lock is held, an entry is one aligned
        // word, and every action re-checks it under pageTableLock.
        var seen = pteState(at: page)
        var action = FaultAction.classify(address: address, access: access, vma: lookup.vma, prev: lookup.prev,
                                          pte: seen.state, layout: layout)
        if case .growStack(let newStart) = action {
            guard mmapLock.isWriteLocked else { return .needsWriteLock }
            do { try vmas.expandDownwards(to: newStart) } catch { return .segv(.noVMA) }
            VMStat.count(.stackGrowths)
            how = .stackGrowth
            lookup = vmas.findVMAPrev(address)
            seen = pteState(at: page)
            action = FaultAction.classify(address: address, access: access, vma: lookup.vma, prev: lookup.prev,
                                          pte: seen.state, layout: layout)
        }
        // A write to a read-only page of the swap cache that no PTE needs any
        // more as a slot: out of the cache, and the write may reuse the page.
        // Linux: wp_can_reuse_anon_folio() → folio_free_swap()
        if case .copyOnWrite = action, let entry = seen.entry,
           PageAllocator.page(entry.frame).pointee.flags.contains(.swapCache), Swap.freeIfUnused(entry.frame) {
            seen = pteState(at: page)
            action = FaultAction.classify(address: address, access: access, vma: lookup.vma, prev: lookup.prev,
                                          pte: seen.state, layout: layout)
        }
        if how != .stackGrowth { how = FaultHow(action) }     // a fault that grew the stack says so
        guard let vma = lookup.vma else { return .segv(.noVMA) }
        switch action {
        case .spurious:
            flush(page)
            return .resolved
        case .segv(let cause):
            return .segv(cause)
        case .growStack:
            return .segv(.noVMA)        // grown once already and still not covered
        case .zeroFillAnonymous:
            VMStat.count(.zeroFillFaults)
            return mapNewFrame(page, vma: vma, writable: true, fill: { PageBytes.clear($0) })
        case .mapZeroPage:
            VMStat.count(.zeroPageMaps)
            return mapIfEmpty(page, ZeroPage.frame, flags: Self.pteFlags(for: vma.flags, writable: false))
        case .readFilePage(let index), .copyFilePage(let index), .writeSharedFilePage(let index):
            guard case .file(let file, _) = vma.backing, let mapping = MappedFiles.mapping(file) else {
                return .segv(.accessError)
            }
            return fileFault(page, vma: vma, mapping: mapping, index: index, action: action, how: &how)
        case .copyOnWrite:
            VMStat.count(.cowFaults)
            guard let entry = seen.entry else { return .resolved }      // (classified present: never nil)
            return copyOnWrite(page, vma: vma, seen: entry)
        case .swapIn(let entry):
            guard let pte = seen.entry else { return .resolved }        // (classified swapped: never nil)
            return swapIn(page, vma: vma, entry: entry, seen: pte, write: access.kind == .write, how: &how)
        case .migrationWait:
            return waitForMigration()
        case .reuseOnWrite:
            VMStat.count(.cowReuses)
            guard let entry = seen.entry else { return .resolved }
            return reuseOnWrite(page, vma: vma, seen: entry)
        }
    }

    /// A fresh frame, every byte of it written by `fill` (no lock held), mapped
    /// at `page` unless another thread's fault mapped one there meanwhile.
    /// Linux: do_anonymous_page(), do_read_fault(), do_cow_fault()
    private func mapNewFrame(_ page: VirtAddr, vma: VMA, writable: Bool,
                             fill: (UnsafeMutableRawPointer) -> Void) -> FaultOutcome {
        guard let frame = PageAllocator.allocate(on: NUMAPolicy.choice(for: vma, at: page)) else { return .outOfMemory }
        newAnonPage(frame, at: page)
        fill(UnsafeMutableRawPointer(DirectMap.pointer(frame, as: UInt8.self)))
        let installed = installIfEmpty(page, frame, flags: Self.pteFlags(for: vma.flags, writable: writable), fresh: true)
        if installed != .installed { PageAllocator.free(frame) }
        return installed == .noMemory ? .outOfMemory : .resolved
    }

    /// A fresh frame becomes an anonymous page of this mm at `page`: marked,
    /// recorded in the reverse map, and on the active anon LRU list (with no
    /// reference yet, reclaim passes it by until it is mapped; if it never
    /// is, its free takes it off). Linux: folio_add_new_anon_rmap() +
    /// folio_add_lru_vma()
    private func newAnonPage(_ frame: PhysAddr, at page: VirtAddr) {
        PageAllocator.mark(frame, anonymousPageFlags)
        RMap.addNewAnonPage(frame, self, at: page)
        LRU.add(frame)
    }

    /// Maps a frame that lives on without this PTE (the zero page, a shared
    /// object's page) if the PTE is still empty.
    private func mapIfEmpty(_ page: VirtAddr, _ frame: PhysAddr, flags: PTEFlags) -> FaultOutcome {
        installIfEmpty(page, frame, flags: flags) == .noMemory ? .outOfMemory : .resolved
    }

    /// What became of a frame offered for an empty PTE.
    private enum Install { case installed, lostRace, noMemory }

    /// Under the page-table lock: maps `frame` at `page` if nothing is mapped
    /// there. Linux: finish_fault() / set_pte_range() after the pte_none() recheck
    private func installIfEmpty(_ page: VirtAddr, _ frame: PhysAddr, flags: PTEFlags, fresh: Bool = false) -> Install {
        pageTableLock.lock()
        defer { pageTableLock.unlock() }
        do {
            try mapPage(page, frame, flags: flags, fresh: fresh)
            return .installed
        } catch .alreadyMapped {
            return .lostRace
        } catch {
            return .noMemory
        }
    }

    /// Makes an exclusive page writable in place, if the PTE is still the
    /// read-only one the decision saw. Linux: wp_page_reuse()
    private func reuseOnWrite(_ page: VirtAddr, vma: VMA, seen: PageTableEntry) -> FaultOutcome {
        // A shared file page the write-back made read-only: room on the disk
        // and dirty again before it is written. Linux: wp_page_shared() → do_page_mkwrite()
        if PageAllocator.page(seen.frame).pointee.isPageCache, case .file(let file, let pageOffset) = vma.backing,
           let mapping = MappedFiles.mapping(file) {
            do throws(Errno) {
                try mapping.pageMkwrite(pageOffset + (page - vma.start) >> pageShift, seen.frame)
            } catch {
                return .sigbus
            }
        }
        pageTableLock.lock()
        defer { pageTableLock.unlock() }
        guard let (address, flags, _) = pageTable.translate(page), address.alignedDown() == seen.frame,
              !flags.contains(.writable) else { return .resolved }   // another thread did it, or more
        do {
            _ = try pageTable.protect(page, flags: Self.pteFlags(for: vma.flags, writable: true))
        } catch {
            Panic.now("wp_page_reuse: the PTE at \(Fmt.hex(page.value)) vanished under the page-table lock: \(error)")
        }
        flush(page)
        return .resolved
    }

    /// A page-cache page for a fault on a file mapping: found in the cache or
    /// read into it, then mapped as it is (read-only for a read, so the first
    /// store faults again and dirties it; writable for a store to a shared
    /// mapping, once the file system found it room) or copied for a store to
    /// a private mapping. A page wholly past the end of the file is SIGBUS.
    /// Linux: do_fault() → do_read_fault() / do_shared_fault() / do_cow_fault(),
    /// filemap_fault()
    private func fileFault(_ page: VirtAddr, vma: VMA, mapping: AddressSpace, index: UInt64, action: FaultAction,
                           how: inout FaultHow) -> FaultOutcome {
        guard index < (UInt64(mapping.size) + pageSize - 1) / pageSize else { return .sigbus }
        let frame: PhysAddr
        do throws(Errno) {
            let found = try mapping.getPage(index, reading: true)
            frame = found.frame
            if found.wasRead { VMStat.count(.majorFaults) }
            if mapping.isShmem { VMStat.count(.shmemFaults) }
            how = mapping.isShmem ? .shmem : found.wasRead ? .fileRead : .pageCache
        } catch .ENOMEM {
            return .outOfMemory
        } catch {
            return .sigbus                 // EIO reading it, ENOSPC for a new tmpfs page
        }
        defer { mapping.putPage(frame) }
        if case .copyFilePage = action {
            how = .cowCopy
            return mapNewFrame(page, vma: vma, writable: true) { copy in
                PageBytes.copy(to: copy.assumingMemoryBound(to: UInt8.self), from: DirectMap.pointer(frame, as: UInt8.self))
            }
        }
        let write = action == .writeSharedFilePage(pageOffset: index)
        if write {
            do throws(Errno) { try mapping.pageMkwrite(index, frame) } catch { return .sigbus }
        }
        let flags = Self.pteFlags(for: vma.flags, writable: write)
        // Mapped while the cache still holds the page for the file: a truncate
        // comes wholly before (the page is gone: the fault runs again) or after.
        let installed = mapping.whileCached(index, frame) { installIfEmpty(page, frame, flags: flags) }
        if installed == .noMemory { return .outOfMemory }
        if !write { mapAround(page, vma: vma, mapping: mapping, index: index) }
        return .resolved
    }

    /// Pages a read fault maps besides its own: the others of its aligned
    /// 64 KiB window inside the VMA that are in the cache already, read-only,
    /// so reading a file through a mapping takes a fault per 16 pages, not per
    /// page. Nothing is read from the disk for them. Linux: do_fault_around()
    /// (fault_around_bytes = 64 KiB) → filemap_map_pages()
    private func mapAround(_ page: VirtAddr, vma: VMA, mapping: AddressSpace, index: UInt64) {
        let window = Self.faultAroundPages * pageSize
        let start = max(vma.start, VirtAddr(page.value & ~(window - 1)))
        let end = min(vma.end, start + window)
        guard end - start > pageSize else { return }
        let firstIndex = index - (page - start) >> pageShift
        let flags = Self.pteFlags(for: vma.flags, writable: false)
        mapping.forEachCachedPage(firstIndex..<firstIndex + (end - start) >> pageShift) { around, frame in
            guard around != index else { return true }
            pageTableLock.lock()
            defer { pageTableLock.unlock() }
            do throws(PageTableError) {
                try mapPage(start + (around - firstIndex) << pageShift, frame, flags: flags)
            } catch .alreadyMapped {
                // mapped already (the fault's own page, or an earlier fault's)
            } catch {
                return false                                    // no page table: the fault is done anyway
            }
            return true
        }
    }

    /// Linux: fault_around_bytes / PAGE_SIZE
    static let faultAroundPages: UInt64 = 16

    /// Copies the page into a fresh frame and swaps it into the same PTE, if
    /// the PTE still maps the frame copied from (another thread of the mm may
    /// have broken the same sharing meanwhile: then the copy goes back). The
    /// old frame loses a mapping and is freed with its last.
    /// Linux: wp_page_copy() with its pte_same() re-check
    private func copyOnWrite(_ page: VirtAddr, vma: VMA, seen: PageTableEntry) -> FaultOutcome {
        guard let frame = PageAllocator.allocate(on: NUMAPolicy.choice(for: vma, at: page)) else { return .outOfMemory }
        newAnonPage(frame, at: page)
        // The old frame may be freed while it is copied (its other mapper broke
        // the sharing too, and this mm's PTE changed first): then the re-check
        // fails and the copy is dropped unread.
        PageBytes.copy(to: DirectMap.pointer(frame, as: UInt8.self), from: DirectMap.pointer(seen.frame, as: UInt8.self))
        pageTableLock.lock()
        do {
            try pageTable.replaceFrame(page, expecting: seen, with: frame,
                                       flags: Self.pteFlags(for: vma.flags, writable: true)) { flush(page) }
        } catch .changed {
            pageTableLock.unlock()
            PageAllocator.free(frame)
            return .resolved            // another thread of this mm got there first
        } catch {
            Panic.now("wp_page_copy: the PTE at \(Fmt.hex(page.value)) is not a 4 KiB page: \(error)")
        }
        MapCount.initialize(frame, to: 1)       // the fresh copy: nobody else sees it yet
        rss.anon += 1
        dropFrame(seen.frame)
        pageTableLock.unlock()
        return .resolved
    }
}
