// Resizing and moving a mapping. Shrinking unmaps the tail; growing extends the
// VMA in place when the pages after it are free; otherwise (with
// MREMAP_MAYMOVE) the VMA moves, and its page-table entries move with it, so
// the pages themselves are never copied. Big kernel lock held.
// Linux: mm/mremap.c mremap(), vma_to_resize(), move_vma(), move_page_tables()

extension MM {
    /// Linux: mremap(), in its order of checks: flags, alignment, lengths (a
    /// zero new length is EINVAL, an old length that wraps to 0 is the "duplicate
    /// a shared mapping" special case), then the VMA (EFAULT).
    func mremap(_ old: VirtAddr, oldLength requestedOld: UInt64, newLength requestedNew: UInt64, flags: UInt64,
                newAddress: VirtAddr) throws(Errno) -> VirtAddr {
        precondition(mmapLock.isWriteLocked, "mremap without mmap_lock held for writing")
        let maymove = UInt64(Mman.MREMAP_MAYMOVE), fixed = UInt64(Mman.MREMAP_FIXED)
        guard flags & ~(maymove | fixed | UInt64(Mman.MREMAP_DONTUNMAP)) == 0 else { throw .EINVAL }
        guard flags & fixed == 0 || flags & maymove != 0 else { throw .EINVAL }
        guard old.isPageAligned else { throw .EINVAL }
        let oldLength = Mman.pageAlign(requestedOld), newLength = Mman.pageAlign(requestedNew)
        guard newLength != 0 else { throw .EINVAL }
        if flags & fixed != 0 {
            let vma = try resizableVMA(old, oldLength)
            return try move(vma, from: old, oldLength: oldLength, to: newAddress, newLength: newLength)
        }
        if newLength <= oldLength {
            // Linux: do_vmi_munmap() of the tail, EINVAL for a range outside user space
            guard let oldEnd = UserRange.end(of: old, length: oldLength) else { throw .EINVAL }
            if newLength < oldLength { try munmap(old + newLength, oldEnd) }
            return old
        }
        let vma = try resizableVMA(old, oldLength)
        // Grow in place when the pages after the region are free and it ends the VMA.
        if old + oldLength == vma.end, let end = UserRange.end(of: old, length: newLength), vmas.findIntersection(vma.end, end) == nil {
            var grown = vma
            grown.start = vma.end
            grown.end = end
            if case .file(let file, let pageOffset) = vma.backing {
                grown.backing = .file(file, pageOffset: pageOffset + ((vma.end - vma.start) >> pageShift))
            }
            do { try vmas.insert(grown) } catch { throw .ENOMEM }
            _ = vmas.mergeAdjacent(at: vma.end)
            if grown.flags.populatesWhenLocked { populate(grown.start, grown.end) }   // Linux: mremap()'s mm_populate()
            return old
        }
        guard flags & maymove != 0 else { throw .ENOMEM }
        let target: VirtAddr
        do { target = try vmas.getUnmappedArea(length: newLength, layout: layout) } catch { throw error.errno }
        return try move(vma, from: old, oldLength: oldLength, to: target, newLength: newLength)
    }

    /// The VMA holding [old, old + oldLength): EFAULT if there is none or the range
    /// runs past it; EINVAL for a zero old length of a private mapping (only a
    /// shared one may be duplicated that way). Linux: vma_to_resize()
    private func resizableVMA(_ old: VirtAddr, _ oldLength: UInt64) throws(Errno) -> VMA {
        guard let vma = vmas.findVMA(old), vma.contains(old) else { throw .EFAULT }
        if oldLength == 0 && !vma.flags.contains(.shared) { throw .EINVAL }
        guard oldLength <= vma.end - old else { throw .EFAULT }
        return vma
    }

    /// The reverse map finds an anonymous page at the virtual page number it
    /// records: a page only this PTE maps now records its new address. (One
    /// still shared with a forked relative keeps the old number and can only
    /// be found there: reclaim then leaves it resident. Linux keeps vm_pgoff
    /// with the moved VMA instead.) mmap_lock held for writing, so no
    /// reverse-map walk is inside this mm meanwhile.
    private func followAnonPage(_ frame: PhysAddr, to address: VirtAddr) {
        guard frame != ZeroPage.frame else { return }
        let page = PageAllocator.page(frame)
        guard page.pointee.flags.contains(.anon), MapCount.mappers(frame) == 1 else { return }
        page.pointee.index = address.value >> pageShift
    }

    /// Moves [old, old+oldLength) to `target`, page table entries and all, then
    /// extends it to newLength. Linux: move_vma() + move_page_tables()
    private func move(_ vma: VMA, from old: VirtAddr, oldLength: UInt64,
                      to target: VirtAddr, newLength: UInt64) throws(Errno) -> VirtAddr {
        guard target.isPageAligned, UserRange.end(of: target, length: newLength) != nil else { throw .EINVAL }
        // Linux: mremap_to() refuses a target overlapping the source
        if old.value < target.value + newLength && target.value < old.value + oldLength { throw .EINVAL }
        let moved = min(oldLength, newLength)
        if vmas.findIntersection(target, target + newLength) != nil { try munmap(target, target + newLength) }
        var piece = vma
        piece.start = target
        piece.end = target + newLength
        if case .file(let file, let pageOffset) = vma.backing {
            piece.backing = .file(file, pageOffset: pageOffset + ((old - vma.start) >> pageShift))
        }
        do { try vmas.insert(piece) } catch { throw .ENOMEM }
        // In batches on the stack, not one array of every leaf: a large
        // mapping's array would come from the Swift heap, which traps when
        // memory is short (realloc of a big heap runs exactly then).
        var frames = KernelFrameAllocator()
        var movedAny = false
        var cursor = old
        withUnsafeTemporaryAllocation(of: PageTableLeaf.self, capacity: Self.moveBatch) { batch in
            while cursor < old + moved {
                let n = collect(into: batch) { (body) throws(BatchFull) in try pageTable.forEachLeaf(in: cursor..<(old + moved), body) }
                guard n > 0 else { break }
                for leaf in batch[0..<n] { moveLeaf(leaf, from: old, to: target, &frames) }
                movedAny = true
                cursor = batch[n - 1].virt + pageSize
            }
        }
        moveSwapEntries(from: old, length: moved, to: target)
        // One flush (one shootdown on SMP) for every page moved.
        if movedAny { flush(old, old + moved) }
        do { try vmas.unmapRange(old, old + oldLength) { _ in } } catch { throw error.errno }
        releaseUserPages(old, old + oldLength)
        // A locked mapping's new pages come in now. Linux: mremap()'s mm_populate()
        if newLength > moved && piece.flags.populatesWhenLocked { populate(target + moved, target + newLength) }
        return target
    }

    /// Leaves or swap entries moved per page-table walk.
    private static let moveBatch = 64

    /// Stops a page-table walk once its batch is full.
    private struct BatchFull: Error {}

    /// Runs `walk`, storing what it visits in `batch` until the batch is
    /// full; returns how many it stored. The walk resumes later after the
    /// last one.
    private func collect<T>(into batch: UnsafeMutableBufferPointer<T>,
                            _ walk: ((T) throws(BatchFull) -> Void) throws(BatchFull) -> Void) -> Int {
        var n = 0
        do {
            try walk { (item) throws(BatchFull) in
                guard n < batch.count else { throw BatchFull() }
                batch[n] = item
                n += 1
            }
        } catch {
            // The batch is full: its items are handled, then the walk goes on after them.
        }
        return n
    }

    /// Moves one leaf of [old, ...) to its place after `target`.
    private func moveLeaf(_ leaf: PageTableLeaf, from old: VirtAddr, to target: VirtAddr, _ frames: inout KernelFrameAllocator) {
        do {
            // Tables stay (the release below frees emptied ones after its flush), so
            // putting a page back where it was cannot need memory.
            let destination = target + (leaf.virt - old)
                _ = try pageTable.unmap(leaf.virt, freeEmptyTables: false, allocator: &frames)
                do {
                    try pageTable.map(destination, to: leaf.entry.frame, size: .size4K, flags: leaf.entry.flags,
                                      allocator: &frames)
                    followAnonPage(leaf.entry.frame, to: destination)
                } catch {
                    // No memory for a table at the target: the page stays behind and
                    // goes with the old range below (its contents lost, as with any OOM).
                    try pageTable.map(leaf.virt, to: leaf.entry.frame, size: .size4K, flags: leaf.entry.flags,
                                      allocator: &frames)
                }
        } catch {
            Panic.now("mremap: the page table lost a leaf it had just listed: \(error)")
        }
    }

    /// The swap and migration entries of [old, old+length) move to `target`
    /// too: the pages they stand for belong to the new place. One that finds
    /// no page table at the target stays behind and is freed with the old
    /// range (the page is lost, as any page would be without memory).
    /// Linux: move_ptes(), which moves every non-none entry alike
    private func moveSwapEntries(from old: VirtAddr, length: UInt64, to target: VirtAddr) {
        var frames = KernelFrameAllocator()
        var cursor = old
        withUnsafeTemporaryAllocation(of: (VirtAddr, PageTableEntry).self, capacity: Self.moveBatch) { batch in
            while cursor < old + length {
                let n = collect(into: batch) { (body) throws(BatchFull) in
                    try pageTable.forEachSwapEntry(in: cursor..<(old + length)) { (address, pte) throws(BatchFull) in
                        try body((address, pte))
                    }
                }
                guard n > 0 else { break }
                for (address, pte) in batch[0..<n] {
                    do throws(PageTableError) {
                        try pageTable.replaceEntry(address, expecting: pte, with: .none)
                        do throws(PageTableError) {
                            try pageTable.installSwapEntry(target + (address - old), pte, allocator: &frames)
                        } catch {
                            try pageTable.replaceEntry(address, expecting: .none, with: pte)
                        }
                    } catch {
                        Panic.now("mremap: the swap entry at \(Fmt.hex(address.value)) just listed is gone: \(error)")
                    }
                }
                cursor = batch[n - 1].0 + pageSize
            }
        }
    }
}
