// mmap, munmap, mprotect, mremap, madvise, msync and brk: the system calls that
// edit an address space's VMAs. Pages are only mapped later, by faults.
// Linux: mm/mmap.c, mm/mprotect.c, mm/mremap.c, mm/madvise.c

enum MemorySyscalls {
    static let PROT_READ: UInt64 = 1, PROT_WRITE: UInt64 = 2, PROT_EXEC: UInt64 = 4
    static let MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03, MAP_TYPE = 0x0f
    static let MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100, MAP_DENYWRITE = 0x800
    static let MAP_EXECUTABLE = 0x1000, MAP_LOCKED = 0x2000, MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000
    static let MAP_NONBLOCK = 0x10000, MAP_STACK = 0x20000, MAP_HUGETLB = 0x40000, MAP_FIXED_NOREPLACE = 0x100000
    static let MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4
    static let MADV_NORMAL = 0, MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_WILLNEED = 3, MADV_DONTNEED = 4
    static let MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4

    private static var mm: AddressSpace {
        get throws(Errno) {
            guard let mm = Scheduler.current.mm else { throw .EFAULT }
            return mm
        }
    }

    /// PAGE_ALIGN() of a size_t as C computes it: a length within a page of
    /// 2^64 wraps to 0, which each call turns into Linux's errno for it.
    private static func pageAlign(_ length: UInt64) -> UInt64 {
        (length &+ pageSize &- 1) & ~(pageSize - 1)
    }

    /// [start, start + length) as a user range, or nil if it runs past TASK_SIZE
    /// (or wraps). Written as `length <= TASK_SIZE - start`, so nothing overflows.
    private static func userEnd(_ start: VirtAddr, _ length: UInt64) -> VirtAddr? {
        guard start.value <= KernelLayout.taskSize, length <= KernelLayout.taskSize - start.value else { return nil }
        return start + length
    }

    /// Linux: ksys_mmap_pgoff() → do_mmap()
    static func mmap(_ a: SyscallArgs) throws(Errno) -> Int {
        let hint = a.address(0), prot = a.u64(2), flags = a.int(3), fd = a.int(4), offset = a.u64(5)
        guard offset & (pageSize - 1) == 0 else { throw .EINVAL }
        guard a.u64(1) != 0 else { throw .EINVAL }
        let length = pageAlign(a.u64(1))
        guard length != 0, length <= KernelLayout.taskSize else { throw .ENOMEM }   // Linux: PAGE_ALIGN wrapped
        guard (offset >> pageShift) &+ (length >> pageShift) >= offset >> pageShift else { throw .EOVERFLOW }
        let type = flags & MAP_TYPE
        guard type == MAP_SHARED || type == MAP_PRIVATE || type == MAP_SHARED_VALIDATE else { throw .EINVAL }
        let mm = try mm
        var vmFlags = VMFlags(rawValue: prot & 7).union([.mayRead, .mayWrite, .mayExec])
        if type != MAP_PRIVATE { vmFlags.formUnion([.shared, .mayShare]) }
        if flags & MAP_GROWSDOWN != 0 { vmFlags.insert(.growsDown) }

        var backing = VMABacking.anonymous
        if flags & MAP_ANONYMOUS == 0 {
            let file = try FileSyscalls.mappableInode(fd: fd)
            backing = .file(MappedFiles.id(for: file.inode), pageOffset: offset >> pageShift)
            if type != MAP_PRIVATE && !file.writable {
                guard prot & PROT_WRITE == 0 else { throw .EACCES }
                vmFlags.remove([.mayWrite, .shared])
            }
        }

        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0
        if fixed && !hint.isPageAligned { throw .EINVAL }
        let start: VirtAddr
        do {
            start = try mm.vmas.getUnmappedArea(length: length, hint: hint.value == 0 && !fixed ? nil : hint,
                                                fixed: fixed, layout: mm.layout)
        } catch {
            throw error.errno
        }
        let end = start + length
        if fixed && mm.vmas.findIntersection(start, end) != nil {
            if flags & MAP_FIXED_NOREPLACE != 0 { throw .EEXIST }
            try unmap(mm, start, end)
        }
        // Shared anonymous memory is an object of its own (Linux: shmem_zero_setup()),
        // faulted in lazily by every process that shares it.
        if type != MAP_PRIVATE && flags & MAP_ANONYMOUS != 0 {
            let object = SharedMemory.create()
            mm.sharedObjects.append(object)
            backing = .file(object, pageOffset: 0)
        }
        do {
            try mm.vmas.insert(VMA(start: start, end: end, flags: vmFlags, backing: backing))
        } catch {
            mm.dropUnusedSharedObjects()
            throw .ENOMEM
        }
        _ = mm.vmas.mergeAdjacent(at: start)
        if flags & MAP_POPULATE != 0 { populate(mm, start, end, write: prot & PROT_WRITE != 0) }
        return Int(start.value)
    }

    /// Linux: __vm_munmap()
    static func munmap(_ a: SyscallArgs) throws(Errno) -> Int {
        let start = a.address(0)
        // Linux: the range check on the length as given, then PAGE_ALIGN
        guard start.isPageAligned, userEnd(start, a.u64(1)) != nil, a.u64(1) != 0,
              let end = userEnd(start, pageAlign(a.u64(1))) else { throw .EINVAL }
        try unmap(try mm, start, end)
        return 0
    }

    static func unmap(_ mm: AddressSpace, _ start: VirtAddr, _ end: VirtAddr) throws(Errno) {
        do { _ = try mm.vmas.unmapRange(start, end) } catch { throw error.errno }
        mm.releaseUserPages(start, end)
        mm.dropUnusedSharedObjects()
    }

    /// Linux: do_mprotect_pkey()
    static func mprotect(_ a: SyscallArgs) throws(Errno) -> Int {
        let start = a.address(0)
        guard start.isPageAligned else { throw .EINVAL }
        guard a.u64(1) != 0 else { return 0 }
        let length = pageAlign(a.u64(1))
        guard length != 0, userEnd(start, length) != nil else { throw .ENOMEM }    // Linux: end <= start
        guard let protection = VMFlags(protection: a.u64(2) & ~0x0300_0000) else { throw .EINVAL }
        let end = start + length
        let mm = try mm
        do { try mm.vmas.protectRange(start, end, protection: protection) } catch { throw error.errno }
        updatePTEs(mm, start, end)
        return 0
    }

    /// Rewrites the PTEs of [start, end) after a VMA flag change. A page stays
    /// read-only while it is shared copy-on-write or the zero page.
    /// Linux: change_protection()
    static func updatePTEs(_ mm: AddressSpace, _ start: VirtAddr, _ end: VirtAddr) {
        var leaves: [PageTableLeaf] = []
        mm.pageTable.forEachLeaf(in: start..<end) { leaves.append($0) }
        for leaf in leaves {
            guard let vma = mm.vmas.findVMA(leaf.virt), vma.contains(leaf.virt) else { continue }
            let frame = leaf.entry.frame
            let exclusive = frame != ZeroPage.frame
                && (vma.flags.contains(.shared) || PageAllocator.page(frame).pointee.mapcount == 1)
            let writable = leaf.entry.flags.contains(.writable) || (exclusive && vma.flags.contains(.write))
            _ = try? mm.pageTable.protect(leaf.virt, flags: AddressSpace.pteFlags(for: vma.flags, writable: writable))
        }
        // One flush (one shootdown on SMP) for the whole range.
        if !leaves.isEmpty { mm.flush(start, end) }
    }

    /// Linux: sys_brk(). Returns the new break, or the old one if the request is refused.
    static func brk(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        let requested = a.address(0)
        guard requested >= mm.startBrk, requested.value <= KernelLayout.taskSize else { return Int(mm.brk.value) }
        let oldEnd = mm.brk.alignedUp(), newEnd = requested.alignedUp()
        if newEnd < oldEnd {
            try unmap(mm, newEnd, oldEnd)
        } else if newEnd > oldEnd {
            // Linux: check_brk_limits() and the guard gap to the next mapping
            if requested - mm.startBrk > 1 << 40 { return Int(mm.brk.value) }
            if let next = mm.vmas.findIntersection(oldEnd, newEnd + mm.layout.stackGuardGap),
               next.start < newEnd || next.flags.contains(.growsDown) {
                return Int(mm.brk.value)
            }
            do { try mm.vmas.insert(VMA(start: oldEnd, end: newEnd, flags: .dataDefault)) } catch { return Int(mm.brk.value) }
            _ = mm.vmas.mergeAdjacent(at: oldEnd)
        }
        mm.brk = requested
        return Int(requested.value)
    }

    /// Linux: mremap(), in its order of checks: flags, alignment, lengths (a
    /// zero new length is EINVAL, an old length that wraps to 0 is the "duplicate
    /// a shared mapping" special case), then the VMA (EFAULT).
    static func mremap(_ a: SyscallArgs) throws(Errno) -> Int {
        let old = a.address(0), flags = a.u64(3)
        let known = UInt64(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)
        guard flags & ~known == 0 else { throw .EINVAL }
        guard flags & UInt64(MREMAP_FIXED) == 0 || flags & UInt64(MREMAP_MAYMOVE) != 0 else { throw .EINVAL }
        guard old.isPageAligned else { throw .EINVAL }
        let oldLength = pageAlign(a.u64(1)), newLength = pageAlign(a.u64(2))
        guard newLength != 0 else { throw .EINVAL }
        let mm = try mm
        if flags & UInt64(MREMAP_FIXED) != 0 {
            let vma = try resizableVMA(mm, old, oldLength)
            return Int(try move(mm, vma, from: old, oldLength: oldLength, to: a.address(4), newLength: newLength).value)
        }
        if newLength <= oldLength {
            // Linux: do_vmi_munmap() of the tail, EINVAL for a range outside user space
            guard let oldEnd = userEnd(old, oldLength) else { throw .EINVAL }
            if newLength < oldLength { try unmap(mm, old + newLength, oldEnd) }
            return Int(old.value)
        }
        let vma = try resizableVMA(mm, old, oldLength)
        // Grow in place when the pages after the region are free and it ends the VMA.
        if old + oldLength == vma.end, let end = userEnd(old, newLength), mm.vmas.findIntersection(vma.end, end) == nil {
            var grown = vma
            grown.start = vma.end
            grown.end = end
            if case .file(let file, let pageOffset) = vma.backing {
                grown.backing = .file(file, pageOffset: pageOffset + ((vma.end - vma.start) >> pageShift))
            }
            do { try mm.vmas.insert(grown) } catch { throw .ENOMEM }
            _ = mm.vmas.mergeAdjacent(at: vma.end)
            return Int(old.value)
        }
        guard flags & UInt64(MREMAP_MAYMOVE) != 0 else { throw .ENOMEM }
        let target: VirtAddr
        do { target = try mm.vmas.getUnmappedArea(length: newLength, layout: mm.layout) } catch { throw error.errno }
        return Int(try move(mm, vma, from: old, oldLength: oldLength, to: target, newLength: newLength).value)
    }

    /// The VMA holding [old, old + oldLength): EFAULT if there is none or the range
    /// runs past it; EINVAL for a zero old length of a private mapping (only a
    /// shared one may be duplicated that way). Linux: vma_to_resize()
    private static func resizableVMA(_ mm: AddressSpace, _ old: VirtAddr, _ oldLength: UInt64) throws(Errno) -> VMA {
        guard let vma = mm.vmas.findVMA(old), vma.contains(old) else { throw .EFAULT }
        if oldLength == 0 && !vma.flags.contains(.shared) { throw .EINVAL }
        guard oldLength <= vma.end - old else { throw .EFAULT }
        return vma
    }

    /// Moves [old, old+oldLength) to `target`, page table entries and all, then
    /// extends it to newLength. Linux: move_vma() + move_page_tables()
    private static func move(_ mm: AddressSpace, _ vma: VMA, from old: VirtAddr, oldLength: UInt64,
                             to target: VirtAddr, newLength: UInt64) throws(Errno) -> VirtAddr {
        guard target.isPageAligned, userEnd(target, newLength) != nil else { throw .EINVAL }
        // Linux: mremap_to() refuses a target overlapping the source
        if old.value < target.value + newLength && target.value < old.value + oldLength { throw .EINVAL }
        let moved = min(oldLength, newLength)
        if mm.vmas.findIntersection(target, target + newLength) != nil { try unmap(mm, target, target + newLength) }
        var piece = vma
        piece.start = target
        piece.end = target + newLength
        if case .file(let file, let pageOffset) = vma.backing {
            piece.backing = .file(file, pageOffset: pageOffset + ((old - vma.start) >> pageShift))
        }
        do { try mm.vmas.insert(piece) } catch { throw .ENOMEM }
        var leaves: [PageTableLeaf] = []
        mm.pageTable.forEachLeaf(in: old..<(old + moved)) { leaves.append($0) }
        var frames = KernelFrameAllocator()
        for leaf in leaves {
            // Tables stay (the release below frees emptied ones after its flush), so
            // putting a page back where it was cannot need memory.
            let destination = target + (leaf.virt - old)
            do {
                try mm.pageTable.unmap(leaf.virt, freeEmptyTables: false, allocator: &frames)
                do {
                    try mm.pageTable.map(destination, to: leaf.entry.frame, size: .size4K, flags: leaf.entry.flags,
                                         allocator: &frames)
                } catch {
                    // No memory for a table at the target: the page stays behind and
                    // goes with the old range below (its contents lost, as with any OOM).
                    try mm.pageTable.map(leaf.virt, to: leaf.entry.frame, size: .size4K, flags: leaf.entry.flags,
                                         allocator: &frames)
                }
            } catch {
                Panic.now("mremap: the page table lost a leaf it had just listed: \(error)")
            }
        }
        // One flush (one shootdown on SMP) for every page moved.
        if !leaves.isEmpty { mm.flush(old, old + moved) }
        do { _ = try mm.vmas.unmapRange(old, old + oldLength) } catch { throw error.errno }
        mm.releaseUserPages(old, old + oldLength)
        return target
    }

    /// Linux: do_madvise(); MADV_DONTNEED drops the pages so the next touch sees
    /// zeros (private anonymous) or the file again.
    static func madvise(_ a: SyscallArgs) throws(Errno) -> Int {
        let start = a.address(0), advice = a.int(2)
        guard (MADV_NORMAL...MADV_DONTNEED).contains(advice), start.isPageAligned else { throw .EINVAL }
        let length = pageAlign(a.u64(1))
        guard a.u64(1) == 0 || length != 0 else { throw .EINVAL }              // Linux: rounded up to 0
        guard length <= UInt64.max - start.value else { throw .EINVAL }          // Linux: end < start
        guard length > 0 else { return 0 }
        let mm = try mm
        guard let end = userEnd(start, length), covered(mm, start, end) else { throw .ENOMEM }
        if advice == MADV_DONTNEED { mm.releaseUserPages(start, end) }
        return 0
    }

    /// Keel has no page cache yet, so there is nothing to write back. Linux: msync()
    static func msync(_ a: SyscallArgs) throws(Errno) -> Int {
        let start = a.address(0), flags = a.int(2)
        guard flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) == 0, start.isPageAligned,
              flags & (MS_ASYNC | MS_SYNC) != (MS_ASYNC | MS_SYNC) else { throw .EINVAL }
        let length = pageAlign(a.u64(1))
        guard length <= UInt64.max - start.value else { throw .ENOMEM }          // Linux: end < start
        guard length > 0 else { return 0 }
        guard let end = userEnd(start, length), covered(try mm, start, end) else { throw .ENOMEM }
        return 0
    }

    /// Every page of [start, end) lies in some VMA.
    private static func covered(_ mm: AddressSpace, _ start: VirtAddr, _ end: VirtAddr) -> Bool {
        var cursor = start
        while cursor < end {
            guard let vma = mm.vmas.findVMA(cursor), vma.start <= cursor else { return false }
            cursor = vma.end
        }
        return true
    }

    /// MAP_POPULATE: fault every page in now, as far as it goes. It stops at the
    /// first page that cannot be had (no memory, no access: mmap still succeeds, as
    /// Linux's does) and at a fatal signal, and gives the CPU away when asked: a
    /// huge request is never an unbounded loop in the kernel. Linux: mm_populate()
    /// → populate_vma_page_range() with its fatal_signal_pending() and cond_resched()
    private static func populate(_ mm: AddressSpace, _ start: VirtAddr, _ end: VirtAddr, write: Bool) {
        var page = start
        while page < end && !Signals.fatalPending(Scheduler.current) {
            guard case .resolved = mm.handleFault(at: page, access: FaultAccess(write ? .write : .read, fromUserMode: false))
            else { return }
            page = page + pageSize
            Scheduler.condResched()
        }
    }
}
