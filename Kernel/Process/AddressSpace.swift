// A process's address space: its own PML4 (sharing the kernel's slots 254 and
// 255), the VMAs in a red-black tree, and the classic mm_struct fields that
// /proc and brk use. Threads share one. Linux: struct mm_struct

final class AddressSpace {
    var pageTable: PageTable<DirectMap>
    /// Linux: mm_rb + mmap list + vmacache
    var vmas = VMATree()
    var layout = AddressSpaceLayout()
    /// Linux: start_code, end_code, start_data, end_data, start_brk, brk, start_stack
    var startCode = VirtAddr(0), endCode = VirtAddr(0)
    var startData = VirtAddr(0), endData = VirtAddr(0)
    var startBrk = VirtAddr(0), brk = VirtAddr(0)
    var startStack = VirtAddr(0)
    /// Pages with a PTE in this address space (the shared zero page excluded). Linux: rss
    var rssPages = 0
    /// CPUs that have this address space loaded in CR3, which a TLB flush must
    /// reach. Linux: mm_cpumask()
    var activeCPUs: CPUMask = []
    /// The shared anonymous objects some VMA maps, one reference each
    /// (Kernel/Memory/Shmem.swift). Linux: the vm_file references of shmem VMAs
    var sharedObjects: [MappedFileID] = []

    /// A fresh address space with no user mappings. Linux: mm_alloc() + pgd_alloc()
    init?() {
        var frames = KernelFrameAllocator()
        guard let table = PageTable(memory: DirectMap(), allocator: &frames) else { return nil }
        table.copyKernelEntries(from: KernelPageTable.table)
        pageTable = table
    }

    deinit {
        releaseUserPages(VirtAddr(0), VirtAddr(layout.taskSize))
        for id in sharedObjects { SharedMemory.put(id) }
        PageAllocator.free(pageTable.root)
    }

    /// After VMAs went away: gives back the shared objects no VMA maps any more.
    /// (A scan of the VMAs, only for an mm that holds any.) Linux: fput() in remove_vma()
    func dropUnusedSharedObjects() {
        guard !sharedObjects.isEmpty else { return }
        var used: [MappedFileID] = []
        for vma in vmas {
            if case .file(let id, _) = vma.backing, sharedObjects.contains(id), !used.contains(id) { used.append(id) }
        }
        for id in sharedObjects where !used.contains(id) { SharedMemory.put(id) }
        sharedObjects = used
    }

    /// True while this address space is loaded in CR3 on this CPU.
    var isActive: Bool { read_cr3() & ~0xfff == pageTable.root.value }

    /// The PTE flags a user page gets in `vma`. Linux: vm_get_page_prot()
    static func pteFlags(for flags: VMFlags, writable: Bool) -> PTEFlags {
        // PROT_NONE: the frame stays, but the MMU sees no page. Linux: PAGE_NONE
        guard flags.isAccessible else { return [.protNone, .user] }
        var pte: PTEFlags = [.present, .user]
        if writable && flags.contains(.write) { pte.insert(.writable) }
        if !flags.contains(.exec) && CPUFeatures.nx { pte.insert(.noExecute) }
        return pte
    }

    /// Maps one user page, taking a mapping reference on the frame. Linux: set_pte_at()
    /// + page_add_*_rmap()
    func mapPage(_ address: VirtAddr, _ frame: PhysAddr, flags: PTEFlags) -> Bool {
        var frames = KernelFrameAllocator()
        do {
            try pageTable.map(address, to: frame, size: .size4K, flags: flags, allocator: &frames)
        } catch {
            return false
        }
        if frame != ZeroPage.frame {
            PageAllocator.page(frame).pointee.mapcount += 1
            rssPages += 1
        }
        return true
    }

    /// Unmaps every user page in [start, end), dropping each frame's mapping and
    /// freeing it with the last one, and frees emptied page tables.
    /// Linux: zap_page_range() + free_pgtables()
    func releaseUserPages(_ start: VirtAddr, _ end: VirtAddr) {
        // A frame's mapping is dropped at once; only frames whose last mapping this
        // was wait for the TLB flush before they are freed, like the emptied tables.
        // They wait in two fixed batches in one page (from the reserve if need be:
        // this runs when memory is gone, for the OOM killer's victim), or in a small
        // one on the stack if not even that page can be had.
        if let page = PageAllocator.allocate(flags: .memalloc) {
            zapGathering(start, end, UnsafeMutableBufferPointer(start: DirectMap.pointer(page, as: PhysAddr.self),
                                                                count: Int(pageSize) / MemoryLayout<PhysAddr>.stride))
            PageAllocator.free(page)
        } else {
            withUnsafeTemporaryAllocation(of: PhysAddr.self, capacity: 64) { zapGathering(start, end, $0) }
        }
    }

    /// The zap of releaseUserPages, with `buffer` split into the two batches.
    private func zapGathering(_ start: VirtAddr, _ end: VirtAddr, _ buffer: UnsafeMutableBufferPointer<PhysAddr>) {
        let half = buffer.count / 2
        var pages = MMUGather(mm: self, range: start..<end, batch: UnsafeMutableBufferPointer(rebasing: buffer[..<half]))
        var tables = MMUGather(mm: self, range: start..<end, batch: UnsafeMutableBufferPointer(rebasing: buffer[half...]))
        var removed = 0
        pageTable.zap(start..<end, allocator: &tables) { leaf in
            removed += 1
            if removeMapping(leaf.entry.frame) { pages.add(leaf.entry.frame) }
        }
        guard removed > 0 || pages.count > 0 || tables.count > 0 else { return }
        // Every CPU must forget the translations (and cached table entries)
        // before the frames and the emptied tables can be reused.
        flush(start, end)
        pages.freeFlushed()
        tables.freeFlushed()
    }

    /// One mapping fewer; the frame goes back to the buddy allocator with the last.
    /// Linux: page_remove_rmap() + put_page()
    func dropFrame(_ frame: PhysAddr) {
        if removeMapping(frame) { PageAllocator.free(frame) }
    }

    /// Counts one mapping of `frame` fewer; true when none is left (the caller
    /// frees it, possibly after a TLB flush). Linux: page_remove_rmap()
    private func removeMapping(_ frame: PhysAddr) -> Bool {
        guard frame != ZeroPage.frame else { return false }
        rssPages -= 1
        let page = PageAllocator.page(frame)
        page.pointee.mapcount -= 1
        return page.pointee.mapcount == 0
    }

    /// What is mapped at a page, for the fault classifier.
    func pteState(at address: VirtAddr) -> PTEState {
        guard let (frame, flags, _) = pageTable.translate(address) else { return .notPresent }
        let kind: MappedFrame = frame.alignedDown() == ZeroPage.frame
            ? .zeroPage
            : .anonymous(mapCount: Int(PageAllocator.page(frame).pointee.mapcount))
        return .present(writable: flags.contains(.writable), frame: kind)
    }

    /// Linux: flush_tlb_page()
    func flush(_ address: VirtAddr) { flush(address, address + pageSize) }

    /// Removes stale translations of [start, end) on every CPU running this
    /// address space: locally with invlpg, elsewhere by a TLB shootdown.
    /// Linux: flush_tlb_mm_range()
    func flush(_ start: VirtAddr, _ end: VirtAddr) {
        let me = PerCPU.cpu
        if activeCPUs.subtracting(.cpu(me)).isEmpty {
            guard isActive else { return }
            var page = start
            while page < end && page - start < 64 * pageSize { invlpg(page.value); page = page + pageSize }
            if page < end { write_cr3(read_cr3()) }
        } else {
            TLBShootdown.flushRange(start, end, on: activeCPUs)
        }
    }
}

/// Frames a teardown unmapped (data pages, or emptied page tables as the zap's
/// allocator), given back only after the TLB flush: when the batch is full it
/// flushes the range and frees them, so any teardown needs only this fixed
/// batch. Linux: struct mmu_gather, tlb_remove_page(), tlb_flush_mmu()
struct MMUGather: FrameAllocator {
    let mm: AddressSpace
    let range: Range<VirtAddr>
    let batch: UnsafeMutableBufferPointer<PhysAddr>
    private(set) var count = 0

    init(mm: AddressSpace, range: Range<VirtAddr>, batch: UnsafeMutableBufferPointer<PhysAddr>) {
        self.mm = mm
        self.range = range
        self.batch = batch
    }

    /// A teardown never allocates.
    mutating func allocateFrame() -> PhysAddr? { nil }
    mutating func freeFrame(_ frame: PhysAddr) { add(frame) }

    /// Linux: tlb_remove_page()
    mutating func add(_ frame: PhysAddr) {
        if count == batch.count {
            mm.flush(range.lowerBound, range.upperBound)
            freeFlushed()
        }
        batch[count] = frame
        count += 1
    }

    /// Frees the batch; the caller has flushed the TLB since the frames were unmapped.
    mutating func freeFlushed() {
        for frame in batch[0..<count] { PageAllocator.free(frame) }
        count = 0
    }
}

/// One frame of zeros shared by every read of untouched anonymous memory.
/// Linux: empty_zero_page, ZERO_PAGE()
enum ZeroPage {
    nonisolated(unsafe) private(set) static var frame = PhysAddr(0)

    static func allocate() {
        guard let f = PageAllocator.allocate(flags: .zero) else { Panic.now("no memory for the zero page") }
        frame = f
    }
}
