// The four-level x86-64 page-table tree, and every operation on it, in one file:
// translate and walk, map (one page or a range with the largest pages that fit),
// unmap with freeing of emptied tables, change protection, and the whole-range
// copy (fork) and zap (exit, munmap) that work table by table. The entry format,
// flags, levels and sizes are PageTableEntry.swift.
//
// The tree is reached through PhysicalMemory, so the same code programs the
// real tables through the direct map in the kernel and a byte buffer in host
// tests. It never touches hardware: after changing a live entry the caller
// flushes the TLB (Kernel/Memory/MM.swift `flush`).
// Linux: mm/memory.c, mm/pgtable-generic.c, arch/x86/mm/pgtable.c

// MARK: - the tree

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

// MARK: - walking a range
//
// Visiting every mapped page of a range in address order: the walk under fork's
// copy_page_range(), munmap's zap and /proc's page accounting.

extension PageTable {
    /// Calls `body` with every present leaf that overlaps `range`, in ascending address order.
    /// A huge page that straddles a bound is visited whole (its `virt` may lie below `range`).
    /// `body` may rewrite the entry it is given (via `protect`, say) but must not free tables;
    /// a thrown error stops the walk. Linux: walk_page_range() with a pte_entry/pmd_entry callback
    public func forEachLeaf<E: Error>(
        in range: Range<VirtAddr>, _ body: (PageTableLeaf) throws(E) -> Void
    ) throws(E) {
        guard !range.isEmpty else { return }
        try visit(root, at: .pml4, base: 0, first: range.lowerBound.value, last: range.upperBound.value - 1,
                  body, { _, _ throws(E) in })
    }

    /// Calls `body` with the address and entry of every swap or migration PTE
    /// (`PageTableEntry.isSwapEntry`) in `range`, in ascending address order:
    /// the pages `forEachLeaf` does not see because they are not in memory.
    /// Linux: walk_page_range() with a pte_entry callback testing is_swap_pte()
    public func forEachSwapEntry<E: Error>(
        in range: Range<VirtAddr>, _ body: (VirtAddr, PageTableEntry) throws(E) -> Void
    ) throws(E) {
        guard !range.isEmpty else { return }
        try visit(root, at: .pml4, base: 0, first: range.lowerBound.value, last: range.upperBound.value - 1,
                  { _ throws(E) in }, body)
    }

    /// Visits the entries of `table` (a table at `level` whose first entry maps `base`) that
    /// overlap [first, last].
    private func visit<E: Error>(
        _ table: PhysAddr, at level: PageTableLevel, base: UInt64, first: UInt64, last: UInt64,
        _ body: (PageTableLeaf) throws(E) -> Void, _ swapEntry: (VirtAddr, PageTableEntry) throws(E) -> Void
    ) throws(E) {
        // A range starting inside this table starts at its entry (the index
        // bits of `first`), not at entry 0: a walk of one page looks at one
        // entry per level.
        let firstIndex = first > base ? Int((first >> level.shift) & UInt64(PageTableLevel.entriesPerTable - 1)) : 0
        for index in firstIndex..<PageTableLevel.entriesPerTable {
            // PML4 slots 256–511 map the upper canonical half: sign-extend bit 47.
            let offset = base + UInt64(index) << level.shift
            let start = offset & (1 << 47) == 0 ? offset : offset | 0xffff_0000_0000_0000
            if start > last { return }
            guard start + (level.entrySpan - 1) >= first else { continue }
            let entry = read(table + UInt64(index) * 8)
            if let size = entry.pageSize(at: level) {
                try body(PageTableLeaf(virt: VirtAddr(start), entry: entry, size: size))
            } else if let next = entry.nextTable(at: level) {
                try visit(next, at: level.child, base: start, first: first, last: last, body, swapEntry)
            } else if level == .pt && entry.isSwapEntry {
                try swapEntry(VirtAddr(start), entry)
            }
        }
    }
}

// MARK: - mapping
//
// Installing mappings: one page of any size, or a whole range with the largest pages
// that fit (the kernel's direct map). Missing intermediate tables are allocated and
// zeroed on the way down, as Linux's __pud_alloc()/__pmd_alloc()/__pte_alloc() do.

extension PageTable {
    /// Maps the `size` page at `virt` to the frame at `phys` with `flags` (`.present` is
    /// implied unless `flags` holds `.protNone`, `.huge` follows from `size`). Linux: set_pte_at() after the *_alloc() walk
    ///
    /// Intermediate entries get `.kernelTable`, or `.userTable` when the leaf is user (existing
    /// ones are widened), so they never restrict anything: the leaf decides. An empty table
    /// left where a huge page should go (see `unmap(_:freeEmptyTables:allocator:)`) is freed
    /// and replaced. `phys` must lie below 2^52 (a precondition, as for any frame address).
    /// On `.outOfMemory` every table this call created is freed again.
    public func map<A: FrameAllocator>(
        _ virt: VirtAddr, to phys: PhysAddr, size: PageSize, flags: PTEFlags, allocator: inout A
    ) throws(PageTableError) {
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.value % size.bytes == 0, phys.value % size.bytes == 0 else { throw .misaligned }
        // Bit 7 means PAT in a PT entry, so `.huge` is set exactly when the size calls for it.
        var leafFlags = PageTableEntry.leafFlags(flags).subtracting(.huge)
        if size != .size4K { leafFlags.insert(.huge) }
        try install(PageTableEntry(frame: phys, flags: leafFlags), at: virt, level: size.level,
                    tableFlags: flags.contains(.user) ? .userTable : .kernelTable, allocator: &allocator)
    }

    /// Writes `leaf` into the empty slot for `virt` at `leafLevel`, creating the
    /// tables above it (see `map`).
    private func install<A: FrameAllocator>(
        _ leaf: PageTableEntry, at virt: VirtAddr, level leafLevel: PageTableLevel, tableFlags: PTEFlags,
        allocator: inout A
    ) throws(PageTableError) {
        var table = root
        var level = PageTableLevel.pml4
        var firstCreated: (slot: PhysAddr, level: PageTableLevel)?
        while level != leafLevel {
            let slot = entryAddress(in: table, at: level, for: virt)
            var entry = read(slot)
            if entry.isNone {
                guard let frame = allocator.allocateFrame() else {
                    if let created = firstCreated {
                        _ = releaseTableIfEmpty(under: created.slot, tableLevel: created.level, allocator: &allocator)
                    }
                    throw .outOfMemory
                }
                memory.zeroFrame(frame)
                entry = PageTableEntry(frame: frame, flags: tableFlags)
                write(slot, entry)
                if firstCreated == nil { firstCreated = (slot, level.child) }
            } else if entry.nextTable(at: level) != nil {
                if !entry.flags.isSuperset(of: tableFlags) {
                    entry = PageTableEntry(frame: entry.frame, flags: entry.flags.union(tableFlags))
                    write(slot, entry)
                }
            } else {
                // A larger page covers `virt`. Nothing was created yet: below a new table
                // every entry is none, so this branch is only reachable before the first.
                throw .alreadyMapped
            }
            table = entry.frame
            level = level.child
        }
        let slot = entryAddress(in: table, at: level, for: virt)
        let old = read(slot)
        if !old.isNone {
            guard old.nextTable(at: level) != nil,
                  releaseTableIfEmpty(under: slot, tableLevel: level.child, allocator: &allocator)
            else { throw .alreadyMapped }
        }
        write(slot, leaf)
    }

    /// Puts the swap or migration entry `entry` (its PTE form) into the empty
    /// 4 KiB slot for the user page `virt`, creating tables as `map` does:
    /// mremap moving a page that is not in memory. Linux: move_ptes() (set_pte_at
    /// of a swap pte)
    public func installSwapEntry<A: FrameAllocator>(
        _ virt: VirtAddr, _ entry: PageTableEntry, allocator: inout A
    ) throws(PageTableError) {
        precondition(entry.isSwapEntry, "not a swap or migration PTE")
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.isPageAligned else { throw .misaligned }
        try install(entry, at: virt, level: .pt, tableFlags: .userTable, allocator: &allocator)
    }

    /// Maps `length` bytes at `virt` to the same length at `phys`, each step with the largest
    /// page, up to `largestPage`, that both addresses are aligned to and the rest covers.
    /// Pass `.size1G` only when the CPU has 1 GiB pages (CPUID pdpe1gb).
    /// All or nothing: on error the pages mapped so far are unmapped again.
    /// Linux: kernel_physical_mapping_init() → phys_pud_init() / phys_pmd_init() / phys_pte_init()
    public func mapRange<A: FrameAllocator>(
        _ virt: VirtAddr, to phys: PhysAddr, length: UInt64, flags: PTEFlags, largestPage: PageSize,
        allocator: inout A
    ) throws(PageTableError) {
        guard virt.isPageAligned, phys.isPageAligned, length % pageSize == 0 else { throw .misaligned }
        var done: UInt64 = 0
        while done < length {
            let v = virt + done, p = phys + done
            var size = largestPage
            while v.value % size.bytes != 0 || p.value % size.bytes != 0 || length - done < size.bytes,
                  let smaller = size.smaller {
                size = smaller
            }
            do {
                try map(v, to: p, size: size, flags: flags, allocator: &allocator)
            } catch {
                // Undo in the same order; these leaves were mapped by this loop, so unmap cannot fail.
                var undone: UInt64 = 0
                while undone < done {
                    undone += try! unmap(virt + undone, freeEmptyTables: true, allocator: &allocator).size.bytes
                }
                throw error
            }
            done += size.bytes
        }
    }
}

// MARK: - unmapping
//
// Removing mappings and giving back the page tables that no longer map anything.
// Linux splits this into zap_pte_range() (clear the entries, while unmapping) and
// free_pgtables() (free the emptied tables afterwards); here both follow one walk.

extension PageTable {
    /// Removes the leaf that maps the page starting at `virt` and returns it, so the caller
    /// can drop its reference to the frame and flush the TLB. Linux: zap_pte_range()
    ///
    /// `virt` must be the start of the leaf: unmapping part of a huge page throws
    /// `.hugePageSplitUnsupported`. With `freeEmptyTables`, every table on the path left
    /// mapping nothing goes back to `allocator` (Linux: free_pgtables()), except the PDPTs
    /// under the kernel's PML4 slots, which every process shares.
    @discardableResult
    public func unmap<A: FrameAllocator>(
        _ virt: VirtAddr, freeEmptyTables: Bool, allocator: inout A
    ) throws(PageTableError) -> PageTableLeaf {
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.isPageAligned else { throw .misaligned }
        return try unmap(virt, in: root, at: .pml4, freeEmptyTables: freeEmptyTables, allocator: &allocator)
    }

    private func unmap<A: FrameAllocator>(
        _ virt: VirtAddr, in table: PhysAddr, at level: PageTableLevel, freeEmptyTables: Bool, allocator: inout A
    ) throws(PageTableError) -> PageTableLeaf {
        let slot = entryAddress(in: table, at: level, for: virt)
        let entry = read(slot)
        if let size = entry.pageSize(at: level) {
            guard virt.value % size.bytes == 0 else { throw .hugePageSplitUnsupported }
            write(slot, .none)
            return PageTableLeaf(virt: virt, entry: entry, size: size)
        }
        guard let next = entry.nextTable(at: level) else { throw .notMapped }
        let leaf = try unmap(virt, in: next, at: level.child, freeEmptyTables: freeEmptyTables, allocator: &allocator)
        let sharedKernelSlot = level == .pml4 && KernelLayout.kernelPML4Slots.contains(level.index(of: virt))
        if freeEmptyTables && !sharedKernelSlot {
            _ = releaseTableIfEmpty(under: slot, tableLevel: level.child, allocator: &allocator)
        }
        return leaf
    }

    /// If the table `slot` points to, and every table below it, maps nothing, clears `slot`
    /// and frees them all; returns whether it did. `tableLevel` is the level of that table.
    /// Linux: free_pte_range() / free_pmd_range() / free_pud_range()
    private func releaseTableIfEmpty<A: FrameAllocator>(
        under slot: PhysAddr, tableLevel: PageTableLevel, allocator: inout A
    ) -> Bool {
        let table = read(slot).frame
        guard mapsNothing(table, at: tableLevel) else { return false }
        write(slot, .none)
        freeTables(table, at: tableLevel, allocator: &allocator)
        return true
    }

    /// True when every entry of `table` is none or points to a table that maps nothing.
    private func mapsNothing(_ table: PhysAddr, at level: PageTableLevel) -> Bool {
        for index in 0..<PageTableLevel.entriesPerTable {
            let entry = read(table + UInt64(index) * 8)
            if entry.isNone { continue }
            guard let next = entry.nextTable(at: level), mapsNothing(next, at: level.child) else { return false }
        }
        return true
    }

    /// Frees `table` and every table below it (the caller has checked they map nothing).
    private func freeTables<A: FrameAllocator>(_ table: PhysAddr, at level: PageTableLevel, allocator: inout A) {
        for index in 0..<PageTableLevel.entriesPerTable {
            if let next = read(table + UInt64(index) * 8).nextTable(at: level) {
                freeTables(next, at: level.child, allocator: &allocator)
            }
        }
        allocator.freeFrame(table)
    }
}

// MARK: - protection
//
// Changing the access rights of an existing mapping, as mprotect() and copy-on-write do.

extension PageTable {
    /// Gives the leaf that maps the page starting at `virt` the access rights in `flags`,
    /// keeping its frame, its user/kernel ownership and the accessed/dirty bits the CPU
    /// maintains; returns the leaf as it was, so the caller can tell whether the TLB
    /// needs a flush. Linux: change_pte_range() → pte_modify()
    ///
    /// Ownership stays fixed because intermediate entries were built for it (see `map`).
    /// `virt` must be the start of the leaf: part of a huge page throws `.hugePageSplitUnsupported`.
    @discardableResult
    public func protect(_ virt: VirtAddr, flags: PTEFlags) throws(PageTableError) -> PageTableLeaf {
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.isPageAligned else { throw .misaligned }
        guard let (slot, leaf) = findLeaf(virt) else { throw .notMapped }
        guard leaf.virt == virt else { throw .hugePageSplitUnsupported }
        let kept: PTEFlags = [.user, .accessed, .dirty, .huge]
        let newFlags = PageTableEntry.leafFlags(flags.subtracting(kept).union(leaf.entry.flags.intersection(kept)))
        write(slot, PageTableEntry(frame: leaf.entry.frame, flags: newFlags))
        return leaf
    }

    /// Makes the 4 KiB leaf at `virt` read-only and clean (clears writable
    /// and the CPU's dirty bit) if it maps `frame`; returns the leaf as it
    /// was, nil if `virt` maps something else or nothing. Write-back uses it
    /// so that the next store through any mapping faults and marks the page
    /// dirty again. The caller flushes the TLB if the old leaf was writable
    /// or dirty. Linux: page_mkclean_one() (ptep_clear_flush + pte_wrprotect + pte_mkclean)
    public func writeProtect(_ virt: VirtAddr, ifMapping frame: PhysAddr) -> PageTableLeaf? {
        guard virt.isCanonical, virt.isPageAligned, let (slot, leaf) = findLeaf(virt),
              leaf.virt == virt, leaf.size == .size4K, leaf.entry.frame == frame else { return nil }
        let flags = leaf.entry.flags.subtracting([.writable, .dirty])
        write(slot, PageTableEntry(frame: frame, flags: flags))
        return leaf
    }
}

// MARK: - one PTE of any kind
//
// Reading and swapping a 4 KiB entry whatever it holds (present, PROT_NONE, a
// swap or migration entry, nothing): the fault paths that bring a page back
// for a swap entry, and the migration that puts the moved page in place of
// its migration entries.

extension PageTable {
    /// The 4 KiB entry for `virt` as it stands (possibly none), or nil when no
    /// page table covers it (or a huge page does). Linux: pte_offset_map() + ptep_get()
    public func entry(at virt: VirtAddr) -> PageTableEntry? {
        ptSlot(virt).map(read)
    }

    /// Replaces the 4 KiB entry for `virt` with `new` if it still holds exactly
    /// `old` (else `.changed`, and nothing is written; `.notMapped` without a
    /// page table there). `old` is not present (a swap or migration entry, or
    /// none): the MMU never writes such an entry, so a read and a write under
    /// the caller's lock (which orders every change to the entry) suffice; a
    /// present one goes through `replaceLeaf`. Linux: the pte_same() re-check +
    /// set_pte_at() of do_swap_page() and remove_migration_pte()
    public func replaceEntry(_ virt: VirtAddr, expecting old: PageTableEntry,
                             with new: PageTableEntry) throws(PageTableError) {
        precondition(!old.isPresent, "replaceEntry is for entries the MMU does not write")
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.isPageAligned else { throw .misaligned }
        guard let slot = ptSlot(virt) else { throw .notMapped }
        guard read(slot) == old else { throw .changed }
        write(slot, new)
    }

    /// The address of the PT entry for `virt`; nil when a level above has no
    /// table (or maps a huge page).
    private func ptSlot(_ virt: VirtAddr) -> PhysAddr? {
        guard virt.isCanonical else { return nil }
        var table = root
        var level = PageTableLevel.pml4
        while level != .pt {
            guard let next = read(entryAddress(in: table, at: level, for: virt)).nextTable(at: level) else { return nil }
            table = next
            level = level.child
        }
        return entryAddress(in: table, at: .pt, for: virt)
    }
}

extension PageTable {
    /// Points the 4 KiB leaf at `virt` at another frame, with `flags` (ownership
    /// kept as in `protect`), in one walk: the entry is cleared, `flushStale` runs
    /// (so no CPU can still write through the old translation), and the new entry
    /// is written. Returns the leaf as it was. Copy-on-write uses it once the copy
    /// is made. With `expecting`, the leaf must still map that frame with that
    /// writability, or nothing changes (`.changed`): the copy was made from an
    /// entry another CPU has replaced since.
    /// Linux: ptep_clear_flush() + set_pte_at() in wp_page_copy(), after pte_same()
    @discardableResult
    public func replaceFrame(_ virt: VirtAddr, expecting seen: PageTableEntry? = nil, with frame: PhysAddr,
                             flags: PTEFlags, flushStale: () -> Void) throws(PageTableError) -> PageTableLeaf {
        guard virt.isCanonical else { throw .nonCanonical }
        guard virt.isPageAligned, frame.isPageAligned else { throw .misaligned }
        guard let (slot, leaf) = findLeaf(virt) else { throw seen == nil ? .notMapped : .changed }
        guard leaf.size == .size4K else { throw .hugePageSplitUnsupported }
        if let seen, leaf.entry.frame != seen.frame
            || leaf.entry.flags.contains(.writable) != seen.flags.contains(.writable) {
            throw .changed
        }
        let kept: PTEFlags = [.user]
        let newFlags = PageTableEntry.leafFlags(flags.subtracting(kept).union(leaf.entry.flags.intersection(kept)))
        write(slot, PageTableEntry(raw: 0))
        flushStale()
        write(slot, PageTableEntry(frame: frame, flags: newFlags))
        return leaf
    }
}

// What reclaim and migration do to one PTE of a page they found through the
// reverse map: look at its accessed bit, or replace it (with a swap entry, a
// migration entry, or the page's new frame). The caller holds the mm's
// page-table lock and flushes the TLB.

extension PageTable {
    /// Replaces the 4 KiB leaf at `virt` (present or PROT_NONE) with `entry`
    /// if it maps `frame`; returns the leaf's old entry (its accessed and
    /// dirty bits tell what the CPU did with the page), nil if `virt` maps
    /// something else or nothing. `entry` may be a non-present one (a swap or
    /// migration entry) or a leaf for another frame.
    /// Linux: ptep_get_and_clear() + set_pte_at() in try_to_unmap_one() and
    /// remove_migration_pte()
    public func replaceLeaf(_ virt: VirtAddr, ifMapping frame: PhysAddr, with entry: PageTableEntry) -> PageTableEntry? {
        guard virt.isCanonical, virt.isPageAligned, let (slot, leaf) = findLeaf(virt),
              leaf.virt == virt, leaf.size == .size4K, leaf.entry.frame == frame else { return nil }
        // One atomic swap: the old entry returned holds every dirty bit the
        // MMU set up to this instant.
        return PageTableEntry(raw: memory.exchange64(slot, entry.raw))
    }

    /// Clears the accessed bit of the 4 KiB leaf at `virt` if it maps
    /// `frame`: true when it was set (the page was used since the last look),
    /// false when clear, nil when `virt` does not map `frame`. A stale TLB
    /// entry may let the CPU use the page without setting the bit again;
    /// Linux accepts that too (it does not flush here on x86).
    /// Linux: ptep_clear_flush_young() → ptep_test_and_clear_young()
    public func testAndClearAccessed(_ virt: VirtAddr, ifMapping frame: PhysAddr) -> Bool? {
        guard virt.isCanonical, virt.isPageAligned, let (slot, leaf) = findLeaf(virt),
              leaf.virt == virt, leaf.size == .size4K, leaf.entry.frame == frame else { return nil }
        guard leaf.entry.flags.contains(.accessed) else { return false }
        // One locked AND, not a read and a write: a dirty bit the MMU sets in
        // between would be lost, and with it the page's new contents.
        _ = memory.clearBits64(slot, PTEFlags.accessed.rawValue)
        return true
    }
}

// MARK: - copy and zap of whole ranges
//
// Whole-range operations that work table by table instead of page by page, for
// the two places that touch every page of an address space: fork copies the
// parent's tree (Linux: copy_page_range() → copy_pmd_range() → copy_pte_range())
// and exit or munmap tears entries down and frees the tables left empty
// (Linux: zap_page_range() + free_pgtables()). A page-by-page map or unmap
// would walk four levels per page and re-check a table for emptiness after
// every removal.

extension PageTable {
    /// What fork does with one leaf: the entry the child gets (nil: none) and,
    /// if it changes, the parent's new entry (copy-on-write makes both read-only).
    public typealias LeafCopy = (child: PageTableEntry?, parent: PageTableEntry?)

    /// Copies the user leaves of `range` into `child`, creating the child's tables
    /// as needed (with the parent's intermediate flags). `decide` sees each present
    /// leaf once, `decideSwap` each swap or migration entry (with its address):
    /// the swap slot gains a reference, a migration entry may turn read-only
    /// (Linux: copy_nonpresent_pte()). On `.outOfMemory` the child holds a
    /// partial copy, which its owner tears down. Only the user half (below the
    /// kernel slots) may be copied.
    public func copyLeaves<A: FrameAllocator>(
        _ range: Range<VirtAddr>, into child: PageTable, allocator: inout A,
        decideSwap: (VirtAddr, PageTableEntry) -> LeafCopy = { _, _ in (nil, nil) },
        _ decide: (PageTableLeaf) -> LeafCopy
    ) throws(PageTableError) {
        guard !range.isEmpty else { return }
        precondition(range.upperBound.value <= KernelLayout.taskSize, "copyLeaves is for user space")
        try copyTable(root, into: child.root, child: child, at: .pml4, base: 0,
                      first: range.lowerBound.value, last: range.upperBound.value - 1, &allocator, decide, decideSwap)
    }

    private func copyTable<A: FrameAllocator>(
        _ table: PhysAddr, into childTable: PhysAddr, child: PageTable, at level: PageTableLevel, base: UInt64,
        first: UInt64, last: UInt64, _ allocator: inout A, _ decide: (PageTableLeaf) -> LeafCopy,
        _ decideSwap: (VirtAddr, PageTableEntry) -> LeafCopy
    ) throws(PageTableError) {
        guard let slots = userSlots(at: level, base: base, first: first, last: last) else { return }
        for index in slots {
            let start = base + UInt64(index) << level.shift
            let slot = table + UInt64(index) * 8, childSlot = childTable + UInt64(index) * 8
            let entry = read(slot)
            if let size = entry.pageSize(at: level) {
                let (childEntry, parentEntry) = decide(PageTableLeaf(virt: VirtAddr(start), entry: entry, size: size))
                if let childEntry { child.write(childSlot, childEntry) }
                if let parentEntry { write(slot, parentEntry) }
            } else if let next = entry.nextTable(at: level) {
                var childNext = child.read(childSlot).nextTable(at: level)
                if childNext == nil {
                    guard let frame = allocator.allocateFrame() else { throw .outOfMemory }
                    memory.zeroFrame(frame)
                    child.write(childSlot, PageTableEntry(frame: frame, flags: entry.flags))
                    childNext = frame
                }
                try copyTable(next, into: childNext!, child: child, at: level.child, base: start,
                              first: first, last: last, &allocator, decide, decideSwap)
            } else if level == .pt && entry.isSwapEntry {
                let (childEntry, parentEntry) = decideSwap(VirtAddr(start), entry)
                if let childEntry { child.write(childSlot, childEntry) }
                if let parentEntry { write(slot, parentEntry) }
            }
        }
    }

    /// The slots of a table at `level`, whose first entry maps `base`, that overlap
    /// [first, last]: a walk visits only those instead of testing all 512. For
    /// user addresses (no sign extension).
    private func userSlots(at level: PageTableLevel, base: UInt64, first: UInt64, last: UInt64) -> ClosedRange<Int>? {
        guard last >= base else { return nil }
        let low = first > base ? (first - base) >> level.shift : 0
        let high = min(UInt64(PageTableLevel.entriesPerTable - 1), (last - base) >> level.shift)
        return low <= high ? Int(low)...Int(high) : nil
    }

    /// Clears every present leaf of the user range `range`, handing each old leaf to
    /// `body` (to drop its frame), and every swap or migration entry to `swapEntry`
    /// (to give its slot back: Linux: zap_nonpresent_ptes()), and frees every table that lies entirely inside
    /// `tables` (which contains `range`): the caller passes the span between the
    /// neighbouring mappings, where no leaf may stay, so a table there is garbage
    /// once `range` is cleared. Tables reaching outside it stay; nothing is scanned
    /// for emptiness. The walk visits only the entries that overlap `range`.
    /// `tables` nil frees no table at all: for a caller holding mmap_lock only
    /// for reading, while other threads' faults walk the tables.
    /// Linux: unmap_page_range() + free_pgtables(floor, ceiling)
    public func zap<A: FrameAllocator>(_ range: Range<VirtAddr>, freeingTablesIn tables: Range<VirtAddr>?,
                                       allocator: inout A, swapEntry: (VirtAddr, PageTableEntry) -> Void = { _, _ in },
                                       _ body: (PageTableLeaf) -> Void) {
        guard !range.isEmpty else { return }
        precondition(range.upperBound.value <= KernelLayout.taskSize, "zap is for user space")
        guard let tables else {
            // An empty table span (first above last): no table lies inside it.
            zapTable(root, at: .pml4, base: 0, first: range.lowerBound.value, last: range.upperBound.value - 1,
                     tablesFirst: .max, tablesLast: 0, &allocator, body, swapEntry)
            return
        }
        precondition(tables.upperBound.value <= KernelLayout.taskSize, "zap is for user space")
        precondition(tables.lowerBound <= range.lowerBound && range.upperBound <= tables.upperBound,
                     "the table span must contain the zapped range")
        zapTable(root, at: .pml4, base: 0, first: range.lowerBound.value, last: range.upperBound.value - 1,
                 tablesFirst: tables.lowerBound.value, tablesLast: tables.upperBound.value - 1, &allocator,
                 body, swapEntry)
    }

    /// `zap` freeing only the tables entirely inside `range` itself.
    public func zap<A: FrameAllocator>(_ range: Range<VirtAddr>, allocator: inout A,
                                       swapEntry: (VirtAddr, PageTableEntry) -> Void = { _, _ in },
                                       _ body: (PageTableLeaf) -> Void) {
        zap(range, freeingTablesIn: range, allocator: &allocator, swapEntry: swapEntry, body)
    }

    private func zapTable<A: FrameAllocator>(
        _ table: PhysAddr, at level: PageTableLevel, base: UInt64, first: UInt64, last: UInt64,
        tablesFirst: UInt64, tablesLast: UInt64, _ allocator: inout A, _ body: (PageTableLeaf) -> Void,
        _ swapEntry: (VirtAddr, PageTableEntry) -> Void
    ) {
        guard let slots = userSlots(at: level, base: base, first: first, last: last) else { return }
        for index in slots {
            let start = base + UInt64(index) << level.shift
            let end = start + (level.entrySpan - 1)
            let slot = table + UInt64(index) * 8
            let entry = read(slot)
            if let size = entry.pageSize(at: level) {
                // A huge leaf is removed only when the range covers all of it.
                guard start >= first && start + (size.bytes - 1) <= last else { continue }
                write(slot, .none)
                body(PageTableLeaf(virt: VirtAddr(start), entry: entry, size: size))
            } else if let next = entry.nextTable(at: level) {
                if start >= tablesFirst && end <= tablesLast {
                    // Entirely inside the table span: clear all of it and free it.
                    zapTable(next, at: level.child, base: start, first: start, last: end,
                             tablesFirst: tablesFirst, tablesLast: tablesLast, &allocator, body, swapEntry)
                    write(slot, .none)
                    allocator.freeFrame(next)
                } else {
                    zapTable(next, at: level.child, base: start, first: max(first, start), last: min(last, end),
                             tablesFirst: tablesFirst, tablesLast: tablesLast, &allocator, body, swapEntry)
                }
            } else if level == .pt && entry.isSwapEntry {
                write(slot, .none)
                swapEntry(VirtAddr(start), entry)
            }
        }
    }
}

// MARK: - counting table pages
//
// Counting the page-table pages below an address: the "pgtables" part of the
// OOM killer's badness, since a process can pin memory in page tables alone
// (one byte read every 2 MiB maps only the shared zero page but costs a PT).

extension PageTable {
    /// Table pages (PDPTs, PDs and PTs) reachable from the PML4 slots that map
    /// [0, end); the PML4 itself not counted. Linux: mm_pgtables_bytes() / PAGE_SIZE
    public func tablePages(below end: VirtAddr) -> Int {
        var count = 0
        let slots = Int(min(end.value >> PageTableLevel.pml4.shift, UInt64(PageTableLevel.entriesPerTable / 2)))
        for index in 0..<slots {
            if let next = read(root + UInt64(index) * 8).nextTable(at: .pml4) {
                count += tablesInSubtree(next, at: .pdpt)
            }
        }
        return count
    }

    /// `table` (at `level`) and every table below it.
    private func tablesInSubtree(_ table: PhysAddr, at level: PageTableLevel) -> Int {
        guard level != .pt else { return 1 }
        var count = 1
        for index in 0..<PageTableLevel.entriesPerTable {
            if let next = read(table + UInt64(index) * 8).nextTable(at: level) {
                count += tablesInSubtree(next, at: level.child)
            }
        }
        return count
    }
}

// MARK: - the kernel half
//
// Every process's PML4 shares the kernel's upper tables: PML4 slots 254 (direct map)
// and 255 (kernel image, vmalloc) point to the same PDPTs everywhere, so a kernel
// mapping made once is visible in every address space without touching each PML4.

extension KernelLayout {
    /// The PML4 slots that hold the kernel half (254 and 255). Linux: KERNEL_PGD_BOUNDARY…PTRS_PER_PGD
    public static var kernelPML4Slots: ClosedRange<Int> {
        PageTableLevel.pml4.index(of: VirtAddr(pageOffset))...PageTableLevel.pml4.index(of: VirtAddr(vmallocEnd))
    }
}

extension PageTable {
    /// Gives each empty kernel slot its own zeroed PDPT, once, at boot: a slot still empty
    /// when processes copy it would never show them later kernel mappings.
    /// Linux: preallocate_vmalloc_pages()
    public func populateKernelSlots<A: FrameAllocator>(allocator: inout A) throws(PageTableError) {
        for index in KernelLayout.kernelPML4Slots {
            let slot = root + UInt64(index) * 8
            guard read(slot).isNone else { continue }
            guard let frame = allocator.allocateFrame() else { throw .outOfMemory }
            memory.zeroFrame(frame)
            write(slot, PageTableEntry(frame: frame, flags: .kernelTable))
        }
    }

    /// Makes this PML4 share the kernel half of `kernel` by copying its kernel slots.
    /// Linux: pgd_ctor() → clone_pgd_range()
    public func copyKernelEntries(from kernel: PageTable) {
        for index in KernelLayout.kernelPML4Slots {
            let offset = UInt64(index) * 8
            write(root + offset, kernel.read(kernel.root + offset))
        }
    }
}
