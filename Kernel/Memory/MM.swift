// A process's memory: its own PML4 (sharing the kernel's upper-half slots),
// the VMAs in a red-black tree, and the classic mm_struct fields /proc and brk
// use. Threads share one mm. This file holds its life cycle and the page-level
// primitives every other mm file uses:
//
//   MM()                 a fresh mm with no user mappings     Linux: mm_alloc()
//   duplicate()          fork's copy-on-write copy            Linux: dup_mmap()
//   get() / put()        one more / one fewer task uses it;   Linux: mmget(), mmput()
//                        the last put tears it down           Linux: exit_mmap()
//   mapPage()            one PTE and its frame reference      Linux: set_pte_at()
//   releaseUserPages()   unmap a range, flush, free frames    Linux: zap_page_range()
//   flush()              TLB flush on every CPU using the mm  Linux: flush_tlb_mm_range()
//
// Locking, as Linux's mm_struct: `mmapLock` (a sleeping reader/writer lock)
// protects the VMAs, the layout fields and which page tables exist: page faults
// hold it for reading, mmap, munmap, mprotect, mremap, brk, madvise and fork's
// copy for writing. Faults of several threads may run at once under the read
// side, so a PTE is looked at and changed only under `pageTableLock` (or with
// mmapLock held for writing, which keeps every fault out). `users` and
// `activeCPUs` are atomic words: tasks on any CPU take and drop the mm, and the
// context switch marks the CPUs it runs on.
// Linux: struct mm_struct (include/linux/mm_types.h), kernel/fork.c, mm/memory.c

import Synchronization

/// Linux: struct mm_struct
final class MM {
    /// Orders every change to the VMAs and to the layout of the page table:
    /// page faults hold it for reading, mmap, munmap, mprotect, mremap, brk and
    /// fork's copy for writing. A sleeping lock, since its holder may fault on
    /// user memory or wait for memory. Linux: mmap_lock (mmap_sem before 5.8)
    let mmapLock = RWSemaphore(MM.mmapLockClass)
    static let mmapLockClass = LockClass("&mm->mmap_lock", sleeping: true)
    /// Every PTE of this mm and `rss`: a fault holds it to fill or change
    /// a PTE, re-checking what it saw locklessly before the slow part (see
    /// PageFault.swift).
    /// Taken inside mmapLock and before the page allocator's locks; a TLB
    /// shootdown may be sent while it is held (it leaves interrupts on).
    /// Linux: mm->page_table_lock (Linux also splits it per page-table page)
    let pageTableLock = SpinLock(MM.pageTableLockClass, disablesInterrupts: false)
    static let pageTableLockClass = LockClass("&mm->page_table_lock")
    /// Changed under mmapLock (written) and pageTableLock (entries); its root never changes.
    var pageTable: PageTable<DirectMap>
    /// Linux: mm_mt (the maple tree; older kernels: mm_rb + mmap list)
    var vmas = VMATree()
    var layout = MMLayout()
    /// Flags every new mapping and heap page gets: mlockall(MCL_FUTURE)'s
    /// lock bits. Protected by mmapLock; a new mm (fork, execve) starts
    /// without them. Linux: mm->def_flags
    var defFlags: VMFlags = []
    /// Linux: start_code, end_code, start_data, end_data, start_brk, brk, start_stack
    var startCode = VirtAddr(0), endCode = VirtAddr(0)
    var startData = VirtAddr(0), endData = VirtAddr(0)
    var startBrk = VirtAddr(0), brk = VirtAddr(0)
    var startStack = VirtAddr(0)
    /// The program file execve loaded, for /proc/<pid>/exe; while the mm lives
    /// the file cannot be written (ETXTBSY). Set by `setExeFile` before the mm
    /// is installed (execve, fork), let go of by exit_mmap. Linux: mm->exe_file
    private(set) var exeFile: Dentry?

    /// Linux: set_mm_exe_file() with deny_write_access()
    func setExeFile(_ file: Dentry?) {
        file?.inode.denyWrite()
        exeFile?.inode.allowWrite()
        exeFile = file
    }
    /// Pages with a PTE in this mm (the shared zero page excluded), by kind,
    /// classified by the page descriptor as each PTE is made and removed.
    /// Changed under pageTableLock or with mmapLock held for writing; read
    /// racily by /proc and the OOM killer. Linux: rss_stat (MM_ANONPAGES,
    /// MM_FILEPAGES, MM_SHMEMPAGES)
    var rss = RSSStat()
    /// Resident pages of every kind. Linux: get_mm_rss()
    var rssPages: Int { rss.total }
    /// The OOM reaper has taken this mm's private memory (or given up on it):
    /// the OOM killer passes over its process from now on, even while a
    /// thread of it is still on its way out. Set under mmapLock held for
    /// reading by the reaper; read racily by the OOM killer. Linux: MMF_OOM_SKIP
    var oomSkip = false
    /// The anon_vma this mm's new anonymous pages record (made at the first),
    /// and every anon_vma whose pages it may map: its own and, from fork, its
    /// ancestors'. `RMap.lock` held. Linux: vma->anon_vma, vma->anon_vma_chain
    var anonVMA: AnonVMA? = nil
    var anonChain: [AnonVMA] = []
    /// Swap PTEs in this mm: pages of it that are in a swap slot, not in
    /// memory (a migration entry counts in `rss` instead, as the page it
    /// stands for). Changed under pageTableLock or with mmapLock held for
    /// writing; read racily by /proc and the OOM killer. Linux: MM_SWAPENTS
    var swapEntries = 0
    /// CPUs that have this mm loaded in CR3, which a TLB flush must reach. Set and
    /// cleared atomically (by the context switch on other CPUs too).
    /// Linux: mm_cpumask(), cpumask_set_cpu() / cpumask_clear_cpu()
    private let activeCPUWord = Atomic<UInt64>(0)
    var activeCPUs: CPUMask { CPUMask(rawValue: activeCPUWord.load(ordering: .acquiring)) }
    /// Tasks using this mm: threads sharing it, a vfork child borrowing it.
    /// The last put() tears it down. Linux: mm_users (an atomic_t)
    private let userCount = Atomic<Int>(1)
    var users: Int { userCount.load(ordering: .relaxed) }
    /// The mapped objects (files, shared anonymous memory) some VMA maps, one
    /// reference each (MappedFiles.swift). Linux: the vm_file references of the VMAs
    private var mappedFiles: [MappedFileID] = []

    /// This CPU now runs on this mm's page table (or is about to).
    func activate(on cpu: Int) {
        activeCPUWord.bitwiseOr(CPUMask.cpu(cpu).rawValue, ordering: .acquiringAndReleasing)
    }

    /// This CPU no longer runs on this mm's page table.
    func deactivate(on cpu: Int) {
        activeCPUWord.bitwiseAnd(~CPUMask.cpu(cpu).rawValue, ordering: .acquiringAndReleasing)
    }

    /// A fresh mm with no user mappings and one user. Linux: mm_alloc() + pgd_alloc()
    init?() {
        var frames = KernelFrameAllocator()
        guard let table = PageTable(memory: DirectMap(), allocator: &frames) else { return nil }
        table.copyKernelEntries(from: KernelPageTable.table)
        pageTable = table
    }

    /// The memory goes with the last put(), never with the last Swift reference:
    /// a stale reference (a /proc reader, a futex key) must not decide when.
    deinit { precondition(users == 0, "mm freed while \(users) task(s) still use it: a missing put()") }

    /// Another task uses this mm (a thread, a vfork child). Linux: mmget()
    func get() {
        let before = userCount.add(1, ordering: .relaxed).oldValue
        precondition(before > 0, "mmget() on an mm already torn down")
    }

    /// A reference unless the mm is already being torn down (a reader in another
    /// task: /proc, the OOM killer). Linux: mmget_not_zero()
    func tryGet() -> Bool {
        var count = userCount.load(ordering: .relaxed)
        while count > 0 {
            let (done, now) = userCount.compareExchange(expected: count, desired: count + 1, ordering: .acquiring)
            if done { return true }
            count = now
        }
        return false
    }

    /// A task stops using this mm (exit, execve, a failed fork or exec). The
    /// caller no longer runs on its page table. Linux: mmput()
    func put() {
        let left = userCount.subtract(1, ordering: .acquiringAndReleasing).newValue
        precondition(left >= 0, "mmput() on an mm already torn down")
        if left == 0 { exitMmap() }
    }

    /// Every page, page table and object reference goes; the VMAs are forgotten.
    /// Linux: exit_mmap() + mm_free_pgd()
    private func exitMmap() {
        precondition(activeCPUs.isEmpty, "exit_mmap() of an mm still loaded on a CPU")
        // A /proc reader may still hold a reference and read the VMAs under
        // the read side; it finds `users` at 0 and the tree empty. The OOM
        // reaper's pass in progress ends at its next chunk, seeing `users` at 0
        // (OOMReaper.reapOnce). Linux: the mmap_write_lock() in exit_mmap()
        mmapLock.lockWrite()
        defer { mmapLock.unlockWrite() }
        releaseUserPages(VirtAddr(0), VirtAddr(layout.taskSize))
        vmas = VMATree()
        RMap.unlink(self)
        for id in mappedFiles { detach(id) }
        mappedFiles = []
        setExeFile(nil)
        PageAllocator.free(pageTable.root)
    }

    /// Why `duplicate` failed, with the half-built copy (if any) for the caller
    /// to put once the parent's mmap_lock is released: tearing it down takes the
    /// copy's own mmap_lock, a second lock of the same class.
    struct DuplicateFailure: Error {
        let partial: MM?
    }

    /// A copy-on-write copy of this mm, with one user. Linux: dup_mmap() + copy_page_range()
    func duplicate() throws(DuplicateFailure) -> MM {
        precondition(mmapLock.isWriteLocked, "dup_mmap() without the parent's mmap_lock held for writing")
        guard let child = MM() else { throw DuplicateFailure(partial: nil) }
        child.vmas = vmas                               // VMATree is a value: one array copy
        // Memory locks are not inherited. Linux: dup_mmap()'s vm_flags_clear(tmp, VM_LOCKED_MASK)
        if vmas.lockedVM > 0 { child.vmas.modifyAllFlags(merging: false) { $0.subtracting(.lockedMask) } }
        for vma in vmas where vma.flags.contains(.dontCopy) {
            do {
                try child.vmas.unmapRange(vma.start, vma.end) { _ in }
            } catch {
                // Removing a whole VMA never splits one, so it cannot need a node.
                Panic.now("dup_mmap: removing a VM_DONTCOPY VMA failed: \(error)")
            }
        }
        RMap.fork(self, child)
        child.mappedFiles = mappedFiles
        for id in mappedFiles {
            MappedFiles.get(id)
            MappedFiles.mapping(id)?.addMapper(child, id)
        }
        child.layout = layout
        child.startCode = startCode; child.endCode = endCode
        child.startData = startData; child.endData = endData
        child.startBrk = startBrk; child.brk = brk; child.startStack = startStack
        child.setExeFile(exeFile)

        var frames = KernelFrameAllocator()
        var copied = RSSStat()                          // a local: a class property costs an access check per page
        var swapped = 0
        var region: VMA? = nil                          // consecutive pages share a VMA
        // A page not in memory: the child names the same swap slot (one more
        // reference to it), or waits for the same migration, which must then
        // leave a private writable page read-only on both sides so that the
        // first write copies it. Linux: copy_nonpresent_pte()
        let decideSwap = { (address: VirtAddr, pte: PageTableEntry) -> PageTable<DirectMap>.LeafCopy in
            if region == nil || !region!.contains(address) { region = self.vmas.findVMA(address) }
            guard let vma = region, vma.contains(address), !vma.flags.contains(.dontCopy),
                  let entry = pte.swapEntry else { return (nil, nil) }
            guard entry.isMigration else {
                Swap.duplicate(entry)
                swapped += 1
                return (pte, nil)
            }
            copied.add(RSSCounter(PageAllocator.page(entry.migrationFrame).pointee.flags), 1)
            guard entry.isWritableMigration && vma.flags.isCopyOnWrite else { return (pte, nil) }
            let readOnly = SwapEntry.migration(frame: entry.migrationFrame, writable: false).pageTableEntry
            return (readOnly, readOnly)
        }
        do {
            try pageTable.copyLeaves(VirtAddr(0)..<VirtAddr(layout.taskSize), into: child.pageTable,
                                     allocator: &frames, decideSwap: decideSwap) { leaf in
                if region == nil || !region!.contains(leaf.virt) { region = vmas.findVMA(leaf.virt) }
                guard let vma = region, vma.contains(leaf.virt), !vma.flags.contains(.dontCopy) else { return (nil, nil) }
                // The child's entry is old; it stays dirty (smaps counts the page
                // Shared_Dirty on both sides) unless the mapping is shared, where
                // the parent's dirty bit alone tells write-back. Linux: copy_present_pte()
                var flags = leaf.entry.flags
                flags.remove(vma.flags.contains(.shared) ? [.accessed, .dirty] : .accessed)
                var parentEntry: PageTableEntry? = nil
                if !vma.flags.contains(.shared) && flags.contains(.writable) {
                    flags.remove(.writable)      // copy-on-write: read-only on both sides
                    parentEntry = PageTableEntry(frame: leaf.entry.frame, flags: leaf.entry.flags.subtracting(.writable))
                }
                if leaf.entry.frame != ZeroPage.frame {
                    MapCount.add(leaf.entry.frame)
                    copied.add(RSSCounter(PageAllocator.page(leaf.entry.frame).pointee.flags), 1)
                }
                return (PageTableEntry(frame: leaf.entry.frame, flags: flags), parentEntry)
            }
        } catch {
            // Out of memory for a page table: the part copied so far goes again
            // (the caller puts the copy).
            child.rss = copied
            child.swapEntries = swapped
            flush(VirtAddr(0), VirtAddr(layout.taskSize))
            throw DuplicateFailure(partial: child)
        }
        child.rss = copied
        child.swapEntries = swapped
        flush(VirtAddr(0), VirtAddr(layout.taskSize))  // the parent's writable TLB entries must go
        return child
    }

    /// This mm holds a reference to `id` (just taken by the caller) for a VMA
    /// about to map it; a second reference to an object it already holds is
    /// dropped at once. Returns `id`.
    func attach(_ id: MappedFileID) -> MappedFileID {
        if mappedFiles.contains(id) {
            MappedFiles.put(id)
        } else {
            mappedFiles.append(id)
            MappedFiles.mapping(id)?.addMapper(self, id)
        }
        return id
    }

    /// Lets go of this mm's reference to `id`: off the file's i_mmap, then
    /// the reference. Linux: unlink_file_vma() + fput()
    private func detach(_ id: MappedFileID) {
        MappedFiles.mapping(id)?.removeMapper(self)
        MappedFiles.put(id)
    }

    /// After VMAs went away: gives back the objects no VMA maps any more.
    /// (A scan of the VMAs, only for an mm that holds any.) Linux: fput() in remove_vma()
    func detachUnusedFiles() {
        guard !mappedFiles.isEmpty else { return }
        var used: [MappedFileID] = []
        for vma in vmas {
            if case .file(let id, _) = vma.backing, mappedFiles.contains(id), !used.contains(id) { used.append(id) }
        }
        for id in mappedFiles where !used.contains(id) { detach(id) }
        mappedFiles = used
    }

    /// True while this mm is loaded in CR3 on this CPU.
    var isActive: Bool { MMU.loadedRoot == pageTable.root }

    /// The PTE flags a user page gets in `vma`. Linux: vm_get_page_prot()
    static func pteFlags(for flags: VMFlags, writable: Bool) -> PTEFlags {
        // PROT_NONE: the frame stays, but the MMU sees no page. Linux: PAGE_NONE
        guard flags.isAccessible else { return [.protNone, .user] }
        var pte: PTEFlags = [.present, .user]
        if writable && flags.contains(.write) { pte.insert(.writable) }
        if !flags.contains(.exec) && CPUFeatures.nx { pte.insert(.noExecute) }
        return pte
    }

    /// Maps one user page, taking a mapping reference on the frame: `.alreadyMapped`
    /// if something is (the caller holds pageTableLock, so that is another
    /// thread's fault that won), `.outOfMemory` without a page table.
    /// Linux: set_pte_at() + page_add_*_rmap()
    /// A `fresh` frame (just allocated: no other CPU can see it) gets its count
    /// with a plain store instead of an atomic add.
    func mapPage(_ address: VirtAddr, _ frame: PhysAddr, flags: PTEFlags, fresh: Bool = false) throws(PageTableError) {
        var frames = KernelFrameAllocator()
        try pageTable.map(address, to: frame, size: .size4K, flags: flags, allocator: &frames)
        if frame != ZeroPage.frame {
            if fresh { MapCount.initialize(frame, to: 1) } else { MapCount.add(frame) }
            rss.add(RSSCounter(PageAllocator.page(frame).pointee.flags), 1)
        }
    }

    /// Unmaps every user page in [start, end), dropping each frame's mapping and
    /// freeing it with the last one, and frees the page tables no mapping needs
    /// any more (`tableSpan`). `keepingTables` is for the OOM reaper, which
    /// holds mmapLock only for reading: other threads of the mm may fault
    /// meanwhile and walk the tables, so no table is freed and the PTEs are
    /// cleared under pageTableLock. Linux: zap_page_range() + free_pgtables();
    /// unmap_page_range() alone in __oom_reap_task_mm()
    func releaseUserPages(_ start: VirtAddr, _ end: VirtAddr, keepingTables: Bool = false) {
        precondition(keepingTables ? mmapLock.isLocked : mmapLock.isWriteLocked, "zap_page_range() without mmap_lock")
        // A frame's mapping is dropped at once; only frames whose last mapping this
        // was wait for the TLB flush before they are freed, like the emptied tables.
        // They wait in two fixed batches in one page (from the reserve if need be:
        // this runs when memory is gone, for the OOM killer's victim), or in a small
        // one on the stack if not even that page can be had.
        if let page = PageAllocator.allocate(flags: .memalloc) {
            zapGathering(start, end, UnsafeMutableBufferPointer(start: DirectMap.pointer(page, as: PhysAddr.self),
                                                                count: Int(pageSize) / MemoryLayout<PhysAddr>.stride),
                         keepingTables: keepingTables)
            PageAllocator.free(page)
        } else {
            withUnsafeTemporaryAllocation(of: PhysAddr.self, capacity: 64) {
                zapGathering(start, end, $0, keepingTables: keepingTables)
            }
        }
    }

    /// The zap of releaseUserPages, with `buffer` split into the two batches.
    private func zapGathering(_ start: VirtAddr, _ end: VirtAddr, _ buffer: UnsafeMutableBufferPointer<PhysAddr>,
                              keepingTables: Bool) {
        let half = buffer.count / 2
        var pages = MMUGather(mm: self, range: start..<end, batch: UnsafeMutableBufferPointer(rebasing: buffer[..<half]))
        var tables = MMUGather(mm: self, range: start..<end, batch: UnsafeMutableBufferPointer(rebasing: buffer[half...]))
        var removed = 0
        if keepingTables { pageTableLock.lock() }
        // A swap entry gives its slot back (and the swap-cache page, if that
        // was its last user); a migration entry stood for a mapping of the
        // page being moved, which the migration holds. Linux: zap_nonpresent_ptes()
        pageTable.zap(start..<end, freeingTablesIn: keepingTables ? nil : tableSpan(start, end), allocator: &tables,
                      swapEntry: { _, pte in
            guard let entry = pte.swapEntry else { return }
            if entry.isMigration {
                rss.add(RSSCounter(PageAllocator.page(entry.migrationFrame).pointee.flags), -1)
            } else {
                swapEntries -= 1
                Swap.free(entry)
            }
        }) { leaf in
            removed += 1
            if removeMapping(leaf.entry.frame) { pages.add(leaf.entry.frame) }
        }
        if keepingTables { pageTableLock.unlock() }
        guard removed > 0 || pages.count > 0 || tables.count > 0 else { return }
        // Every CPU must forget the translations (and cached table entries)
        // before the frames and the emptied tables can be reused.
        flush(start, end)
        pages.freeFlushed()
        tables.freeFlushed()
    }

    /// Where page tables may go after [start, end) is zapped: from the end of the
    /// mapping below it to the start of the one above it (the range's own edge
    /// where a VMA reaches across it). No VMA has pages there, so a table that
    /// lies entirely inside is garbage. Linux: free_pgtables()'s floor and ceiling
    private func tableSpan(_ start: VirtAddr, _ end: VirtAddr) -> Range<VirtAddr> {
        let (atStart, below) = vmas.findVMAPrev(start)
        let floor = atStart.map { $0.start < start } == true ? start : below?.end ?? VirtAddr(0)
        let ceiling: VirtAddr
        if let above = vmas.findVMA(end) {
            ceiling = above.start < end ? end : above.start
        } else {
            ceiling = VirtAddr(layout.taskSize)
        }
        return floor..<ceiling
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
        rss.add(RSSCounter(PageAllocator.page(frame).pointee.flags), -1)
        return MapCount.remove(frame)
    }

    /// What is mapped at a page, for the fault classifier, and the entry itself
    /// (nil: nothing present) for the re-check after the slow part. The caller
    /// holds mmapLock (so no table goes away); without pageTableLock the answer
    /// may be stale by the time it is used, which the re-check catches.
    /// A swap or migration PTE comes back as its state and entry.
    func pteState(at address: VirtAddr) -> (state: PTEState, entry: PageTableEntry?) {
        guard let (frame, flags, _) = pageTable.translate(address) else {
            if let pte = pageTable.entry(at: address), pte.isSwapEntry, let state = PTEState(nonPresent: pte) {
                return (state, pte)
            }
            return (.notPresent, nil)
        }
        let kind: MappedFrame = frame.alignedDown() == ZeroPage.frame ? .zeroPage
            : PageAllocator.page(frame.alignedDown()).pointee.isPageCache ? .pageCache
            : .anonymous(mapCount: Int(MapCount.count(frame)))
        return (.present(writable: flags.contains(.writable), frame: kind),
                PageTableEntry(frame: frame.alignedDown(), flags: flags))
    }

    /// The address of page `index` of file `file` in each VMA of this mm
    /// mapping it (`sharedOnly`: MAP_SHARED ones). mmap_lock held.
    /// Linux: vma_address() over the i_mmap interval tree
    func addresses(of file: MappedFileID, from first: UInt64, through last: UInt64,
                           sharedOnly: Bool, _ body: (VMA, VirtAddr, VirtAddr) -> Void) {
        for vma in vmas {
            guard case .file(let id, let pageOffset) = vma.backing, id == file,
                  !sharedOnly || vma.flags.contains(.shared) else { continue }
            let pages = (vma.end - vma.start) >> pageShift
            let lastMapped = pageOffset &+ pages &- 1
            guard last >= pageOffset, first <= lastMapped else { continue }
            let from = max(first, pageOffset), through = min(last, lastMapped)
            body(vma, vma.start + (from - pageOffset) << pageShift, vma.start + (through - pageOffset + 1) << pageShift)
        }
    }

    /// Unmaps pages `first` and above of `file` from every VMA mapping it,
    /// private copies included: a truncate took them from the file. mmap_lock
    /// held for writing. Linux: unmap_mapping_range() → zap_page_range_single()
    func unmapFilePages(_ file: MappedFileID, from first: UInt64) {
        precondition(mmapLock.isWriteLocked, "unmap_mapping_range without mmap_lock held for writing")
        var ranges: [(VirtAddr, VirtAddr)] = []
        addresses(of: file, from: first, through: UInt64.max, sharedOnly: false) { _, start, end in
            ranges.append((start, end))
        }
        for (start, end) in ranges { releaseUserPages(start, end) }
    }

    /// Makes page `index` of `file` read-only and clean wherever a shared
    /// VMA of this mm maps it as `frame`, so the next store faults and dirties
    /// the page again. mmap_lock held. Linux: page_mkclean_one()
    func writeProtectFilePage(_ file: MappedFileID, index: UInt64, frame: PhysAddr) {
        addresses(of: file, from: index, through: index, sharedOnly: true) { _, address, _ in
            pageTableLock.lock()
            let old = pageTable.writeProtect(address, ifMapping: frame)
            pageTableLock.unlock()
            if let old, !old.entry.flags.intersection([.writable, .dirty]).isEmpty { flush(address) }
        }
    }

    /// Linux: flush_tlb_page()
    func flush(_ address: VirtAddr) { flush(address, address + pageSize) }

    /// Removes stale translations of [start, end) on every CPU running this
    /// mm: this one if it has the mm loaded, the others by a shootdown.
    /// Linux: flush_tlb_mm_range()
    func flush(_ start: VirtAddr, _ end: VirtAddr) {
        let others = activeCPUs.subtracting(.cpu(PerCPU.cpu))
        guard isActive || !others.isEmpty else { return }
        TLB.flushRange(start, end, on: others)
    }
}

/// Frames a teardown unmapped (data pages, or emptied page tables as the zap's
/// allocator), given back only after the TLB flush: when the batch is full it
/// flushes the range and frees them, so any teardown needs only this fixed
/// batch. Linux: struct mmu_gather, tlb_remove_page(), tlb_flush_mmu()
struct MMUGather: FrameAllocator {
    let mm: MM
    let range: Range<VirtAddr>
    let batch: UnsafeMutableBufferPointer<PhysAddr>
    private(set) var count = 0

    init(mm: MM, range: Range<VirtAddr>, batch: UnsafeMutableBufferPointer<PhysAddr>) {
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
