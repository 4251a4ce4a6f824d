// The system-wide /proc files: memory totals, the buddy allocator's free lists,
// the slab caches and the VM event counters, each printed by its Core printer.
// Linux: fs/proc/meminfo.c, mm/vmstat.c (frag_show, vmstat_show), mm/slab_common.c

enum ProcSystemFiles {
    /// Linux: meminfo_proc_show()
    static func meminfo() -> String {
        let slabPages = Slab.totalPages
        let info = MemInfo(totalPages: UInt64(PageAllocator.managedPages), freePages: UInt64(PageAllocator.freePages),
                           slabPages: UInt64(slabPages), vmallocPages: UInt64(Vmalloc.mappedPages),
                           vmallocTotalBytes: KernelLayout.vmallocEnd - KernelLayout.vmallocStart)
        var text = ""
        info.write(to: &text)
        return text
    }

    /// One line per mount: source, mount point, type, options, "0 0".
    /// Linux: show_vfsmnt() (/proc/mounts is a link to self/mounts there)
    static func mounts() -> String {
        var text = ""
        for mount in FS.mountList() { text += mount.line }
        return text
    }

    /// Linux: frag_show()
    static func buddyinfo() -> String {
        var text = ""
        PageAllocator.buddy.pointee.writeBuddyInfo(to: &text)
        return text
    }

    /// Each CPU's total WRR weight and queue (Kernel/Core/Sched/SchedWRRInfo.swift).
    /// Keel only: the WRR class of seed 004's Lab 4.
    static func schedWRR() -> String {
        var text = ""
        Scheduler.withRunQueues { queues, entities in queues.writeSchedWRR(in: entities, to: &text) }
        return text
    }

    /// Linux: slab_show()
    static func slabinfo() -> String {
        var text = ""
        Slab.printSlabinfo(to: &text)
        return text
    }

    /// "name value" lines: Linux's counter names first, then Keel's own (see
    /// Kernel/Memory/VMStat.swift). Linux: vmstat_show()
    static func vmstat() -> String {
        let counters: [(String, UInt64)] = [
            ("nr_free_pages", UInt64(PageAllocator.freePages)),
            ("pgfault", VMStat.total(.pageFaults)),
            ("pgmajfault", VMStat.total(.majorFaults)),
            ("drop_pagecache", VMStat.total(.dropPageCache)),
            ("drop_slab", VMStat.total(.dropSlab)),
            ("oom_kill", VMStat.total(.oomKills)),
            ("cow_fault", VMStat.total(.cowFaults)),
            ("cow_reuse", VMStat.total(.cowReuses)),
            ("pgzerofill", VMStat.total(.zeroFillFaults)),
            ("pgzeropage", VMStat.total(.zeroPageMaps)),
            ("pgshmemfault", VMStat.total(.shmemFaults)),
            ("pgdirtythrottle", VMStat.total(.dirtyThrottled)),
            ("stack_grow", VMStat.total(.stackGrowths)),
        ]
        var text = ""
        for (name, value) in counters { text += name + " " + String(value) + "\n" }
        return text
    }
}
