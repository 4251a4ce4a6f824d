// Event counters of the memory subsystem, shown in /proc/vmstat under Linux's
// names. Each CPU counts in its own row, touched only by that CPU (the kernel
// is not preemptible and no interrupt handler counts), so counting is a plain
// add with no lock and no shared cache line; /proc/vmstat sums the rows, a
// snapshot that may miss an event in flight. Linux: enum vm_event_item,
// count_vm_event() on the per-CPU vm_event_states, all_vm_events()

enum VMEvent: Int, CaseIterable {
    /// Every page fault handled. Linux: pgfault
    case pageFaults
    /// Faults that had to read a file (here: copy from the initramfs). Linux: pgmajfault
    case majorFaults
    /// Anonymous pages zero-filled on first write. Keel: pgzerofill
    case zeroFillFaults
    /// Reads mapped to the shared zero page. Keel: pgzeropage
    case zeroPageMaps
    /// Copy-on-write faults that copied a page. Linux: cow_fault
    case cowFaults
    /// Copy-on-write faults that reused the page (its only mapping). Keel: cow_reuse
    case cowReuses
    /// Stack expansions. Keel: stack_grow
    case stackGrowths
    /// Faults on shared anonymous memory (Kernel/Memory/Shmem.swift). Keel: pgshmemfault
    case shmemFaults
    /// Writes to drop_caches that dropped the page cache. Linux: drop_pagecache
    case dropPageCache
    /// Writes to drop_caches that dropped dentries and inodes. Linux: drop_slab
    case dropSlab
    /// Processes the OOM killer killed. Linux: oom_kill
    case oomKills
    /// Writes that found dirty memory past dirty_ratio and wrote their file
    /// back before going on. Keel: pgdirtythrottle (Linux traces balance_dirty_pages instead)
    case dirtyThrottled
    /// 512-byte sectors the block layer was asked to read; /proc/vmstat shows
    /// KiB. Linux: PGPGIN (counted in submit_bio(), halved in vmstat_start())
    case sectorsIn
    /// Sectors asked to be written. Linux: PGPGOUT
    case sectorsOut

    // Reclaim (Kernel/Memory/Vmscan.swift).

    /// Pages moved to an active list. Linux: pgactivate
    case pgActivate
    /// Pages moved from an active list to an inactive one. Linux: pgdeactivate
    case pgDeactivate
    /// Pages the active-list scan looked at. Linux: pgrefill
    case pgRefill
    /// Inactive pages kswapd looked at. Linux: pgscan_kswapd
    case pgScanKswapd
    /// Inactive pages an allocating task looked at itself. Linux: pgscan_direct
    case pgScanDirect
    /// Pages kswapd freed. Linux: pgsteal_kswapd
    case pgStealKswapd
    /// Pages an allocating task freed itself. Linux: pgsteal_direct
    case pgStealDirect
    /// Inactive anonymous pages looked at, by anyone. Linux: pgscan_anon
    case pgScanAnon
    /// Inactive file pages looked at. Linux: pgscan_file
    case pgScanFile
    /// Anonymous pages freed by reclaim. Linux: pgsteal_anon
    case pgStealAnon
    /// File pages freed by reclaim. Linux: pgsteal_file
    case pgStealFile
    /// Objects the slab shrinkers were asked to look at. Linux: slabs_scanned
    case slabsScanned
    /// kswapd woke and found the low watermark met at once. Linux: kswapd_low_wmark_hit_quickly
    case kswapdLowWmarkQuickly
    /// kswapd balancing runs. Linux: pageoutrun
    case pageOutRun
    /// Times an allocating task had to reclaim itself. Linux: allocstall_normal
    case allocStall
    /// Pages put back at the head of the inactive list (a second chance, or
    /// dirty and waiting for write-back). Linux: pgrotated
    case pgRotated
    /// Evicted anonymous pages faulted back in (from swap) while they were
    /// still part of the working set. Linux: workingset_refault_anon
    case workingsetRefaultAnon
    /// The same for file pages read again after eviction. Linux: workingset_refault_file
    case workingsetRefaultFile
    /// mlocked pages reclaim moved to the unevictable list. Linux: unevictable_pgs_culled
    case unevictableCulled
    /// Pages munlock moved back to the evictable lists. Linux: unevictable_pgs_rescued
    case unevictableRescued

    // Swap (Kernel/Memory/Swap*.swift).

    /// Pages read from swap. Linux: pswpin
    case swapIns
    /// Pages written to swap. Linux: pswpout
    case swapOuts
    /// Pages read from swap ahead of a fault on them. Linux: swap_ra
    case swapReadahead
    /// Pages read ahead that a fault then found in the swap cache. Linux: swap_ra_hit
    case swapReadaheadHit

    // Compaction and migration (Kernel/Memory/Compaction.swift, Migrate.swift).

    /// Pages moved to another frame. Linux: pgmigrate_success
    case pgMigrateSuccess
    /// Pages that could not be moved (busy, referenced, mapped by too many). Linux: pgmigrate_fail
    case pgMigrateFail
    /// Frames the migrate scanner looked at. Linux: compact_migrate_scanned
    case compactMigrateScanned
    /// Frames the free scanner looked at. Linux: compact_free_scanned
    case compactFreeScanned
    /// Pages isolated for migration plus free frames taken as targets. Linux: compact_isolated
    case compactIsolated
    /// High-order allocations that compacted before trying again. Linux: compact_stall
    case compactStall
    /// Of those, the ones that still failed. Linux: compact_fail
    case compactFail
    /// Of those, the ones that then got their block. Linux: compact_success
    case compactSuccess
}

/// How many pages are in some state now: counts that go up and down, unlike
/// the events. Shown in /proc/meminfo and /proc/vmstat. Linux: enum node_stat_item
enum VMItem: Int, CaseIterable {
    /// Pages in the page cache, shmem included. Linux: NR_FILE_PAGES
    case filePages
    /// Page-cache pages changed since their last write-back. Linux: NR_FILE_DIRTY
    case fileDirty
    /// Page-cache pages being written to the disk now. Linux: NR_WRITEBACK
    case writeback
    /// shmem pages (tmpfs files, shared anonymous memory, memfd). Linux: NR_SHMEM
    case shmem
    /// Anonymous pages of processes. Linux: NR_ANON_MAPPED
    case anonPages
    /// Pages in the swap cache. Linux: NR_SWAPCACHE (nr_swapcached)
    case swapCached
}

enum VMStat {
    /// SMP.maxCPUs rows of one counter per event; set once at boot.
    nonisolated(unsafe) private static var rows: UnsafeMutablePointer<UInt64>? = nil
    /// SMP.maxCPUs rows of one signed delta per item: a page counted in on one
    /// CPU may be counted out on another, so only the sum means anything.
    /// Linux: the per-CPU vm_node_stat_diff folded into node stats
    nonisolated(unsafe) private static var itemRows: UnsafeMutablePointer<Int>? = nil

    /// Linux: vm_events_init (the per-CPU area is static there)
    static func initialize() {
        let count = SMP.maxCPUs * VMEvent.allCases.count
        let counters = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
        counters.initialize(repeating: 0, count: count)
        rows = counters
        let items = UnsafeMutablePointer<Int>.allocate(capacity: SMP.maxCPUs * VMItem.allCases.count)
        items.initialize(repeating: 0, count: SMP.maxCPUs * VMItem.allCases.count)
        itemRows = items
    }

    /// One more `event` on this CPU. Linux: count_vm_event()
    @inline(__always)
    static func count(_ event: VMEvent) {
        rows.unsafelyUnwrapped[PerCPU.cpu * VMEvent.allCases.count + event.rawValue] &+= 1
    }

    /// `count` more `event`s on this CPU. Linux: count_vm_events()
    @inline(__always)
    static func count(_ event: VMEvent, by count: UInt64) {
        rows.unsafelyUnwrapped[PerCPU.cpu * VMEvent.allCases.count + event.rawValue] &+= count
    }

    /// The sum over every CPU. Linux: all_vm_events()
    static func total(_ event: VMEvent) -> UInt64 {
        var sum: UInt64 = 0
        for cpu in 0..<SMP.maxCPUs { sum &+= rows.unsafelyUnwrapped[cpu * VMEvent.allCases.count + event.rawValue] }
        return sum
    }

    /// `delta` more pages in state `item`, counted on this CPU. Interrupt
    /// handlers never call it, so the plain add on the own row needs no lock.
    /// Linux: mod_node_page_state()
    @inline(__always)
    static func add(_ item: VMItem, _ delta: Int) {
        itemRows.unsafelyUnwrapped[PerCPU.cpu * VMItem.allCases.count + item.rawValue] &+= delta
    }

    /// The pages in state `item` now: the sum over every CPU, a snapshot that
    /// may miss a change in flight (never below 0). Linux: global_node_page_state()
    static func value(_ item: VMItem) -> Int {
        var sum = 0
        for cpu in 0..<SMP.maxCPUs { sum &+= itemRows.unsafelyUnwrapped[cpu * VMItem.allCases.count + item.rawValue] }
        return max(0, sum)
    }
}
