// The LRU lists, one set per NUMA node: every page reclaim may take is on
// one of its node's lists. Anonymous pages enter the active anon list when first mapped, file
// pages the inactive file list when they enter the page cache (a file read
// once should not push out what is used all the time); a read() of a cached
// page marks it accessed, and a second read promotes it. Reclaim
// (Vmscan.swift) moves pages between the lists and takes them off to evict.
// The lists themselves and their invariants are Kernel/Core's LRULists.
//
// Locking: each node's `lock(node)` protects its lists and, for a page of
// the node, the `lru` and `active` flags (which list it is on). No code
// holds two nodes' LRU locks at once. Taken inside a page cache's lock and inside
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
    /// Each node's lists, index = node id: `lock(node)` held. Fixed
    /// addresses, set up once after the page allocator. Linux: pgdat->__lruvec
    nonisolated(unsafe) private static var storage: UnsafeMutablePointer<LRULists>? = nil
    /// Each node's lock, same index. Linux: lruvec->lru_lock
    nonisolated(unsafe) private static var locks: UnsafeMutablePointer<SpinLock>? = nil
    /// Written once at boot.
    nonisolated(unsafe) private static var nodeCount = 0

    /// Called once at boot, after every node's allocator is installed.
    static func setUp() {
        let count = PageAllocator.nodeCount
        let slots = UnsafeMutablePointer<LRULists>.allocate(capacity: count)
        let lockSlots = UnsafeMutablePointer<SpinLock>.allocate(capacity: count)
        for n in 0..<count {
            (slots + n).initialize(to: LRULists(memMap: PageAllocator.node(n).pointee.memMap))
            (lockSlots + n).initialize(to: SpinLock(LockClass("&lruvec->lru_lock"), disablesInterrupts: false))
        }
        storage = slots
        locks = lockSlots
        nodeCount = count
    }

    /// Node `node`'s lists and their lock.
    private static func lists(_ node: Int) -> UnsafeMutablePointer<LRULists> { storage.unsafelyUnwrapped + node }
    static func lock(_ node: Int) -> SpinLock { locks.unsafelyUnwrapped[node] }

    /// Pages on `kind` in every node now (a snapshot, no lock). Linux: global_node_page_state()
    static func count(_ kind: LRUListKind) -> Int {
        var sum = 0
        for node in 0..<nodeCount { sum += count(kind, node: node) }
        return sum
    }

    /// Pages on node `node`'s `kind` now (a snapshot, no lock). Linux: lruvec_page_state()
    static func count(_ kind: LRUListKind, node: Int) -> Int {
        node < nodeCount ? lists(node).pointee.count(kind) : 0
    }

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
        let node = NUMA.nodeOf(frame: frame)
        lock(node).lock()
        PageState.set(frame, .lru)
        lists(node).pointee.addToHead(frame.pfn, kind(of: PageState.flags(frame)))
        lock(node).unlock()
    }

    /// A page being freed (its last reference gone) leaves its list.
    /// PageAllocator.free calls it for a page with `lru` set.
    /// Linux: __page_cache_release() → lruvec_del_folio()
    static func deleteFreed(_ frame: PhysAddr) {
        let node = NUMA.nodeOf(frame: frame)
        lock(node).lock()
        let flags = PageState.flags(frame)
        if flags.contains(.lru) {
            lists(node).pointee.remove(frame.pfn, kind(of: flags))
            PageState.clear(frame, .lru)
        }
        lock(node).unlock()
        PageState.clear(frame, [.active, .referenced, .workingset, .unevictable])
    }

    /// Takes `frame` off its list for the caller to work on, with a
    /// reference; false if it is on no list or is being freed. Give it back
    /// with `putback`. Linux: folio_isolate_lru()
    static func isolate(_ frame: PhysAddr) -> Bool {
        let node = NUMA.nodeOf(frame: frame)
        lock(node).lock()
        defer { lock(node).unlock() }
        let flags = PageState.flags(frame)
        guard flags.contains(.lru), MapCount.tryGet(frame) else { return false }
        lists(node).pointee.remove(frame.pfn, kind(of: flags))
        PageState.clear(frame, .lru)
        return true
    }

    /// Puts an isolated page back on the list its flags say, at the head,
    /// and drops the isolation's reference (which may free it: then it
    /// leaves the list again at once). Linux: folio_putback_lru()
    static func putback(_ frame: PhysAddr) {
        var one = frame
        withUnsafeMutablePointer(to: &one) { putback(UnsafeMutableBufferPointer(start: $0, count: 1)) }
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
        let node = NUMA.nodeOf(frame: frame)
        lock(node).lock()
        let now = PageState.flags(frame)
        if now.contains(.lru) && !now.contains(.active) && !now.contains(.unevictable) {
            lists(node).pointee.remove(frame.pfn, kind(of: now))
            PageState.set(frame, .active)
            PageState.clear(frame, .referenced)
            lists(node).pointee.addToHead(frame.pfn, kind(of: PageState.flags(frame)))
            lock(node).unlock()
            VMStat.count(.pgActivate)
            return
        }
        lock(node).unlock()
    }

    /// Takes up to `batch.count` pages from the tail of node `node`'s
    /// `kind`, each with a reference and off the list, into `batch`; pages
    /// being freed are skipped. Returns how many were looked at and how many
    /// taken. Linux: isolate_lru_folios()
    static func isolateFromTail(_ kind: LRUListKind, node: Int, scan: Int,
                                into batch: UnsafeMutableBufferPointer<PhysAddr>) -> (scanned: Int, taken: Int) {
        lock(node).lock()
        defer { lock(node).unlock() }
        var taken = 0
        return lists(node).pointee.isolateFromTail(kind, scan: scan, limit: batch.count) { pfn in
            let frame = PhysAddr(pfn: pfn)
            guard MapCount.tryGet(frame) else { return false }     // being freed: its free takes it off
            PageState.clear(frame, .lru)
            batch[taken] = frame
            taken += 1
            return true
        }
    }

    /// Puts back every page of `batch` (isolated pages, of any nodes) on the
    /// list its flags now say, then drops the references, freeing pages
    /// whose last user went meanwhile. Linux: move_folios_to_lru()
    static func putback(_ batch: UnsafeMutableBufferPointer<PhysAddr>) {
        guard !batch.isEmpty else { return }
        var held = -1
        for frame in batch {
            let node = NUMA.nodeOf(frame: frame)
            if node != held {
                if held >= 0 { lock(held).unlock() }
                lock(node).lock()
                held = node
            }
            PageState.set(frame, .lru)
            lists(node).pointee.addToHead(frame.pfn, kind(of: PageState.flags(frame)))
        }
        lock(held).unlock()
        for frame in batch { MapCount.put(frame) }
    }
}
