// A four-level page-table tree reached through PhysicalMemory, so the same walker
// programs the real tables through the direct map in the kernel and a byte buffer in
// host tests. This layer never touches hardware: after changing a live entry the
// caller flushes the TLB (Linux: flush_tlb_page()).

/// The page tables of one address space, identified by the physical address of its
/// PML4 (what CR3 holds). Linux: mm->pgd plus the pgd/pud/pmd/pte walkers.
///
/// A `PageTable` is a handle, not the tables themselves: copies refer to the same tree.
public struct PageTable<M: PhysicalMemory> {
    /// Physical address of the PML4. Linux: __pa(mm->pgd)
    public let root: PhysAddr
    public let memory: M

    /// Adopts an existing tree, for example the one the boot code built.
    public init(root: PhysAddr, memory: M) {
        self.root = root
        self.memory = memory
    }

    /// Allocates an empty PML4; nil when the allocator is exhausted. Linux: pgd_alloc()
    public init?<A: FrameAllocator>(memory: M, allocator: inout A) {
        guard let frame = allocator.allocateFrame() else { return nil }
        memory.zeroFrame(frame)
        self.init(root: frame, memory: memory)
    }

    /// Physical address of the entry that `virt` selects in `table`, a table at `level`.
    /// Linux: pgd_offset(), pud_offset(), pmd_offset(), pte_offset_kernel()
    @inlinable func entryAddress(in table: PhysAddr, at level: PageTableLevel, for virt: VirtAddr) -> PhysAddr {
        table + UInt64(level.index(of: virt)) * 8
    }

    @inlinable func read(_ slot: PhysAddr) -> PageTableEntry { PageTableEntry(raw: memory.read64(slot)) }

    @inlinable func write(_ slot: PhysAddr, _ entry: PageTableEntry) { memory.write64(slot, entry.raw) }

    /// The present leaf that maps `virt` and the address of its entry. Linux: lookup_address()
    func findLeaf(_ virt: VirtAddr) -> (slot: PhysAddr, leaf: PageTableLeaf)? {
        guard virt.isCanonical else { return nil }
        var table = root
        var level = PageTableLevel.pml4
        while true {
            let slot = entryAddress(in: table, at: level, for: virt)
            let entry = read(slot)
            if let size = entry.pageSize(at: level) {
                return (slot, PageTableLeaf(virt: virt.alignedDown(size.bytes), entry: entry, size: size))
            }
            guard let next = entry.nextTable(at: level) else { return nil }
            table = next
            level = level.child
        }
    }

    /// The physical address `virt` maps to, with the leaf's flags and page size; nil when
    /// nothing present maps it. Linux: slow_virt_to_phys()
    public func translate(_ virt: VirtAddr) -> (phys: PhysAddr, flags: PTEFlags, size: PageSize)? {
        guard let leaf = findLeaf(virt)?.leaf else { return nil }
        return (leaf.entry.frame + (virt - leaf.virt), leaf.entry.flags, leaf.size)
    }
}
