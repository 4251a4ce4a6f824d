// The memory tunables of /proc/sys/vm and its drop_caches and compact_memory
// commands. The files
// are Kernel/FS/Proc/ProcSysDirectory.swift; what a write means (the text,
// the ranges, a ratio and its byte form excluding each other) is
// Kernel/Core/FS/Sysctl.swift, host-tested. This file keeps the values where
// write-back reads them and carries out drop_caches.
//
// The write-back values are atomics: the flusher and balance_dirty_pages load
// them without a lock. Writers take `lock` to change a limit and its other
// form together (writing dirty_bytes zeroes dirty_ratio); a reader may see
// the pair mid-change, one form already set and the other not yet cleared,
// as Linux's readers may.
// Linux: mm/page-writeback.c (the dirty_* globals and their handlers,
// global_dirtyable_memory()), fs/drop_caches.c

import Synchronization

enum VMSysctl {
    /// Serialises writers of the write-back values. Taken alone; nothing
    /// inside it allocates or sleeps.
    private static let lock = SpinLock(LockClass("vm_dirty_sysctl_lock"), disablesInterrupts: false)
    /// Written under `lock`, read without. Linux: dirty_background_bytes,
    /// dirty_background_ratio, vm_dirty_bytes, vm_dirty_ratio,
    /// dirty_expire_interval, dirty_writeback_interval
    private static let backgroundBytes = Atomic<UInt64>(DirtyTunables().backgroundBytes)
    private static let backgroundRatio = Atomic<Int>(Int(DirtyTunables().backgroundRatio))
    private static let bytes = Atomic<UInt64>(DirtyTunables().bytes)
    private static let ratio = Atomic<Int>(Int(DirtyTunables().ratio))
    private static let expireCentisecs = Atomic<Int>(Int(DirtyTunables().expireCentisecs))
    private static let writebackCentisecs = Atomic<Int>(Int(DirtyTunables().writebackCentisecs))

    /// Age in centiseconds at which the flusher writes a dirty page back. Linux: dirty_expire_interval
    static var dirtyExpireCentisecs: Int { expireCentisecs.load(ordering: .relaxed) }
    /// Centiseconds between the flusher's periodic runs; 0 or less: none. Linux: dirty_writeback_interval
    static var dirtyWritebackCentisecs: Int { writebackCentisecs.load(ordering: .relaxed) }
    /// Percent of `dirtyableMemory` at which writers are throttled (0 when
    /// `dirtyBytes` is set). Linux: vm_dirty_ratio
    static var dirtyRatio: Int { ratio.load(ordering: .relaxed) }
    /// Percent at which background write-back starts (0 when
    /// `dirtyBackgroundBytes` is set). Linux: dirty_background_ratio
    static var dirtyBackgroundRatio: Int { backgroundRatio.load(ordering: .relaxed) }
    /// The throttling limit in bytes; 0: `dirtyRatio` applies. Linux: vm_dirty_bytes
    static var dirtyBytes: UInt64 { bytes.load(ordering: .relaxed) }
    /// The background limit in bytes; 0: `dirtyBackgroundRatio` applies. Linux: dirty_background_bytes
    static var dirtyBackgroundBytes: UInt64 { backgroundBytes.load(ordering: .relaxed) }

    /// Every value as one snapshot (a pair mid-change may show both forms).
    static var tunables: DirtyTunables {
        var t = DirtyTunables()
        t.backgroundBytes = dirtyBackgroundBytes
        t.backgroundRatio = Int32(truncatingIfNeeded: dirtyBackgroundRatio)
        t.bytes = dirtyBytes
        t.ratio = Int32(truncatingIfNeeded: dirtyRatio)
        t.expireCentisecs = Int32(truncatingIfNeeded: dirtyExpireCentisecs)
        t.writebackCentisecs = Int32(truncatingIfNeeded: dirtyWritebackCentisecs)
        return t
    }

    /// Pages the dirty ratios are a percentage of: free memory above the
    /// allocator's reserve (each zone's high watermark), and the page cache's
    /// file pages (shmem is not written back, so not counted). Never 0.
    /// Linux: global_dirtyable_memory() (free - totalreserve_pages + the file LRU)
    static var dirtyableMemory: Int {
        var reserve = 0
        for node in 0..<PageAllocator.nodeCount {
            for type in ZoneType.allCases {
                let zone = PageAllocator.node(node).pointee.zone(type)
                reserve += ZoneInfo.watermarks(min: zone.watermarkMin, managed: zone.managedPages).high
            }
        }
        let free = PageAllocator.freePages
        let file = max(0, VMStat.value(.filePages) - VMStat.value(.shmem))
        return free - min(free, reserve) + file + 1
    }

    /// A read of `file`'s text.
    static func text(_ file: VMSysctlFile) -> String {
        switch file {
        case .minFreeKbytes: SysctlText.text(Int64(minFreeKilobytes.load(ordering: .relaxed)))
        case .swappiness: SysctlText.text(Int64(swappiness))
        default: tunables.text(file)
        }
    }

    // MARK: - reclaim

    /// How much reclaim prefers evicting file pages (0) over swapping
    /// anonymous ones (200); Linux's default 60. Linux: vm_swappiness
    private static let swappinessValue = Atomic<Int>(60)
    static var swappiness: Int { swappinessValue.load(ordering: .relaxed) }
    /// The reserve under the zones' min watermarks, in KiB; low and high
    /// follow from it. Set at boot. Linux: min_free_kbytes
    static let minFreeKilobytes = Atomic<Int>(0)

    /// Linux: min_free_kbytes_sysctl_handler() → setup_per_zone_wmarks()
    static func setMinFreeKilobytes(_ kilobytes: Int) {
        minFreeKilobytes.store(kilobytes, ordering: .relaxed)
        let total = PageAllocator.managedPages
        for node in 0..<PageAllocator.nodeCount {
            PageAllocator.lock(node).withLock { PageAllocator.node(node).pointee.setMinFreeKilobytes(kilobytes, totalManaged: total) }
        }
    }

    /// A write of `text` to `file` at `offset`; returns the bytes taken.
    static func write(_ file: VMSysctlFile, _ text: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        switch file {
        case .dropCaches:
            return try dropCaches(text, at: offset)
        case .compactMemory:
            return try compactMemory(text, at: offset)
        case .swappiness:
            // Linux: proc_dointvec_minmax with SYSCTL_ZERO, SYSCTL_TWO_HUNDRED
            let w = try SysctlText.writeInt(text, at: offset, min: 0, max: 200)
            if let value = w.value { swappinessValue.store(Int(value), ordering: .relaxed) }
            return w.taken
        case .minFreeKbytes:
            // Linux: proc_dointvec_minmax with SYSCTL_ZERO
            let w = try SysctlText.writeInt(text, at: offset, min: 0)
            if let value = w.value { setMinFreeKilobytes(Int(value)) }
            return w.taken
        default:
            break
        }
        let dirtyable = UInt64(dirtyableMemory)
        return try lock.withLock { () throws(Errno) -> Int in
            var t = tunables
            let taken = try t.write(file, text, at: offset, dirtyablePages: dirtyable, pageSize: pageSize)
            backgroundBytes.store(t.backgroundBytes, ordering: .relaxed)
            backgroundRatio.store(Int(t.backgroundRatio), ordering: .relaxed)
            bytes.store(t.bytes, ordering: .relaxed)
            ratio.store(Int(t.ratio), ordering: .relaxed)
            expireCentisecs.store(Int(t.expireCentisecs), ordering: .relaxed)
            writebackCentisecs.store(Int(t.writebackCentisecs), ordering: .relaxed)
            return taken
        }
    }

    // MARK: - compact_memory

    /// The value last written. Linux: sysctl_compact_memory
    private static let lastCompactMemory = Atomic<Int32>(0)

    /// compact_memory: writing 1 compacts every zone now, in the writer's
    /// time; other values are stored and refused. Linux: sysctl_compaction_handler()
    private static func compactMemory(_ text: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        let w = try CompactMemoryCommand.write(text, at: offset, last: lastCompactMemory.load(ordering: .relaxed))
        lastCompactMemory.store(w.stored, ordering: .relaxed)
        try CompactMemoryCommand.check(w.stored)
        Compaction.compactAll()
        return w.taken
    }

    // MARK: - drop_caches

    /// The value last written, acted on again by a write past offset 0. Linux: sysctl_drop_caches
    private static let lastDropCaches = Atomic<Int32>(0)
    /// Set by a write with bit 4: no more log lines. Linux: the handler's `static int stfu`
    private static let dropCachesQuiet = Atomic<Bool>(false)

    /// drop_caches: 1 frees the clean page cache, 2 the unused dentries and
    /// inodes, 3 both; bit 4 silences the "drop_caches: N" line from then on
    /// (the line is printed at info level). Dirty data stays, and nothing is
    /// written first: as on Linux, run sync before to drop more.
    /// Linux: drop_caches_sysctl_handler()
    private static func dropCaches(_ text: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        let w = try DropCachesMode.write(text, at: offset)
        if let value = w.value { lastDropCaches.store(value, ordering: .relaxed) }
        let mode = DropCachesMode(rawValue: lastDropCaches.load(ordering: .relaxed))
        if mode.contains(.pageCache) {
            dropPageCache()
            VMStat.count(.dropPageCache)
        }
        if mode.contains(.slab) {
            dropSlab()
            VMStat.count(.dropSlab)
        }
        if !dropCachesQuiet.load(ordering: .relaxed) {
            let task = Scheduler.current
            Log.info("\(task.commName) (\(task.pid)): drop_caches: \(mode.rawValue)")
        }
        if mode.contains(.quiet) { dropCachesQuiet.store(true, ordering: .relaxed) }
        return w.taken
    }

    /// drop_caches 1: every page-cache page that is clean, unmapped and not
    /// being read is freed, and the disks' clean cached blocks (each file
    /// system's `dropCaches(.pageCache)`: Linux keeps those in the block
    /// device's page cache). Linux: iterate_supers(drop_pagecache_sb) → invalidate_mapping_pages()
    static func dropPageCache() {
        PageCache.shrink()
        forEachFileSystem { $0.dropCaches(.pageCache) }
    }

    /// drop_caches 2: the names and inodes no one uses, of every file system.
    /// Linux: drop_slab() → the shrinkers (super_cache_scan() for each super block)
    static func dropSlab() {
        forEachFileSystem { $0.dropCaches(.slab) }
    }

    /// The file systems' clean cached blocks (drop_caches 1 without the page
    /// cache, which reclaim frees page by page). Linux: the block devices'
    /// page cache, reclaimed from the file LRU
    static func dropCleanBuffers() {
        forEachFileSystem { $0.dropCaches(.pageCache) }
    }

    /// Runs `body` once for each mounted file system with operations (proc
    /// and tracefs, mounted twice, have none). Linux: iterate_supers()
    private static func forEachFileSystem(_ body: (any FileSystemOperations) -> Void) {
        var seen: [ObjectIdentifier] = []
        for mount in FS.mountList() {
            guard let operations = mount.superBlock.operations else { continue }
            let id = ObjectIdentifier(mount.superBlock)
            if seen.contains(id) { continue }
            seen.append(id)
            body(operations)
        }
    }
}
