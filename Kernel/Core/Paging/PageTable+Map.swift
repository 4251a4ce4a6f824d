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
        let tableFlags: PTEFlags = flags.contains(.user) ? .userTable : .kernelTable
        var table = root
        var level = PageTableLevel.pml4
        var firstCreated: (slot: PhysAddr, level: PageTableLevel)?
        while level != size.level {
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
        // Bit 7 means PAT in a PT entry, so `.huge` is set exactly when the size calls for it.
        var leafFlags = PageTableEntry.leafFlags(flags).subtracting(.huge)
        if size != .size4K { leafFlags.insert(.huge) }
        write(slot, PageTableEntry(frame: phys, flags: leafFlags))
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
