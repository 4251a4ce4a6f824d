// Writing a page to its swap slot: eight 512-byte sectors at slot × 8 of the
// area's disk (or a swap file's blocks, SwapArea.transfer), synchronously
// (the caller sleeps until the disk is done). The frame is written from the
// direct map, so the disk's DMA uses it without a copy. Reclaim writes a
// batch at once (`writePages`): the pages whose slots follow one another go
// to the disk as one request, as the block layer merges Linux's swap writes
// while reclaim holds its plug. Reading is SwapIn.swift's.
// Linux: mm/page_io.c (swap_writepage, count_vm_event PSWPOUT), blk_start_plug()
// in shrink_lruvec()

extension Swap {
    /// Writes the swap-cache pages `frames` (held by the caller) to their
    /// slots, each run of consecutive slots of one area in one request, and
    /// tells `done` how each page went: nil, ENOENT (it left the swap cache
    /// meanwhile: its slot's last user went, an exit or munmap on another
    /// CPU, and took it out, so nothing needs writing) or EIO (every page of
    /// a run that failed). The pages' dirty flags are the caller's business.
    /// Linux: swap_writepage() → __swap_writepage() for each, under a plug
    static func writePages(_ frames: UnsafeBufferPointer<PhysAddr>, _ done: (Int, Errno?) -> Void) {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: max(frames.count, 1)) { pages in
            var i = 0
            while i < frames.count {
                // The run starting at page i: its area, first slot and length.
                lock.lock()
                guard let (area, first) = SwapCache.slot(of: frames[i]) else {
                    lock.unlock()
                    done(i, .ENOENT)
                    i += 1
                    continue
                }
                var length = 1
                while i + length < frames.count, let (next, offset) = SwapCache.slot(of: frames[i + length]),
                      next === area, offset == first + UInt64(length) {
                    length += 1
                }
                lock.unlock()
                for k in 0..<length {
                    pages[k] = UnsafeMutableRawPointer(DirectMap.pointer(frames[i + k], as: UInt8.self))
                }
                // The area cannot go while a page of it is in the cache (swapoff
                // empties the cache first, and leaves alone a page reclaim holds).
                var failure: Errno? = nil
                do throws(Errno) {
                    try area.transfer(run: first, UnsafeBufferPointer(rebasing: pages[0..<length]), write: true)
                    VMStat.count(.swapOuts, by: UInt64(length))
                } catch {
                    failure = error
                }
                for k in 0..<length { done(i + k, failure) }
                i += length
            }
        }
    }
}
