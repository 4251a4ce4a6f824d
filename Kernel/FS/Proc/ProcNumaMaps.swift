// /proc/<pid>/numa_maps: each region's policy and where its resident pages
// are. The page walk is here; the counting and the layout are in
// Kernel/Core/VM/NumaMaps.swift.
// Linux: fs/proc/task_mmu.c (show_numa_map, gather_pte_stats,
// can_gather_numa_stats)

extension ProcPidFiles {
    /// One line per region, lowest first; empty for a process without memory
    /// (a zombie), as maps. Each read prints the text again into the reader's
    /// window and stops walking once past it. Linux: show_numa_map() for each VMA
    static func numaMaps(_ task: Task, into window: inout TextWindow) {
        guard let mm = task.mmReference() else { return }
        defer { mm.put() }
        let taskPolicy = task.allocLock.withLock { task.memPolicy }
        mm.mmapLock.withRead {
            let context = MapsContext(startBrk: mm.startBrk, brk: mm.brk, startStack: mm.startStack)
            let files = MappedFileNames()
            for vma in mm.vmas {
                guard !window.isFull else { break }
                var stats = NumaMapsStats()
                gatherNumaStats(mm, vma, into: &stats)
                vma.writeNumaMaps(stats, policy: policyText(vma.policy ?? taskPolicy), context: context, files: files,
                                  to: &window)
            }
        }
    }

    /// The policy numa_maps shows for a region: its own, else the task's
    /// (`taskPolicy`, read once under the task's allocLock); none is
    /// "default". Linux: __get_vma_policy() ?: proc_priv->task_mempolicy, then
    /// mpol_to_str() (which prints pol->nodes, not the mask the user passed)
    private static func policyText(_ policy: MemPolicy?) -> String {
        guard let policy else { return memoryPolicyText(mode: 0, nodes: .none) }
        return memoryPolicyText(mode: policy.mode.rawValue,
                                staticNodes: policy.flags & MemPolicy.MPOL_F_STATIC_NODES != 0,
                                relativeNodes: policy.flags & MemPolicy.MPOL_F_RELATIVE_NODES != 0, nodes: policy.nodes)
    }

    /// Adds every resident page of `vma` to `stats`, under the page-table lock
    /// (no PTE changes and no page leaves while it is counted); the caller
    /// holds mmap_lock for reading. The zero page and reserved frames are no
    /// pages of the process's, and swapped-out pages are on no node.
    /// Linux: gather_pte_stats() with can_gather_numa_stats()
    private static func gatherNumaStats(_ mm: MM, _ vma: VMA, into stats: inout NumaMapsStats) {
        mm.pageTableLock.withLock {
            mm.pageTable.forEachLeaf(in: vma.start..<vma.end) { leaf in
                var virt = max(leaf.virt, vma.start)
                let leafEnd = min(leaf.virt + leaf.size.bytes, vma.end)
                let pte = leaf.entry.flags
                while virt < leafEnd {
                    defer { virt = virt + pageSize }
                    let frame = leaf.entry.frame + (virt - leaf.virt)
                    guard frame != ZeroPage.frame else { continue }
                    let flags = PageAllocator.page(frame).pointee.flags
                    guard !flags.contains(.reserved) else { continue }
                    stats.account(NumaMapsPage(mapcount: MapCount.mappers(frame), isAnonymous: flags.contains(.anon),
                                               isDirty: pte.contains(.dirty) || flags.contains(.dirty),
                                               isSwapCache: flags.contains(.swapCache),
                                               isActive: flags.contains(.active) || flags.contains(.unevictable),
                                               isWriteback: flags.contains(.writeback), node: NUMA.nodeOf(frame: frame)))
                }
            }
        }
    }
}
