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
// Errors are Linux's: EINVAL for flags it does not know, a file that is no
// disk (swap files are not supported yet) or a bad header; EBUSY for a disk
// already used (swap, or a mounted file system); EPERM without
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

    /// Turns the disk `number` (named `path` by the caller) into a swap area.
    /// The caller checked the flags and the capability. Discard flags are
    /// accepted and mean nothing: virtio disks here have no discard.
    /// Linux: sys_swapon() after getname()
    static func swapon(disk: any BlockDevice, number: DeviceNumber, path: String, flags: Int) throws(Errno) {
        swaponLock.lock()
        defer { swaponLock.unlock() }
        let busy = lock.withLock { areas.contains { $0?.deviceNumber == number } }
        // Linux: the exclusive claim of the bdev fails for a swap area or a mounted file system.
        guard !busy, !FS.mountList().contains(where: { $0.superBlock.device == number }) else { throw .EBUSY }
        guard let type = lock.withLock({ areas.firstIndex { $0 == nil } ?? (areas.count < SwapEntry.maxSwapFiles ? areas.count : nil) })
        else { throw .EPERM }                       // Linux: alloc_swap_info() past MAX_SWAPFILES
        let header = try readHeader(disk)
        let slots: Int
        do throws(SwapHeader.ParseError) {
            slots = try header.slots(devicePages: disk.sectorCount / (pageSize / 512), maxSlots: SwapEntry.maxOffset,
                                     isFile: false)
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
        lock.lock()
        let priority = flags & flagPrefer != 0 ? flags & flagPriorityMask : { leastPriority -= 1; return leastPriority }()
        let area = SwapArea(type: type, device: disk, deviceNumber: number, path: path, priority: priority, map: map,
                            cacheFrames: cache, storage: storage)
        if type == areas.count { areas.append(area) } else { areas[type] = area }
        lock.unlock()
        let kB = map.usablePages * Int(pageSize / 1024)
        // Linux: enable_swap_info()'s pr_info (one extent: a disk is contiguous)
        Log.info("Adding \(kB)k swap on \(path).  Priority:\(priority) extents:1 across:\(kB)k")
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
                try swapon(disk: BlockDevices.all[index], number: number, path: "/dev/" + name, flags: 0)
            } catch {
                Log.error("swapon: \(path): \(error.name)")
            }
        }
    }

    /// The header page of `disk`. EIO if it cannot be read, EINVAL if it is
    /// no swap header (with Linux's message). Linux: read_swap_header()
    private static func readHeader(_ disk: any BlockDevice) throws(Errno) -> SwapHeader {
        guard disk.sectorCount >= pageSize / 512 else { throw .EINVAL }
        guard let frame = PageAllocator.allocate() else { throw .ENOMEM }
        defer { PageAllocator.free(frame) }
        let page = UnsafeMutableRawBufferPointer(start: DirectMap.pointer(frame, as: UInt8.self), count: Int(pageSize))
        try disk.read(sector: 0, into: page)
        do throws(SwapHeader.ParseError) {
            return try SwapHeader(parsing: UnsafeRawBufferPointer(page))
        } catch {
            Log.error(error.message)
            throw .EINVAL
        }
    }

    /// Switches off the area on disk `number`: EINVAL if there is none. Every
    /// page of it comes back into memory first; ENOMEM (or EIO, EINTR) leaves
    /// the area on, as it was. Linux: sys_swapoff()
    static func swapoff(number: DeviceNumber) throws(Errno) {
        swaponLock.lock()
        defer { swaponLock.unlock() }
        lock.lock()
        guard let area = areas.first(where: { $0?.deviceNumber == number }) ?? nil else {
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
    /// page nobody mapped is freed). Linux: try_to_unuse()'s folio_free_swap() loop
    private static func releaseCachePages(_ area: SwapArea) {
        var released: [PhysAddr] = []
        lock.lock()
        for offset in 1..<UInt64(area.map.slots) {
            guard let frame = area.cachedFrame(offset), area.map.count(offset) == 0 else { continue }
            SwapCache.deleteLocked(frame, area: area, offset: offset)
            released.append(frame)
        }
        lock.unlock()
        for frame in released { MapCount.put(frame) }
    }

    /// /proc/swaps. Linux: swap_show()
    static var procSwaps: String {
        lock.withLock {
            var text = ProcSwapsLine.header
            let kB = UInt64(pageSize / 1024)
            for case let area? in areas {
                text += ProcSwapsLine(path: area.path, isFile: false, sizeKiB: UInt64(area.map.usablePages) * kB,
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
        var found: [(VirtAddr, PageTableEntry, SwapEntry)] = []
        pageTable.forEachSwapEntry(in: VirtAddr(0)..<VirtAddr(layout.taskSize)) { address, pte in
            if let entry = pte.swapEntry, entry.type == type { found.append((address, pte, entry)) }
        }
        var how = FaultHow.swapIn
        for (address, pte, entry) in found {
            guard let vma = vmas.findVMA(address), vma.contains(address) else { continue }
            switch swapIn(address, vma: vma, entry: entry, seen: pte, how: &how) {
            case .outOfMemory: throw .ENOMEM
            case .sigbus: throw .EIO
            case .resolved, .segv, .needsWriteLock: continue     // (a busy slot: the next round)
            }
        }
    }
}
