// Resolving a page fault inside an address space: the kernel half of
// Kernel/Core/VM's FaultClassifier, which decides; this file acts.
// Linux: handle_mm_fault(), do_anonymous_page(), do_read_fault(), do_wp_page()

/// How a fault ended.
enum FaultOutcome {
    case resolved
    case segv(SegvCause)
    /// No frame could be had. Linux: VM_FAULT_OOM
    case outOfMemory
}

extension AddressSpace {
    func handleFault(at address: VirtAddr, access: FaultAccess) -> FaultOutcome {
        VMStat.pageFaults += 1
        let page = address.alignedDown()
        var lookup = vmas.findVMAPrev(address)
        var action = FaultAction.classify(address: address, access: access, vma: lookup.vma, prev: lookup.prev,
                                          pte: pteState(at: page), layout: layout)
        if case .growStack(let newStart) = action {
            do { try vmas.expandDownwards(to: newStart) } catch { return .segv(.noVMA) }
            VMStat.stackGrowths += 1
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
            VMStat.zeroFillFaults += 1
            return mapNewFrame(page, vma: vma, writable: true) { _ in }
        case .mapZeroPage:
            VMStat.zeroPageMaps += 1
            return mapPage(page, ZeroPage.frame, flags: Self.pteFlags(for: vma.flags, writable: false))
                ? .resolved : .outOfMemory
        case .readFilePage(let pageOffset), .copyFilePage(let pageOffset), .writeSharedFilePage(let pageOffset):
            guard case .file(let file, _) = vma.backing else { return .segv(.accessError) }
            if let object = SharedMemory.object(file) {
                VMStat.shmemFaults += 1
                return mapSharedPage(page, object, index: pageOffset, vma: vma, writable: access.kind == .write)
            }
            VMStat.majorFaults += 1
            return mapNewFrame(page, vma: vma, writable: access.kind == .write) { frame in
                MappedFiles.read(file, page: pageOffset, into: frame)
            }
        case .copyOnWrite:
            VMStat.cowFaults += 1
            return copyOnWrite(page, vma: vma)
        case .reuseOnWrite:
            VMStat.cowReuses += 1
            guard (try? pageTable.protect(page, flags: Self.pteFlags(for: vma.flags, writable: true))) != nil else {
                return .segv(.accessError)
            }
            flush(page)
            return .resolved
        }
    }

    /// A fresh frame, filled by `fill` (which sees it zeroed), mapped at `page`.
    private func mapNewFrame(_ page: VirtAddr, vma: VMA, writable: Bool,
                             _ fill: (UnsafeMutableRawPointer) -> Void) -> FaultOutcome {
        guard let frame = PageAllocator.allocate(flags: .zero) else { return .outOfMemory }
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

    /// Linux: wp_page_copy()
    private func copyOnWrite(_ page: VirtAddr, vma: VMA) -> FaultOutcome {
        guard let (old, _, _) = pageTable.translate(page), let frame = PageAllocator.allocate() else { return .outOfMemory }
        _ = memcpy(DirectMap.pointer(frame, as: UInt8.self), DirectMap.pointer(old.alignedDown(), as: UInt8.self), Int(pageSize))
        var frames = KernelFrameAllocator()
        _ = try? pageTable.unmap(page, freeEmptyTables: false, allocator: &frames)
        flush(page)
        dropFrame(old.alignedDown())
        guard mapPage(page, frame, flags: Self.pteFlags(for: vma.flags, writable: true)) else {
            PageAllocator.free(frame)
            return .outOfMemory
        }
        return .resolved
    }
}
