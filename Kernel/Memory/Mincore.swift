// mincore(2): which pages of a range are in memory, one byte per page (bit 0).
// The range is walked VMA by VMA under mmap_lock for reading, a page of
// answers at a time, and copied out after the lock is dropped (a fault on the
// user's vector must not run under it). Linux: mm/mincore.c sys_mincore(),
// do_mincore()

extension MM {
    /// Fills `vector` for the pages from `start` on, stopping at the end of
    /// the VMA holding `start`; returns how many it filled. ENOMEM if no VMA
    /// holds `start`. mmap_lock held. Linux: do_mincore()
    func mincore(_ start: VirtAddr, into vector: UnsafeMutableBufferPointer<UInt8>) throws(Errno) -> Int {
        precondition(mmapLock.isLocked, "mincore without mmap_lock")
        guard let vma = vmas.findVMA(start), vma.contains(start) else { throw .ENOMEM }
        let end = min(vma.end, start + UInt64(vector.count) << pageShift)
        let count = Int((end - start) >> pageShift)
        var fileCached = [Bool](repeating: false, count: 0)
        if case .file(let file, let pageOffset) = vma.backing, let space = MappedFiles.mapping(file) {
            // The file's pages of the range that the page cache holds. Linux: mincore_page()
            fileCached = [Bool](repeating: false, count: count)
            let first = pageOffset + (start - vma.start) >> pageShift
            space.forEachCachedPage(first..<first + UInt64(count)) { index, _ in
                fileCached[Int(index - first)] = true
                return true
            }
        }
        let isFile = !fileCached.isEmpty
        pageTableLock.lock()
        defer { pageTableLock.unlock() }
        for i in 0..<count {
            let page = start + UInt64(i) << pageShift
            let pte = pageTable.translate(page) != nil ? PageTableEntry(raw: PTEFlags.present.rawValue)
                : pageTable.entry(at: page) ?? .none
            vector[i] = Mincore.resident(pte, fileCached: isFile ? fileCached[i] : nil,
                                         swapCached: { SwapCache.contains($0) }) ? 1 : 0
        }
        return count
    }
}

extension SwapCache {
    /// The swap cache holds a page for `entry`. Linux: mincore_page(swap_address_space(entry), ...)
    static func contains(_ entry: SwapEntry) -> Bool {
        Swap.lock.withLock { Swap.area(entry.type)?.cachedFrame(entry.offset) != nil }
    }
}
