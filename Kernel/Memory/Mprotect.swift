// Changing the protection of a range: the VMAs' flags first (split at the
// edges, merged where they now match), then the PTEs already present. A page
// stays read-only while it is shared copy-on-write or is the zero page, so the
// next write still faults and copies. Big kernel lock held.
// Linux: mm/mprotect.c do_mprotect_pkey(), change_protection()

extension MM {
    /// Linux: do_mprotect_pkey()
    func mprotect(_ start: VirtAddr, length requested: UInt64, prot: UInt64) throws(Errno) {
        precondition(mmapLock.isWriteLocked, "mprotect without mmap_lock held for writing")
        guard start.isPageAligned else { throw .EINVAL }
        guard requested != 0 else { return }
        let length = Mman.pageAlign(requested)
        guard length != 0, UserRange.end(of: start, length: length) != nil else { throw .ENOMEM }    // end <= start
        guard let protection = VMFlags(protection: prot & ~Mman.PROT_GROWS) else { throw .EINVAL }
        let end = start + length
        do { try vmas.protectRange(start, end, protection: protection) } catch { throw error.errno }
        changeProtection(start, end)
    }

    /// Rewrites the PTEs of [start, end) after a VMA flag change.
    /// Linux: change_protection()
    private func changeProtection(_ start: VirtAddr, _ end: VirtAddr) {
        var leaves: [PageTableLeaf] = []
        pageTable.forEachLeaf(in: start..<end) { leaves.append($0) }
        for leaf in leaves {
            guard let vma = vmas.findVMA(leaf.virt), vma.contains(leaf.virt) else { continue }
            let frame = leaf.entry.frame
            // Only a private anonymous page mapped once may become writable
            // here; a page-cache page (shared or not) waits for its first
            // store to fault, which dirties it or copies it.
            let exclusive = frame != ZeroPage.frame && !PageAllocator.page(frame).pointee.isPageCache
                && MapCount.count(frame) == 1
            let writable = leaf.entry.flags.contains(.writable) || (exclusive && vma.flags.contains(.write))
            do {
                _ = try pageTable.protect(leaf.virt, flags: MM.pteFlags(for: vma.flags, writable: writable))
            } catch {
                Panic.now("change_protection: the leaf at \(Fmt.hex(leaf.virt.value)) just listed is gone: \(error)")
            }
        }
        // A page being migrated from a writable PTE comes back read-only: the
        // new protection may forbid writes, and a write fault will sort it out.
        // Swap entries carry no protection: the fault that brings the page
        // back maps it as the VMA says then. Linux: change_pte_range()'s
        // is_writable_migration_entry() case
        var migrating: [(VirtAddr, PageTableEntry)] = []
        pageTable.forEachSwapEntry(in: start..<end) { address, pte in
            if pte.swapEntry?.isWritableMigration == true { migrating.append((address, pte)) }
        }
        for (address, pte) in migrating {
            guard let entry = pte.swapEntry else { continue }
            pageTableLock.lock()
            defer { pageTableLock.unlock() }
            do {
                try pageTable.replaceEntry(address, expecting: pte,
                                           with: SwapEntry.migration(frame: entry.migrationFrame, writable: false).pageTableEntry)
            } catch {
                // The migration ended meanwhile (it does not take mmap_lock):
                // the new PTE is read-only or goes through the loop above next time.
                continue
            }
        }
        // One flush (one shootdown on SMP) for the whole range.
        if !leaves.isEmpty { flush(start, end) }
    }
}
