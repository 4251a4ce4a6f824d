// Page migration: moving a page that processes map, or that sits in the page
// cache, to another frame without anyone noticing but a short wait. The
// compactor (Compaction.swift) uses it to slide pages in use out of the way.
//
//   1. unmap: through the reverse map, every PTE mapping the page becomes a
//      migration entry (a non-present PTE naming the page's frame, swap type
//      30 read / 31 write). A task touching the page now faults and waits
//      (PageFault's .migrationWait) until step 3.
//   2. move: if the page's reference count is exactly what the cache and
//      this migration explain (no read() copying from it, no fault about to
//      map it), copy the bytes, move the descriptor's state (flags, owner,
//      index, dirty, LRU list) to the new frame, and for a file page put the
//      new frame in the page-cache index, under the index's lock.
//   3. remap: every migration entry becomes a PTE for the new frame (or the
//      old one again if step 2 refused), and the old frame is freed.
//
// Each mm whose PTE became a migration entry stays locked (its mmap_lock
// held for reading, taken by try-lock) from step 1 to step 3. That keeps
// munmap, mprotect, mremap and fork (which take it for writing) from
// changing or copying the entry meanwhile, so step 3 finds every entry step 1
// made: an entry left behind would keep its faulting task waiting forever.
// It also bounds the work: a page mapped by more than `maxMappings` mms is
// not migrated (Linux has no such limit; its rmap walks take the anon_vma
// and i_mmap locks instead, which Keel's RMap does not expose).
//
// Pages in the swap cache, under write-back or mapped by many are left
// alone: a migration that cannot be done safely fails, and the page goes back
// to its LRU list. Linux: mm/migrate.c (migrate_pages(), migrate_folio_unmap(),
// try_to_migrate_one(), folio_migrate_mapping(), folio_migrate_flags(),
// remove_migration_ptes())

enum Migrate {
    /// Most mms a migrated page may be mapped in: each stays locked for the
    /// migration, and lockdep tracks 16 locks a CPU.
    static let maxMappings = 6

    /// One PTE turned into a migration entry.
    private struct Mapping {
        let mm: MM
        let address: VirtAddr
        /// The present entry it replaced: the remapped entry gets its
        /// permissions and accessed bit.
        let old: PageTableEntry
        /// The migration entry that replaced it.
        let entry: PageTableEntry
    }

    /// How one try at moving a page ended.
    enum Outcome {
        /// The page is the new frame now, back on its LRU list.
        case moved
        /// Someone holds it for a moment (a task mid-fault on it, an mm's
        /// lock taken): another try may succeed.
        case busy
        /// It cannot move (write-back, the swap cache, not a user page, no
        /// free frame where it must go).
        case refused
    }

    /// Tries to move a busy page this many times. Linux: NR_MAX_MIGRATE_PAGES_RETRY
    static let maxPasses = 10

    /// Moves isolated page `source` (off its LRU list, holding the
    /// isolation's reference) into `target` (a free frame the compactor
    /// took), in one try. True: `target` is the page now, back on its LRU
    /// list, and `source` is freed. False: nothing changed; `source` is
    /// still the caller's to put back, `target` still free for the caller.
    /// Counts pgmigrate_success / pgmigrate_fail.
    /// Linux: migrate_pages_batch() for one folio
    static func movePage(_ source: PhysAddr, to target: PhysAddr) -> Bool {
        let moved = tryMove(source, to: target) == .moved
        VMStat.count(moved ? .pgMigrateSuccess : .pgMigrateFail)
        return moved
    }

    /// One try at moving isolated page `source` to a frame `choice` allows
    /// (move_pages, migrate_pages and mbind's MPOL_MF_MOVE pick the node).
    /// Unless it moved, `source` is still isolated, the caller's to try
    /// again or put back. Counts nothing: the caller counts each page once.
    /// Linux: migrate_folio_unmap() + migrate_folio_move() with
    /// alloc_migration_target() (__GFP_THISNODE) or the policy's new_folio()
    static func tryMove(_ source: PhysAddr, on choice: NodeChoice) -> Outcome {
        // With `allowed` set, the allocator takes no other node.
        guard let target = PageAllocator.allocate(on: choice) else { return .refused }
        let outcome = tryMove(source, to: target)
        if outcome != .moved { PageAllocator.free(target) }
        return outcome
    }

    private static func tryMove(_ source: PhysAddr, to target: PhysAddr) -> Outcome {
        let page = PageAllocator.page(source).pointee
        // Linux waits for write-back and migrates swap-cache pages with their
        // cache entry; Keel leaves both where they are.
        guard !page.flags.contains(.writeback), !page.flags.contains(.swapCache),
              page.flags.contains(.anon) || page.isPageCache else { return .refused }
        let moved = withUnsafeTemporaryAllocation(of: Mapping.self, capacity: maxMappings) { slots in
            var mappings = Mappings(slots: slots)
            defer { mappings.clear() }
            var dirty = false
            var moved = false
            if unmap(source, into: &mappings, dirty: &dirty) {
                if dirty { markDirty(source) }
                moved = move(source, to: target, mappings: Int32(mappings.count))
            }
            remap(mappings, to: moved ? target : source, moved: moved)
            return moved
        }
        guard moved else { return .busy }
        // `target` holds the mappings' references, the cache's, and ours,
        // which going back on the list drops.
        PageAllocator.free(source)
        LRU.putback(target)
        return .moved
    }

    /// The PTEs one migration replaced, in a buffer on the migrating task's
    /// stack: compaction migrates when memory is short, and a failed heap
    /// allocation in the kernel cannot be caught.
    private struct Mappings {
        let slots: UnsafeMutableBufferPointer<Mapping>
        private(set) var count = 0

        init(slots: UnsafeMutableBufferPointer<Mapping>) { self.slots = slots }

        var isFull: Bool { count == slots.count }
        var all: UnsafeMutableBufferPointer<Mapping>.SubSequence { slots[0..<count] }

        mutating func append(_ mapping: Mapping) {
            precondition(!isFull, "more migration entries than maxMappings")
            (slots.baseAddress! + count).initialize(to: mapping)
            count += 1
        }

        /// Drops the entries' references to their mms.
        mutating func clear() {
            slots.baseAddress!.deinitialize(count: count)
            count = 0
        }
    }

    // MARK: 1. unmap

    /// Replaces every PTE mapping `frame` with a migration entry, recording
    /// each (its mm left locked for reading) in `mappings`; `dirty` says if
    /// a replaced PTE was dirty. False if some mm could not be locked or there
    /// are too many: the page may still be mapped there.
    /// Linux: try_to_migrate() → try_to_migrate_one()
    private static func unmap(_ frame: PhysAddr, into mappings: inout Mappings, dirty: inout Bool) -> Bool {
        var complete = true
        let walk = RMap.walk(frame) { mm, _, address in
            // A second hold of the read lock the walk took, kept until remap.
            guard !mappings.isFull, mm.mmapLock.tryLockRead() else {
                complete = false
                return false
            }
            mm.pageTableLock.lock()
            var replaced: Mapping? = nil
            if let current = mm.pageTable.entry(at: address), current.isPresent || current.isProtNone,
               current.frame == frame {
                let writable = current.flags.contains(.writable)
                let entry = SwapEntry.migration(frame: frame, writable: writable).pageTableEntry
                if let old = mm.pageTable.replaceLeaf(address, ifMapping: frame, with: entry) {
                    replaced = Mapping(mm: mm, address: address, old: old, entry: entry)
                    if old.flags.contains(.dirty) { dirty = true }
                }
            }
            mm.pageTableLock.unlock()
            guard let replaced else {
                mm.mmapLock.unlockRead()
                return true
            }
            // The PTE's reference goes with it (a migration entry holds none);
            // the isolation's keeps the count above 0.
            _ = MapCount.remove(frame)
            mm.flush(address)
            mappings.append(replaced)
            return true
        }
        return complete && walk.skipped == 0
    }

    /// The page was written through a PTE just replaced: its bytes differ
    /// from the file's (or the swap slot's). Linux: folio_mark_dirty() in try_to_migrate_one()
    private static func markDirty(_ frame: PhysAddr) {
        let page = PageAllocator.page(frame).pointee
        if page.isPageCache, let space = PageCache.space(id: page.mapping) {
            space.markDirty(frame)
        } else {
            PageState.set(frame, .dirty)
        }
    }

    // MARK: 2. move

    /// If `source`'s references are exactly the isolation's and its cache's
    /// (its `mappings` PTEs are migration entries now), copies it to `target`
    /// and moves its state there; `target`'s count becomes `mappings` + the
    /// cache's + ours, ready for remap. Linux: migrate_folio_move() →
    /// folio_migrate_mapping() (the refcount check), folio_migrate_copy()
    private static func move(_ source: PhysAddr, to target: PhysAddr, mappings: Int32) -> Bool {
        let page = PageAllocator.page(source).pointee
        let references = page.cacheReferences + 1
        func step() {
            copyAndMoveState(source, to: target)
            MapCount.initialize(target, to: mappings + references)
        }
        if page.isPageCache {
            guard let space = PageCache.space(id: page.mapping) else { return false }
            return space.migratePage(page.index, from: source, to: target, references: references) { step() }
        }
        // An anonymous page unmapped everywhere: nothing else can find it.
        guard MapCount.count(source) == references else { return false }
        step()
        return true
    }

    /// The page's state that travels with it. `.lru` is set again when the
    /// page goes back on its list; `.head` stays with each frame.
    private static let movedFlags: PageFlags = [.anon, .swapBacked, .dirty, .active, .referenced,
                                                .workingset, .unevictable]

    /// Linux: folio_migrate_copy() → folio_copy() + folio_migrate_flags()
    private static func copyAndMoveState(_ source: PhysAddr, to target: PhysAddr) {
        DirectMap.pointer(target, as: UInt8.self).update(from: DirectMap.pointer(source, as: UInt8.self),
                                                         count: Int(pageSize))
        let from = PageAllocator.page(source), to = PageAllocator.page(target)
        to.pointee.mapping = from.pointee.mapping
        to.pointee.index = from.pointee.index
        // mark counts an anonymous page in AnonPages; the free of `source`
        // counts it out.
        PageAllocator.mark(target, from.pointee.flags.intersection(movedFlags))
        from.pointee.mapping = 0
        from.pointee.index = 0
        PageState.clear(source, movedFlags.subtracting(.anon))
    }

    // MARK: 3. remap

    /// Turns each migration entry back into a present PTE for `frame` (the
    /// new frame if `moved`, else the old one again) and unlocks its mm. An
    /// entry gone meanwhile (MADV_DONTNEED zaps under the read lock) gives
    /// its reference back. Linux: remove_migration_ptes() → remove_migration_pte()
    private static func remap(_ mappings: Mappings, to frame: PhysAddr, moved: Bool) {
        for mapping in mappings.all {
            let mm = mapping.mm
            mm.pageTableLock.lock()
            var flags = mapping.old.flags
            if mm.pageTable.entry(at: mapping.address)?.swapEntry?.isWritableMigration != true {
                flags.remove(.writable)          // write-protected meanwhile
            }
            var restored = true
            do throws(PageTableError) {
                try mm.pageTable.replaceEntry(mapping.address, expecting: mapping.entry,
                                              with: PageTableEntry(frame: frame, flags: flags))
            } catch {
                restored = false                 // zapped meanwhile: nothing to restore
            }
            mm.pageTableLock.unlock()
            if moved {
                if !restored { _ = MapCount.remove(frame) }     // counted in advance by move
            } else if restored {
                MapCount.add(frame)
            }
            mm.mmapLock.unlockRead()
        }
    }
}
