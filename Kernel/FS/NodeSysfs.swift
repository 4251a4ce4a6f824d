// /sys/devices/system/node: the NUMA nodes as Linux shows them, where libnuma
// (numactl --hardware, numastat) and people look:
//
//   online possible has_cpu has_memory has_normal_memory has_generic_initiator
//   node0/ cpumap cpulist distance meminfo numastat vmstat cpu0 -> ../../cpu/cpu0
//
// The directories are made once with the rest of sysfs (SysFS.makeTree, after
// every CPU is up; Keel has no node or CPU hotplug). Every file's text is
// printed at read time from the live counters, in the layouts of
// Kernel/Core/Memory/NodeFiles.swift.
// Linux: drivers/base/node.c (node_dev_init, register_node, node_state_attr,
// register_cpu_under_node)

extension SysFS {
    /// devices/system/node. Linux: node_dev_init() and register_one_node() for each online node
    static func nodeDirectory() -> Inode {
        // Every node the firmware named is online and possible (no hotplug);
        // Keel has no ZONE_MOVABLE or highmem, so a node with memory has
        // normal memory. Linux: the node_states[] masks, printed by
        // show_node_state(); N_NORMAL_MEMORY set by check_for_memory()
        let hasMemory = { (node: Int) in node < PageAllocator.nodeCount && PageAllocator.node(node).pointee.managedPages > 0 }
        var entries: [(String, Inode)] = [
            ("has_cpu", attribute { nodeList { !NUMA.cpus(of: $0).isEmpty } }),
            ("has_generic_initiator", attribute { "\n" }),     // no ACPI generic initiators
            ("has_memory", attribute { nodeList(hasMemory) }),
            ("has_normal_memory", attribute { nodeList(hasMemory) }),
        ]
        for node in NUMA.online.nodes where node < PageAllocator.nodeCount {
            entries.append(("node\(node)", nodeNDirectory(node)))
        }
        entries.append(("online", attribute { nodeList { _ in true } }))
        entries.append(("possible", attribute { nodeList { _ in true } }))
        return directory(entries)
    }

    /// "%*pbl\n" of the online nodes for which `holds` is true.
    private static func nodeList(_ holds: (Int) -> Bool) -> String {
        let online = NUMA.online
        return BitmapText.list(bits: NodeMask.capacity) { online.contains($0) && holds($0) } + "\n"
    }

    /// nodeN: its files and a link to each of its CPUs. Linux: register_node(),
    /// node_dev_groups, register_cpu_under_node()
    private static func nodeNDirectory(_ node: Int) -> Inode {
        var entries: [(String, Inode)] = []
        for cpu in 0..<Scheduler.cpuCount where NUMA.node(ofCPU: cpu) == node {
            entries.append(("cpu\(cpu)", superBlock.makeInode(.symlink("../../cpu/cpu\(cpu)"), permissions: 0o777)))
        }
        entries += [
            // "%*pb\n" and "%*pbl\n" over nr_cpu_ids bits. Linux: node_read_cpumap()
            ("cpulist", attribute { let cpus = NUMA.cpus(of: node)
                                    return BitmapText.list(bits: Scheduler.cpuCount) { cpus.contains(cpu: $0) } + "\n" }),
            ("cpumap", attribute { let cpus = NUMA.cpus(of: node)
                                   return BitmapText.mask(bits: Scheduler.cpuCount) { cpus.contains(cpu: $0) } + "\n" }),
            ("distance", attribute { nodeDistanceLine(online: NUMA.online.nodes) { NUMA.distance(node, $0) } }),
            ("meminfo", attribute { nodeMeminfo(node) }),
            ("numastat", attribute { numastat(node).text }),
            ("vmstat", attribute { nodeVmstat(node) }),
        ]
        return directory(entries)
    }

    /// Linux: node_read_numastat()
    private static func numastat(_ node: Int) -> NodeNumastat {
        func stat(_ item: NUMAStatItem) -> Int { Int(clamping: NUMA.stat(item, node: node)) }
        return NodeNumastat(hit: stat(.numaHit), miss: stat(.numaMiss), foreign: stat(.numaForeign),
                            interleaveHit: stat(.numaInterleave), localNode: stat(.numaLocal), otherNode: stat(.numaOther))
    }

    /// Linux: node_read_meminfo()
    private static func nodeMeminfo(_ node: Int) -> String {
        let pgdat = PageAllocator.node(node)
        var lru = [Int](repeating: 0, count: LRUListKind.allCases.count)
        for kind in LRUListKind.allCases { lru[kind.rawValue] = LRU.count(kind, node: node) }
        var text = ""
        NodeMeminfo(node: node, totalPages: pgdat.pointee.managedPages, freePages: PageAllocator.freePages(node: node),
                    lruPages: lru, tally: tally(node), kernelStackPages: Vmalloc.stackPages(node: node)).write(to: &text)
        return text
    }

    /// The node's counters under /proc/vmstat's names, those Keel keeps per
    /// node: free pages, the NUMA allocation counters, the LRU lists, and the
    /// frame counts of the mem_map pass. Linux: node_read_vmstat() (zone, NUMA
    /// and node items; Keel prints the ones it has, in Linux's order)
    private static func nodeVmstat(_ node: Int) -> String {
        let t = tally(node)
        var lines: [(String, Int)] = [("nr_free_pages", PageAllocator.freePages(node: node))]
        for item in NUMAStatItem.allCases { lines.append((item.name, Int(clamping: NUMA.stat(item, node: node)))) }
        lines += [("nr_inactive_anon", LRU.count(.inactiveAnon, node: node)),
                  ("nr_active_anon", LRU.count(.activeAnon, node: node)),
                  ("nr_inactive_file", LRU.count(.inactiveFile, node: node)),
                  ("nr_active_file", LRU.count(.activeFile, node: node)),
                  ("nr_unevictable", LRU.count(.unevictable, node: node)),
                  ("nr_slab_unreclaimable", t.slab), ("nr_anon_pages", t.anon), ("nr_mapped", t.mapped),
                  ("nr_file_pages", t.file), ("nr_dirty", t.dirty), ("nr_writeback", t.writeback),
                  ("nr_shmem", t.shmem),
                  ("nr_kernel_stack", Vmalloc.stackPages(node: node) * Int(pageSize / 1024)),     // in kB, as Linux
                  ("nr_page_table_pages", t.pageTables), ("nr_swapcached", t.swapCached)]
        var text = ""
        for (name, value) in lines { text += name + " " + String(value) + "\n" }
        return text
    }

    /// One pass over the node's frames, reading each descriptor without a lock
    /// (a snapshot, as /proc/kpageflags reads them: a frame changing meanwhile
    /// counts as before or after). Free frames and the tails of allocated
    /// blocks are skipped; a slab or page-table block counts whole at its head.
    private static func tally(_ node: Int) -> NodePageTally {
        var tally = NodePageTally()
        let memMap = PageAllocator.node(node).pointee.memMap
        for range in NUMA.nodeMemory(node) {
            var pfn = range.start.alignedUp().pfn
            while pfn < range.end.pfn {
                defer { pfn += 1 }
                guard memMap.contains(pfn: pfn) else { continue }
                let page = memMap.page(pfn).pointee
                guard !page.flags.isEmpty, !page.flags.contains(.buddy), !page.flags.contains(.perCPUList),
                      !page.flags.contains(.reserved) else { continue }
                let order = page.flags.contains(.head) ? min(Int(page.private), Zone.maxOrder) : 0
                tally.count(page, blockPages: 1 << order)
            }
        }
        return tally
    }
}
