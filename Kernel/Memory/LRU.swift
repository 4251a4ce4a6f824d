// The LRU lists of Keel's one node: every page reclaim may take is on one of
// them. Anonymous pages enter the active anon list when first mapped, file
// pages the inactive file list when they enter the page cache (a file read
// once should not push out what is used all the time); a read() of a cached
// page marks it accessed, and a second read promotes it. Reclaim
// (Vmscan.swift) moves pages between the lists and takes them off to evict.
// The lists themselves and their invariants are Kernel/Core's LRULists.
//
// Locking: `lock` protects the lists and, for a page, the `lru` and `active`
// flags (which list it is on). Taken inside a page cache's lock and inside
// the page allocator's callers' locks; nothing is taken inside it. Page flags
// change with atomic operations (PageState) since others change other bits
// of the same word under other locks.
//
// A page on a list holds no reference of its own: the lists are an index,
// like Linux's. Whoever takes a page off to work on it (reclaim, migration)
// takes a reference first with MapCount.tryGet (which fails for a page being
// freed); the free of a page still on a list takes it off (`deleteFreed`).
// Linux: mm/swap.c (folio_add_lru, folio_mark_accessed, folio_putback_lru),
// mm/vmscan.c (folio_isolate_lru), lruvec->lru_lock

enum LRU {
    static let lock = SpinLock(LockClass("&lruvec->lru_lock"), disablesInterrupts: false)
    /// The lists: `lock` held. A fixed address, set up once after the page
    /// allocator. Linux: pgdat->__lruvec
    nonisolated(unsafe) private static var storage: UnsafeMutablePointer<LRULists>? = nil
    private static var lists: UnsafeMutablePointer<LRULists> { storage.unsafelyUnwrapped }

    /// Called once at boot, after the page allocator is up.
    static func setUp(memMap: MemMap) {
        let slot = UnsafeMutablePointer<LRULists>.allocate(capacity: 1)
        slot.initialize(to: LRULists(memMap: memMap))
        storage = slot
    }

    /// Pages on `kind` now (a snapshot, no lock). Linux: lruvec_page_state()
    static func count(_ kind: LRUListKind) -> Int { storage?.pointee.count(kind) ?? 0 }

    /// The list a page with `flags` belongs on. Linux: folio_lru_list()
    static func kind(of flags: PageFlags) -> LRUListKind {
        if flags.contains(.unevictable) { return .unevictable }
        return LRUListKind(file: !flags.contains(.swapBacked), active: flags.contains(.active))
    }

    /// A new page joins the lists: anonymous pages on the active list, file
    /// pages on the inactive one. The caller owns the page (just allocated,
    /// not yet visible to reclaim). Linux: folio_add_lru() (lru_cache_add),
    /// with the active list for new anonymous pages as Linux did before 5.9
    static func add(_ frame: PhysAddr) {
        let flags = PageState.flags(frame)
        if flags.contains(.swapBacked) { PageState.set(frame, .active) }
        lock.lock()
        PageState.set(frame, .lru)
        lists.pointee.addToHead(frame.pfn, kind(of: PageState.flags(frame)))
        lock.unlock()
    }

    /// A page being freed (its last reference gone) leaves its list.
    /// PageAllocator.free calls it for a page with `lru` set.
    /// Linux: __page_cache_release() → lruvec_del_folio()
    static func deleteFreed(_ frame: PhysAddr) {
        lock.lock()
        let flags = PageState.flags(frame)
        if flags.contains(.lru) {
            lists.pointee.remove(frame.pfn, kind(of: flags))
            PageState.clear(frame, .lru)
        }
        lock.unlock()
        PageState.clear(frame, [.active, .referenced, .workingset, .unevictable])
    }

    /// Takes `frame` off its list for the caller to work on, with a
    /// reference; false if it is on no list or is being freed. Give it back
    /// with `putback`. Linux: folio_isolate_lru()
    static func isolate(_ frame: PhysAddr) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let flags = PageState.flags(frame)
        guard flags.contains(.lru), MapCount.tryGet(frame) else { return false }
        lists.pointee.remove(frame.pfn, kind(of: flags))
        PageState.clear(frame, .lru)
        return true
    }

    /// Puts an isolated page back on the list its flags say, at the head,
    /// and drops the isolation's reference (which may free it: then it
    /// leaves the list again at once). Linux: folio_putback_lru()
    static func putback(_ frame: PhysAddr) {
        lock.lock()
        PageState.set(frame, .lru)
        lists.pointee.addToHead(frame.pfn, kind(of: PageState.flags(frame)))
        lock.unlock()
        MapCount.put(frame)
    }

    /// A page was used through read() or write(): the first use marks it
    /// referenced, the second moves an inactive page to the active list.
    /// Linux: folio_mark_accessed()
    static func markAccessed(_ frame: PhysAddr) {
        let flags = PageState.flags(frame)
        guard flags.contains(.referenced), !flags.contains(.active), flags.contains(.lru) else {
            if !flags.contains(.referenced) { PageState.set(frame, .referenced) }
            return
        }
        lock.lock()
        let now = PageState.flags(frame)
        if now.contains(.lru) && !now.contains(.active) && !now.contains(.unevictable) {
            lists.pointee.remove(frame.pfn, kind(of: now))
            PageState.set(frame, .active)
            PageState.clear(frame, .referenced)
            lists.pointee.addToHead(frame.pfn, kind(of: PageState.flags(frame)))
            lock.unlock()
            VMStat.count(.pgActivate)
            return
        }
        lock.unlock()
    }

    /// Takes up to `batch.count` pages from the tail of `kind`, each with a
    /// reference and off the list, into `batch`; pages being freed are
    /// skipped. Returns how many were looked at and how many taken.
    /// Linux: isolate_lru_folios()
    static func isolateFromTail(_ kind: LRUListKind, scan: Int,
                                into batch: UnsafeMutableBufferPointer<PhysAddr>) -> (scanned: Int, taken: Int) {
        var scanned = 0, taken = 0
        lock.lock()
        var cursor = lists.pointee.tail(kind)
        while let pfn = cursor, scanned < scan, taken < batch.count {
            cursor = lists.pointee.older(than: pfn)
            scanned += 1
            let frame = PhysAddr(pfn: pfn)
            guard MapCount.tryGet(frame) else { continue }      // being freed: its free takes it off
            lists.pointee.remove(pfn, kind)
            PageState.clear(frame, .lru)
            batch[taken] = frame
            taken += 1
        }
        lock.unlock()
        return (scanned, taken)
    }

    /// Puts back every page of `batch` (isolated by `isolateFromTail`) on the
    /// list its flags now say, then drops the references, freeing pages
    /// whose last user went meanwhile. Linux: move_folios_to_lru()
    static func putback(_ batch: UnsafeMutableBufferPointer<PhysAddr>) {
        guard !batch.isEmpty else { return }
        lock.lock()
        for frame in batch {
            PageState.set(frame, .lru)
            lists.pointee.addToHead(frame.pfn, kind(of: PageState.flags(frame)))
        }
        lock.unlock()
        for frame in batch { MapCount.put(frame) }
    }
}
