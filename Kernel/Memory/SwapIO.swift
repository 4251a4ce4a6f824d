// Writing a page to its swap slot: eight 512-byte sectors at slot × 8 of the
// area's disk (or a swap file's blocks, SwapArea.transfer), synchronously
// (the caller sleeps until the disk is done). The frame is written from the
// direct map, so the disk's DMA uses it without a copy. Reading is
// SwapIn.swift's. Linux: mm/page_io.c (swap_writepage, count_vm_event PSWPOUT)

extension Swap {
    /// Writes the swap-cache page `frame` (held by the caller) to its slot.
    /// The page's dirty flag is the caller's business. EIO if the disk fails;
    /// ENOENT if the page left the swap cache meanwhile (its slot's last
    /// user went, an exit or munmap on another CPU, and took it out: nothing
    /// needs writing). Linux: swap_writepage() → __swap_writepage()
    static func writePage(_ frame: PhysAddr) throws(Errno) {
        lock.lock()
        guard let (area, offset) = SwapCache.slot(of: frame) else {
            lock.unlock()
            throw .ENOENT
        }
        lock.unlock()
        // The area cannot go while a page of it is in the cache (swapoff
        // empties the cache first, and leaves alone a page reclaim holds).
        try area.transfer(offset, UnsafeMutableRawPointer(DirectMap.pointer(frame, as: UInt8.self)), write: true)
        VMStat.count(.swapOuts)
    }
}
