// Write-back: when dirty page-cache pages and dirty file-system buffers reach
// the disk. Four paths lead there:
//
//   the flusher     a kernel thread that wakes every dirty_writeback_centisecs
//                   and writes each file whose pages have been dirty longer
//                   than dirty_expire_centisecs, then the file systems'
//                   metadata buffers once they have been dirty that long
//                   (Linux: wb_workfn → wb_do_writeback → wb_check_old_data_flush,
//                   the "kupdate" write-back);
//   throttling      a writer that pushes dirty memory past the dirty limit
//                   writes its own file back before write() returns, and past
//                   the background limit wakes the flusher early
//                   (PageCache.swift's balanceDirtyPages; Linux: balance_dirty_pages());
//   asking          fsync, fdatasync, msync, sync and syncfs write what they
//                   name and wait for it;
//   power-off       every file system is synced before the machine stops.
//
// The limits are shares of "dirtyable" memory, the free pages plus the page
// cache, as /proc/sys/vm/dirty_ratio and dirty_background_ratio say (or fixed
// byte counts from dirty_bytes and dirty_background_bytes).
// Linux: mm/page-writeback.c, fs/fs-writeback.c

import Synchronization

enum Writeback {
    /// Dirty pages past which the flusher starts early, and past which a
    /// writer writes back itself. Linux: struct dirty_throttle_control's bg_thresh, thresh
    struct Thresholds {
        let background: Int
        let dirty: Int
    }

    /// Linux: domain_dirty_limits() over global_dirtyable_memory()
    static func thresholds() -> Thresholds {
        let dirtyable = VMSysctl.dirtyableMemory
        func limit(bytes: UInt64, ratio: Int) -> Int {
            bytes > 0 ? Int(clamping: (bytes + pageSize - 1) / pageSize) : dirtyable * ratio / 100
        }
        let dirty = max(limit(bytes: VMSysctl.dirtyBytes, ratio: VMSysctl.dirtyRatio), 1)
        var background = limit(bytes: VMSysctl.dirtyBackgroundBytes, ratio: VMSysctl.dirtyBackgroundRatio)
        if background >= dirty { background = dirty / 2 }       // as Linux keeps them apart
        return Thresholds(background: background, dirty: dirty)
    }

    /// The flusher thread, once started. Written once at boot.
    nonisolated(unsafe) private static var flusher: Task? = nil
    /// Set by `wakeFlusher`, cleared by the flusher when it starts a pass,
    /// read inside its sleep's condition: a wake-up between its check and its
    /// sleep is not lost.
    private static let kicked = Atomic<Bool>(false)
    /// When the flusher first saw each file system with dirty buffers (by
    /// mount); touched only by the flusher. Linux: the block device inode's dirtied_when
    nonisolated(unsafe) private static var metadataDirtySince: [(superBlock: SuperBlock, since: UInt64)] = []

    /// Starts the flusher; a boot without it would keep dirty data until
    /// sync or power-off, so failing to start it is a kernel bug. It is
    /// SCHED_NORMAL: it never takes a share of a WRR task's CPU (nor shows in
    /// /proc/sched_wrr), and writes while WRR tasks sleep; a writer that
    /// dirties too much writes back itself meanwhile.
    static func start() {
        guard KernelThread.start("flush", policy: .normal, { run() }) else { Panic.now("no memory for the flusher thread") }
    }

    /// Set when reclaim met dirty pages it cannot free: the next pass writes
    /// every dirty file, not only the old ones. Linux: WB_REASON_VMSCAN
    private static let reclaimWants = Atomic<Bool>(false)

    /// Linux: wb_wakeup() / wakeup_flusher_threads()
    static func wakeFlusher(forReclaim: Bool = false) {
        if forReclaim { reclaimWants.store(true, ordering: .relaxed) }
        kicked.store(true, ordering: .releasing)
        if let flusher { Scheduler.wake(flusher) }
    }

    /// The flusher's loop. Linux: wb_workfn()
    private static func run() {
        flusher = Scheduler.current
        while true {
            let interval = UInt64(VMSysctl.dirtyWritebackCentisecs) * 10_000_000
            // 0 turns periodic write-back off (Linux does the same); only a kick wakes it then.
            let deadline: UInt64? = interval == 0 ? nil : Clock.monotonicNanoseconds + interval
            while !Scheduler.sleep(until: deadline, unless: {
                kicked.load(ordering: .acquiring) || deadline.map { Clock.monotonicNanoseconds >= $0 } == true
            }) {}
            kicked.store(false, ordering: .relaxed)
            writeOldData()
        }
    }

    /// One pass: files dirty for longer than dirty_expire (all of them while
    /// dirty memory is past the background limit), then metadata buffers
    /// dirty that long. Linux: wb_check_old_data_flush() + wb_check_background_flush()
    private static func writeOldData() {
        let expire = UInt64(VMSysctl.dirtyExpireCentisecs) * 10_000_000
        let now = Clock.monotonicNanoseconds
        let background = VMStat.value(.fileDirty) + VMStat.value(.writeback) > thresholds().background
            || reclaimWants.exchange(false, ordering: .relaxed)
        for space in PageCache.dirtySpaces where background || now &- space.dirtiedWhen >= expire {
            space.fdatawrite()
        }
        for mount in FS.mountList() {
            guard let operations = mount.superBlock.operations, operations.hasDirtyMetadata else {
                metadataDirtySince.removeAll { $0.superBlock === mount.superBlock }
                continue
            }
            guard let index = metadataDirtySince.firstIndex(where: { $0.superBlock === mount.superBlock }) else {
                metadataDirtySince.append((mount.superBlock, now))
                continue
            }
            guard background || now &- metadataDirtySince[index].since >= expire else { continue }
            metadataDirtySince.remove(at: index)
            do throws(Errno) {
                try operations.writeMetadata()
            } catch {
                Log.error("flush: \(mount.source): metadata write-back failed: \(error.name)")
            }
        }
    }

    /// Every dirty page of every file to its file system (sync(2), syncfs and
    /// power-off do this before syncing the file systems themselves).
    /// Linux: sync_inodes_sb() for each super block
    static func writebackAll(of superBlock: SuperBlock? = nil) {
        for space in PageCache.dirtySpaces 
            where superBlock == nil || space.operations.fileSystem === superBlock?.operations {
            space.fdatawrite()
        }
    }
}
