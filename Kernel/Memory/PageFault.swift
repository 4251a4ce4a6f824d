// The page-fault path, from the #PF exception to a mapped page. In order:
//
//   PageFaultHandler.handle   decide whose fault it is: a user address with an mm
//                             (Linux: exc_page_fault → do_user_addr_fault), a user
//                             copy that gets EFAULT through the exception table, or a
//                             kernel bug (panic)
//   MM.handleFault            look up the VMA and ask Kernel/Core/VM's FaultAction
//                             what to do (Linux: handle_mm_fault → handle_pte_fault)
//   the actions               a zeroed frame (do_anonymous_page), the shared zero page,
//                             a file page (do_read_fault / do_cow_fault), a page of a
//                             shared object (shmem_fault), a copy on write
//                             (do_wp_page → wp_page_copy) or reuse of an exclusive page
//                             (wp_page_reuse)
//
// The decision is a pure truth table tested on the host (FaultAction.classify);
// this file only acts on it. It runs under the big kernel lock, taken here.
// Linux: arch/x86/mm/fault.c, mm/memory.c

enum PageFaultHandler {
    /// The #PF handler, called by Kernel/Arch with the faulting address (CR2).
    /// Linux: exc_page_fault()
    static func handle(_ frame: UnsafeMutablePointer<InterruptFrame>, address: UInt64) {
        BigKernelLock.lock()
        resolve(frame, address: address)
        BigKernelLock.unlock()
    }

    /// Linux: do_user_addr_fault(), and do_kern_addr_fault() for the rest
    private static func resolve(_ frame: UnsafeMutablePointer<InterruptFrame>, address: UInt64) {
        let error = PageFaultErrorCode(rawValue: frame.pointee.errorCode)
        let fromUser = frame.pointee.isUserMode
        let task = Scheduler.current
        if address < KernelLayout.taskSize, let mm = task.mm, !error.contains(.reservedBit) {
            let kind: FaultAccess.Kind = error.contains(.instructionFetch) ? .execute : error.contains(.write) ? .write : .read
            let outcome = mm.mmapLock.withRead {     // Linux: lock_mm_and_find_vma()
                mm.handleFault(at: VirtAddr(address), access: FaultAccess(kind, fromUserMode: fromUser))
            }
            switch outcome {
            case .resolved:
                return
            case .outOfMemory:
                switch OOMKiller.outOfMemory(faulting: task) {
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
           case .file(let file, _) = vma.backing, let inode = MappedFiles.inode(file) {
            line += " in \(FS.path(of: inode).split(separator: "/").last.map(String.init) ?? "?")"
            line += "[\(Fmt.hex(vma.start.value))+\(Fmt.hex(vma.end - vma.start))]"
        }
        Log.notice(line)     // Linux uses KERN_INFO; Keel shows it at its default loglevel
    }
}

/// How a fault ended.
enum FaultOutcome {
    case resolved
    case segv(SegvCause)
    /// No frame could be had. Linux: VM_FAULT_OOM
    case outOfMemory
}

extension MM {
    /// Resolves a fault at `address` in this mm, or says why it cannot.
    /// Linux: handle_mm_fault() → __handle_mm_fault() → handle_pte_fault()
    func handleFault(at address: VirtAddr, access: FaultAccess) -> FaultOutcome {
        BigKernelLock.assertHeld("handle_mm_fault")
        precondition(mmapLock.isLocked, "handle_mm_fault() without mmap_lock")
        VMStat.count(.pageFaults)
        let page = address.alignedDown()
        var lookup = vmas.findVMAPrev(address)
        var action = FaultAction.classify(address: address, access: access, vma: lookup.vma, prev: lookup.prev,
                                          pte: pteState(at: page), layout: layout)
        if case .growStack(let newStart) = action {
            do { try vmas.expandDownwards(to: newStart) } catch { return .segv(.noVMA) }
            VMStat.count(.stackGrowths)
            lookup = vmas.findVMAPrev(address)
            action = FaultAction.classify(address: address, access: access, vma: lookup.vma, prev: lookup.prev,
                                          pte: pteState(at: page), layout: layout)
        }
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
            return mapNewFrame(page, vma: vma, writable: true) { PageBytes.clear($0) }
        case .mapZeroPage:
            VMStat.count(.zeroPageMaps)
            return mapPage(page, ZeroPage.frame, flags: Self.pteFlags(for: vma.flags, writable: false))
                ? .resolved : .outOfMemory
        case .readFilePage(let pageOffset), .copyFilePage(let pageOffset), .writeSharedFilePage(let pageOffset):
            guard case .file(let file, _) = vma.backing else { return .segv(.accessError) }
            if let object = SharedMemory.object(file) {
                VMStat.count(.shmemFaults)
                return mapSharedPage(page, object, index: pageOffset, vma: vma, writable: access.kind == .write)
            }
            VMStat.count(.majorFaults)
            return mapNewFrame(page, vma: vma, writable: access.kind == .write) { frame in
                MappedFiles.read(file, page: pageOffset, into: frame)
            }
        case .copyOnWrite:
            VMStat.count(.cowFaults)
            return copyOnWrite(page, vma: vma)
        case .reuseOnWrite:
            VMStat.count(.cowReuses)
            // The classifier saw this PTE present, and nothing else edits the
            // table under the big kernel lock: a failure is Keel's bug.
            do {
                _ = try pageTable.protect(page, flags: Self.pteFlags(for: vma.flags, writable: true))
            } catch {
                Panic.now("wp_page_reuse: the PTE at \(Fmt.hex(page.value)) vanished: \(error)")
            }
            flush(page)
            return .resolved
        }
    }

    /// A fresh frame, every byte of it written by `fill`, mapped at `page`.
    private func mapNewFrame(_ page: VirtAddr, vma: VMA, writable: Bool,
                             _ fill: (UnsafeMutableRawPointer) -> Void) -> FaultOutcome {
        guard let frame = PageAllocator.allocate() else { return .outOfMemory }
        fill(UnsafeMutableRawPointer(DirectMap.pointer(frame, as: UInt8.self)))
        guard mapPage(page, frame, flags: Self.pteFlags(for: vma.flags, writable: writable)) else {
            PageAllocator.free(frame)
            return .outOfMemory
        }
        return .resolved
    }

    /// Maps the shared object's page itself (every sharer sees the same frame).
    /// Linux: shmem_fault() + finish_fault()
    private func mapSharedPage(_ page: VirtAddr, _ object: SharedMemoryObject, index: UInt64, vma: VMA,
                               writable: Bool) -> FaultOutcome {
        guard let frame = object.findOrCreate(index) else { return .outOfMemory }
        return mapPage(page, frame, flags: Self.pteFlags(for: vma.flags, writable: writable)) ? .resolved : .outOfMemory
    }

    /// Copies the page into a fresh frame and swaps it into the same PTE (one
    /// walk: the table is there). The old frame loses a mapping and is freed
    /// with its last. Linux: wp_page_copy()
    private func copyOnWrite(_ page: VirtAddr, vma: VMA) -> FaultOutcome {
        guard let (old, _, _) = pageTable.translate(page), let frame = PageAllocator.allocate() else { return .outOfMemory }
        let oldFrame = old.alignedDown()
        PageBytes.copy(to: DirectMap.pointer(frame, as: UInt8.self), from: DirectMap.pointer(oldFrame, as: UInt8.self))
        do {
            try pageTable.replaceFrame(page, with: frame, flags: Self.pteFlags(for: vma.flags, writable: true)) {
                flush(page)
            }
        } catch {
            Panic.now("wp_page_copy: the PTE at \(Fmt.hex(page.value)) vanished: \(error)")
        }
        MapCount.add(frame)
        rssPages += 1
        dropFrame(oldFrame)
        return .resolved
    }
}
