// The binary /proc files that show physical pages: /proc/<pid>/pagemap (one
// entry per virtual page of a process), /proc/kpageflags, /proc/kpagecount and
// Keel's /proc/kpageorder (one word per physical frame), and the text file
// /proc/zoneinfo. The values come from Kernel/Core/Memory/PageInspection.swift;
// this file walks the real page tables and mem_map.
// Linux: fs/proc/task_mmu.c (pagemap_read), fs/proc/page.c, mm/vmstat.c (zoneinfo_show)

/// /proc/<pid>/pagemap. Linux: proc_pagemap_operations
final class PagemapFile: SpecialFile {
    private let pid: Int32

    init(pid: Int32) { self.pid = pid }

    /// Linux: pagemap_open() → proc_mem_open(), ESRCH when the process is gone
    func open(flags: OpenFlags) throws(Errno) {
        guard Task.lookup(pid: pid) != nil else { throw .ESRCH }
    }

    func checkRead(count: Int, at offset: Int) throws(Errno) {
        guard PagemapEntry.checkAligned(count: count, offset: offset) else { throw .EINVAL }
    }

    /// Fills `buffer` with the entries of the pages from `offset / 8` on, up to
    /// the end of the user address range (then 0 bytes). The page tables are
    /// walked under mmap_lock for reading, into this kernel page; the caller
    /// copies out after the lock is dropped, so a fault on the user's buffer
    /// cannot deadlock against the walk. A process without memory (exited)
    /// reads as end of file. Linux: pagemap_read() with PAGEMAP_WALK_SIZE
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard let task = Task.lookup(pid: pid) else { throw .ESRCH }
        guard let mm = task.mmReference() else { return 0 }
        defer { mm.put() }
        let firstPage = UInt64(offset / 8)
        let endPage = mm.layout.taskSize >> pageShift
        guard firstPage < endPage else { return 0 }
        let count = Int(min(UInt64(buffer.count / 8), endPage - firstPage))
        let entries = buffer.bindMemory(to: UInt64.self)
        for i in 0..<count { entries[i] = PagemapEntry.none.rawValue }      // holes and untouched pages
        // Keel has no per-task uid: every process is root, so every reader may see frame numbers.
        let showPFN = PagemapEntry.mayShowPFN(openerUID: 0)
        let start = VirtAddr(firstPage << pageShift), end = VirtAddr((firstPage + UInt64(count)) << pageShift)
        mm.mmapLock.withRead {
            mm.pageTable.forEachLeaf(in: start..<end) { leaf in
                var virt = max(leaf.virt, start)
                let leafEnd = min(leaf.virt + leaf.size.bytes, end)
                while virt < leafEnd {
                    let frame = leaf.entry.frame + (virt - leaf.virt)
                    entries[Int((virt - start) >> pageShift)] = Self.entry(frame, showPFN: showPFN).rawValue.littleEndian
                    virt = virt + pageSize
                }
            }
            mm.pageTable.forEachSwapEntry(in: start..<end) { virt, pte in
                guard let swap = pte.swapEntry else { return }
                let file = swap.isMigration && !PageAllocator.page(swap.migrationFrame).pointee.flags.contains(.anon)
                entries[Int((virt - start) >> pageShift)] =
                    PagemapEntry.swapped(swap, showPFN: showPFN, file: file).rawValue.littleEndian
            }
        }
        return count * 8
    }

    /// The entry of a present page mapping `frame`. Keel keeps no soft-dirty
    /// bit: it has no clear_refs to start a new "written since" interval, and
    /// the Linux kernels this is checked against (CONFIG_MEM_SOFT_DIRTY off)
    /// report 0 too. Linux: pte_to_pagemap_entry()
    private static func entry(_ frame: PhysAddr, showPFN: Bool) -> PagemapEntry {
        guard frame != ZeroPage.frame else {
            return .present(pfn: frame.pfn, showPFN: showPFN, exclusive: false, fileOrShared: false, softDirty: false)
        }
        let page = PageAllocator.page(frame).pointee
        return .present(pfn: frame.pfn, showPFN: showPFN, exclusive: MemMapInspector.mappings(of: page) == 1,
                        fileOrShared: !page.flags.contains(.anon), softDirty: false)
    }
}

/// /proc/kpageflags, /proc/kpagecount and /proc/kpageorder: one word per
/// frame, read at offset pfn * 8. Linux: kpageflags_proc_ops, kpagecount_proc_ops
final class KPageFile: SpecialFile {
    enum Table { case flags, count, order }
    private let table: Table

    init(_ table: Table) { self.table = table }

    func checkRead(count: Int, at offset: Int) throws(Errno) {
        guard PagemapEntry.checkAligned(count: count, offset: offset) else { throw .EINVAL }
    }

    /// Linux: kpageflags_read(), kpagecount_read()
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        let inspector = Self.inspector
        let first = UInt64(offset / 8)
        switch table {
        case .flags: return inspector.fill(buffer, from: first) { inspector.flags($0) }
        case .count: return inspector.fill(buffer, from: first) { inspector.count($0) }
        case .order: return inspector.fill(buffer, from: first) { inspector.order($0) }
        }
    }

    /// mem_map, the RAM map it was built from, and the zero page.
    private static var inspector: MemMapInspector {
        MemMapInspector(memMap: PageAllocator.machineMemMap, ram: MemorySetup.memblock.memory,
                        zeroPagePFN: ZeroPage.frame.pfn)
    }
}

extension ProcSystemFiles {
    /// Each node's zones, lowest node first: free frames, watermarks, span
    /// and per-CPU lists, read without the zone lock (a snapshot); the node's
    /// LRU counters head its first populated zone. Linux: zoneinfo_show() →
    /// walk_zones_in_node() → zoneinfo_show_print()
    static func zoneinfo() -> String {
        var text = ""
        for node in 0..<PageAllocator.nodeCount {
            let pgdat = PageAllocator.node(node)
            let ram = NUMA.nodeMemory(node)
            var nodeStats: [(name: String, value: Int)]? = [
                ("nr_inactive_anon", LRU.count(.inactiveAnon, node: node)),
                ("nr_active_anon", LRU.count(.activeAnon, node: node)),
                ("nr_inactive_file", LRU.count(.inactiveFile, node: node)),
                ("nr_active_file", LRU.count(.activeFile, node: node)),
                ("nr_unevictable", LRU.count(.unevictable, node: node)),
            ]
            for type in ZoneType.allCases {
                let zone = pgdat.pointee.zone(type)
                let low = type == .dma ? 0 : ZoneType(rawValue: type.rawValue - 1).map { $0.endPFN } ?? 0
                let span = ZoneInfo.span(ram: ram, lowPFN: low, highPFN: type.endPFN)
                let marks = ZoneInfo.watermarks(min: zone.watermarkMin, managed: zone.managedPages)
                let lists = PageAllocator.perCPUCounts(in: type, node: node).map {
                    (count: $0, high: PerCPUPages.high, batch: PerCPUPages.batch)
                }
                let populated = zone.managedPages > 0
                ZoneInfo(node: node, name: type.name, freePages: zone.freePages, min: zone.watermarkMin, low: marks.low,
                         high: marks.high, spanned: span.spanned, present: span.present, managed: zone.managedPages,
                         startPFN: span.startPFN, perCPU: lists, nodeStats: populated ? nodeStats : nil).write(to: &text)
                if populated { nodeStats = nil }
            }
        }
        return text
    }
}
