// Switching swap areas on and off, and what /proc shows of them.
//
//   Swap.swapon   a disk with mkswap's header becomes a swap area: the
//                 header is read and checked, the slot map and the swap-cache
//                 index are allocated, the area gets a type and a priority.
//                 Linux: sys_swapon() (claim_swapfile, read_swap_header,
//                 setup_swap_map_and_extents, enable_swap_info)
//   Swap.swapoff  the area takes no new pages; every page of it comes back
//                 into memory (every mm's swap PTEs of the area are faulted
//                 in, the cache pages let go of their slots), then it goes.
//                 Linux: sys_swapoff() → try_to_unuse()
//
// A swap file (a regular file of an ext2 file system, without holes) works
// like a disk through its extents (Kernel/Core/Memory/SwapExtents.swift) and
// cannot be written while it is swap (ETXTBSY).
//
// Errors are Linux's: EINVAL for flags it does not know, a file that is
// neither a disk nor an ext2 file, a file with holes, or a bad header; EBUSY
// for a disk or file already used (swap, or a mounted file system); EPERM without
// CAP_SYS_ADMIN or when all 29 types are used; swapoff of something that is
// not swap is EINVAL. swapon_mutex (`Swap.swaponLock`) orders them.

extension Swap {
    /// swapon's flags. Linux: SWAP_FLAG_PREFER, SWAP_FLAG_PRIO_MASK, SWAP_FLAG_DISCARD,
    /// SWAP_FLAG_DISCARD_ONCE, SWAP_FLAG_DISCARD_PAGES (include/linux/swap.h)
    static let flagPrefer = 0x8000, flagPriorityMask = 0x7fff
    static let flagDiscard = 0x10000, flagDiscardOnce = 0x20000, flagDiscardPages = 0x40000
    /// Linux: SWAP_FLAGS_VALID
    static let validFlags = flagPriorityMask | flagPrefer | flagDiscard | flagDiscardOnce | flagDiscardPages
    /// Linux: CAP_SYS_ADMIN
    static let capSysAdmin: UInt64 = 1 << 21

    /// What swapon and swapoff name: a whole disk, or a regular file of an
    /// ext2 file system (its blocks on that file system's disk).
    enum Target {
        case disk(any BlockDevice, DeviceNumber)
        case file(Inode, Ext2Mount)

        /// `area` is this target's.
        func matches(_ area: SwapArea) -> Bool {
            switch self {
            case .disk(_, let number): return area.file == nil && area.deviceNumber == number
            case .file(let inode, _): return area.file?.inode === inode
            }
        }
    }

    /// Turns `target` (named `path` by the caller) into a swap area. The
    /// caller checked the flags and the capability. Discard flags are
    /// accepted and mean nothing: virtio disks here have no discard.
    /// Linux: sys_swapon() after getname()
    static func swapon(_ target: Target, path: String, flags: Int) throws(Errno) {
        swaponLock.lock()
        defer { swaponLock.unlock() }
        var busy = lock.withLock { areas.contains { $0.map(target.matches) ?? false } }
        // Linux: the exclusive claim of the bdev fails for a mounted file system too.
        if case .disk(_, let number) = target, FS.mountList().contains(where: { $0.superBlock.device == number }) {
            busy = true
        }
        guard !busy else { throw .EBUSY }
        guard let type = lock.withLock({ areas.firstIndex { $0 == nil } ?? (areas.count < SwapEntry.maxSwapFiles ? areas.count : nil) })
        else { throw .EPERM }                       // Linux: alloc_swap_info() past MAX_SWAPFILES
        let device: any BlockDevice, number: DeviceNumber, devicePages: UInt64
        var file: (inode: Inode, extents: SwapExtents)? = nil
        switch target {
        case .disk(let disk, let diskNumber):
            (device, number, devicePages) = (disk, diskNumber, disk.sectorCount / (pageSize / 512))
        case .file(let inode, let mount):
            // What the file system still holds in memory (mkswap's header) goes
            // to the disk first: swap reads and writes the blocks directly.
            try inode.superBlock.sync()
            let pages = inode.size / Int(pageSize)
            guard pages > 0 else { throw .EINVAL }
            guard let extents = try mount.swapExtents(of: inode, pages: pages) else {
                Log.error("swapon: swapfile has holes")
                throw .EINVAL
            }
            (device, number, devicePages) = (mount.fs.device, inode.superBlock.device, UInt64(pages))
            file = (inode, extents)
        }
        guard devicePages > 0 else { throw .EINVAL }
        let header = try readHeader(device, file?.extents)
        let slots: Int
        do throws(SwapHeader.ParseError) {
            slots = try header.slots(devicePages: devicePages, maxSlots: SwapEntry.maxOffset, isFile: file != nil)
        } catch {
            Log.error(error.message)
            throw .EINVAL
        }
        let mapBytes = SwapMap.storageBytes(slots: slots, cpus: SMP.maxCPUs)
        guard let storage = Vmalloc.allocate(bytes: mapBytes + 4 * slots) else { throw .ENOMEM }
        guard let map = SwapMap(storage: UnsafeMutableRawBufferPointer(start: storage, count: mapBytes), slots: slots,
                                cpus: SMP.maxCPUs, badPages: header.badPages) else {
            Vmalloc.free(storage)
            throw .EINVAL
        }
        let cache = UnsafeMutableBufferPointer(start: (storage + mapBytes).bindMemory(to: UInt32.self, capacity: slots),
                                               count: slots)
        cache.update(repeating: 0)
        // A swap file may not be written while it is swap. Linux: S_SWAPFILE (ETXTBSY)
        file?.inode.denyWrite()
        lock.lock()
        let priority = flags & flagPrefer != 0 ? flags & flagPriorityMask : { leastPriority -= 1; return leastPriority }()
        let area = SwapArea(type: type, device: device, deviceNumber: number, file: file, path: path, priority: priority,
                            map: map, cacheFrames: cache, storage: storage)
        if type == areas.count { areas.append(area) } else { areas[type] = area }
        lock.unlock()
        let kB = map.usablePages * Int(pageSize / 1024)
        // Linux: enable_swap_info()'s pr_info
        Log.info("Adding \(kB)k swap on \(path).  Priority:\(priority) extents:\(file?.extents.extents.count ?? 1) "
                 + "across:\(kB)k")
    }

    /// `swap=/dev/vdb,/dev/vdc` on the command line: each disk becomes a
    /// swap area before init starts, as if init ran swapon on it; one that
    /// cannot is reported and skipped.
    static func swaponAtBoot(_ paths: [String]) {
        for path in paths {
            let name = path.hasPrefix("/dev/") ? String(path.dropFirst(5)) : path
            guard let index = BlockDevices.all.firstIndex(where: { $0.name == name }) else {
                Log.error("swapon: \(path): no such disk")
                continue
            }
            let number = DeviceNumber(major: FS.diskMajor, minor: UInt32(index * FS.minorsPerDisk))
            do throws(Errno) {
                try swapon(.disk(BlockDevices.all[index], number), path: "/dev/" + name, flags: 0)
            } catch {
                Log.error("swapon: \(path): \(error.name)")
            }
        }
    }

    /// The header page of a disk (or of a swap file's `extents` on it). EIO
    /// if it cannot be read, EINVAL if it is no swap header (with Linux's
    /// message). Linux: read_swap_header()
    private static func readHeader(_ device: any BlockDevice, _ extents: SwapExtents?) throws(Errno) -> SwapHeader {
        guard let frame = PageAllocator.allocate() else { throw .ENOMEM }
        defer { PageAllocator.free(frame) }
        let page = UnsafeMutableRawPointer(DirectMap.pointer(frame, as: UInt8.self))
        try transfer(device, extents, 0, page, write: false)
        do throws(SwapHeader.ParseError) {
            return try SwapHeader(parsing: UnsafeRawBufferPointer(start: page, count: Int(pageSize)))
        } catch {
            Log.error(error.message)
            throw .EINVAL
        }
    }

    /// Switches off the area of `target`: EINVAL if there is none. Every
    /// page of it comes back into memory first; ENOMEM (or EIO, EINTR) leaves
    /// the area on, as it was. Linux: sys_swapoff()
    static func swapoff(_ target: Target) throws(Errno) {
        swaponLock.lock()
        defer { swaponLock.unlock() }
        lock.lock()
        guard let area = areas.first(where: { $0.map(target.matches) ?? false }) ?? nil else {
            lock.unlock()
            throw .EINVAL
        }
        area.writeOK = false                        // Linux: del_from_avail_list()
        lock.unlock()
        do {
            try unuse(area)
        } catch {
            lock.withLock { area.writeOK = true }   // Linux: reinsert_swap_info()
            throw error
        }
        lock.lock()
        areas[area.type] = nil
        // The areas after it in the default order move up, as Linux's swapoff does.
        if area.priority < 0 {
            for case let other? in areas where other.priority < area.priority { other.priority += 1 }
            leastPriority += 1
        }
        while areas.last.map({ $0 == nil }) == true { areas.removeLast() }
        lock.unlock()
        area.release()
        area.file?.inode.allowWrite()
    }

    /// Brings every page of `area` back into memory: each mm's swap PTEs of
    /// the area are faulted in, then the swap-cache pages let go of their
    /// slots. Rounds repeat until no slot is used (a fork meanwhile may copy
    /// a swap PTE into an mm already visited). Linux: try_to_unuse()
    private static func unuse(_ area: SwapArea) throws(Errno) {
        while lock.withLock({ area.map.inUsePages }) > 0 {
            for mm in allMMs() {
                defer { mm.put() }
                try mm.unuse(type: area.type)
            }
            releaseCachePages(area)
            guard lock.withLock({ area.map.inUsePages }) > 0 else { return }
            // Slots still used: a fault or a reclaim holds one right now.
            // Wait a tick, unless the caller is asked to stop.
            if Signals.interrupted(Scheduler.current) { throw .EINTR }
            let deadline = Clock.monotonicNanoseconds + 1_000_000_000 / UInt64(HZ)
            while !Scheduler.sleep(until: deadline, unless: { Clock.monotonicNanoseconds >= deadline }) {}
        }
    }

    /// Every live mm, each with a user reference for the caller to put.
    private static func allMMs() -> [MM] {
        var mms: [MM] = []
        for task in Task.all {
            guard let mm = task.mmReference() else { continue }
            if mms.contains(where: { $0 === mm }) { mm.put() } else { mms.append(mm) }
        }
        return mms
    }

    /// The cache pages of `area` whose slots no PTE names any more leave the
    /// cache (a mapped one lives on as a plain anonymous page, a read-ahead
    /// page nobody mapped is freed). A page off the LRU lists is left for the
    /// next round: reclaim (or migration) has it isolated and relies on its
    /// swap entry until it puts it back. Linux: try_to_unuse()'s
    /// folio_free_swap() loop (which takes the folio lock reclaim holds)
    private static func releaseCachePages(_ area: SwapArea) {
        // In batches of a fixed size on the stack: swapoff runs when memory
        // may be short, and the cache may hold thousands of pages.
        withUnsafeTemporaryAllocation(of: PhysAddr.self, capacity: 64) { batch in
            var offset: UInt64 = 1
            while offset < UInt64(area.map.slots) {
                var count = 0
                lock.lock()
                while offset < UInt64(area.map.slots) && count < batch.count {
                    if let frame = area.cachedFrame(offset), area.map.count(offset) == 0,
                       PageState.flags(frame).contains(.lru) {
                        SwapCache.deleteLocked(frame, area: area, offset: offset)
                        batch[count] = frame
                        count += 1
                    }
                    offset += 1
                }
                lock.unlock()
                for frame in batch[0..<count] { MapCount.put(frame) }
            }
        }
    }

    /// The whole disk `number` is a swap area (mount refuses it: EBUSY).
    static func isSwapDisk(_ number: DeviceNumber) -> Bool {
        lock.withLock { areas.contains { $0.map { $0.file == nil && $0.deviceNumber == number } ?? false } }
    }

    /// /proc/swaps. Linux: swap_show()
    static var procSwaps: String {
        lock.withLock {
            var text = ProcSwapsLine.header
            let kB = UInt64(pageSize / 1024)
            for case let area? in areas {
                text += ProcSwapsLine(path: area.path, isFile: area.file != nil, sizeKiB: UInt64(area.map.usablePages) * kB,
                                      usedKiB: UInt64(area.map.inUsePages) * kB, priority: area.priority).text
            }
            return text
        }
    }
}

extension MM {
    /// Faults in every page of this mm that is in a slot of swap type `type`.
    /// ENOMEM when a page cannot be had, EIO when one cannot be read.
    /// Linux: unuse_mm() → unuse_pte_range() → unuse_pte()
    func unuse(type: Int) throws(Errno) {
        mmapLock.lockRead()
        defer { mmapLock.unlockRead() }
        let end = VirtAddr(layout.taskSize)
        var from = VirtAddr(0)
        var failure: Errno? = nil
        // A batch of entries at a time, in a fixed buffer on the stack (no
        // allocation that could fail: swapoff runs when memory may be short);
        // the walk stops when it is full and goes on from there.
        withUnsafeTemporaryAllocation(of: (VirtAddr, PageTableEntry).self, capacity: 64) { batch in
            while from < end && failure == nil {
                var count = 0
                var next = end
                do throws(BatchFull) {
                    try pageTable.forEachSwapEntry(in: from..<end) { (address, pte) throws(BatchFull) in
                        guard let entry = pte.swapEntry, entry.type == type else { return }
                        guard count < batch.count else {
                            next = address
                            throw BatchFull()
                        }
                        batch[count] = (address, pte)
                        count += 1
                    }
                } catch {
                    // full: the rest from `next` on
                }
                var how = FaultHow.swapIn
                for (address, pte) in batch[0..<count] {
                    guard let entry = pte.swapEntry, let vma = vmas.findVMA(address), vma.contains(address) else { continue }
                    switch swapIn(address, vma: vma, entry: entry, seen: pte, write: true, how: &how) {
                    case .outOfMemory: failure = .ENOMEM
                    case .sigbus: failure = .EIO
                    case .resolved, .segv, .needsWriteLock: continue     // (a busy slot: the next round)
                    }
                    if failure != nil { break }
                }
                from = next
            }
        }
        if let failure { throw failure }
    }

    /// The batch of `unuse` is full.
    private struct BatchFull: Error {}
}
