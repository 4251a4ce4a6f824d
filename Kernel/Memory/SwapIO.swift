// Moving a page between a frame and its swap slot: eight 512-byte sectors
// at slot × 8 of the area's disk, written or read synchronously (the caller
// sleeps until the disk is done). The frame is read from and written to
// through the direct map, so the disk's DMA uses it without a copy.
// Linux: mm/page_io.c (swap_writepage, swap_read_folio, count_vm_event
// PSWPOUT / PSWPIN)

extension Swap {
    /// Writes the swap-cache page `frame` (held by the caller) to its slot.
    /// The page's dirty flag is the caller's business. EIO if the disk fails.
    /// Linux: swap_writepage() → __swap_writepage()
    static func writePage(_ frame: PhysAddr) throws(Errno) {
        let (device, sector) = try place(of: frame)
        try device.write(sector: sector, from: UnsafeRawBufferPointer(start: DirectMap.pointer(frame, as: UInt8.self),
                                                                         count: Int(pageSize)))
        VMStat.count(.swapOuts)
    }

    /// Reads the slot of the swap-cache page `frame` into it (the caller
    /// holds the page and is its only user until it is mapped). EIO if the
    /// disk fails. Linux: swap_read_folio()
    static func readPage(_ frame: PhysAddr) throws(Errno) {
        let (device, sector) = try place(of: frame)
        try device.read(sector: sector, into: UnsafeMutableRawBufferPointer(start: DirectMap.pointer(frame, as: UInt8.self),
                                                                             count: Int(pageSize)))
        VMStat.count(.swapIns)
    }

    /// The disk and sector of a cache page's slot. The area cannot go while a
    /// page of it is in the cache (swapoff empties the cache first).
    private static func place(of frame: PhysAddr) throws(Errno) -> (any BlockDevice, UInt64) {
        lock.lock()
        defer { lock.unlock() }
        guard let (area, offset) = SwapCache.slot(of: frame) else {
            Panic.now("swap I/O on \(Fmt.hex(frame.value)), which is not in the swap cache")
        }
        return (area.device, area.sector(of: offset))
    }
}
