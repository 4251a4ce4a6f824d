// The LRU lists reclaim scans, and the decisions it takes on each page. The
// lists are doubly linked through the page descriptors' `lruNext`/`lruPrev`
// (frame numbers, so a list costs no memory of its own), newest at the head,
// oldest at the tail, where reclaim looks first. The kernel's
// Kernel/Memory/LRU.swift keeps them under its lock and sets the page flags;
// this file only links and unlinks, so the host tests can check every list
// operation against a model.
//
// The policy is Linux's two-list "second chance" (seed 002): a page enters
// the inactive list (file pages) or the active list (anonymous pages). Reclaim
// takes pages from the inactive tail; one used since it was last looked at
// gets a second chance (back to the head, or promoted to the active list if
// it was used twice), an unused one is evicted. When the inactive list gets
// short, pages move down from the active tail, losing their accessed bits on
// the way. Linux: mm/vmscan.c, mm/swap.c, include/linux/mmzone.h (enum lru_list)

/// Which list a page is on. Linux: enum lru_list
public enum LRUListKind: Int, CaseIterable, Sendable {
    case inactiveAnon = 0
    case activeAnon = 1
    case inactiveFile = 2
    case activeFile = 3
    /// Pages reclaim must not take (mlocked): Linux: LRU_UNEVICTABLE
    case unevictable = 4

    /// Linux: folio_lru_list() (page_lru_base_type() + LRU_ACTIVE)
    @inlinable public init(file: Bool, active: Bool) {
        self = file ? (active ? .activeFile : .inactiveFile) : (active ? .activeAnon : .inactiveAnon)
    }

    /// Linux: is_active_lru()
    @inlinable public var isActive: Bool { self == .activeAnon || self == .activeFile }
    /// Linux: is_file_lru()
    @inlinable public var isFile: Bool { self == .inactiveFile || self == .activeFile }
    /// The other list of the same type (active <-> inactive).
    @inlinable public var partner: LRUListKind { LRUListKind(file: isFile, active: !isActive) }

    /// The names /proc/meminfo prints. Linux: the Active(anon)... lines of meminfo_proc_show()
    public var meminfoName: String {
        switch self {
        case .inactiveAnon: "Inactive(anon)"
        case .activeAnon: "Active(anon)"
        case .inactiveFile: "Inactive(file)"
        case .activeFile: "Active(file)"
        case .unevictable: "Unevictable"
        }
    }
}

/// The five lists of one node. Not locked itself: the owner holds its lock
/// around every call. Linux: struct lruvec (lists[], and the lru_zone_size counts)
public struct LRULists {
    public let memMap: MemMap
    @usableFromInline var heads = InlineArray<5, UInt32>(repeating: Page.noFrame)
    @usableFromInline var tails = InlineArray<5, UInt32>(repeating: Page.noFrame)
    @usableFromInline var counts = InlineArray<5, Int>(repeating: 0)

    public init(memMap: MemMap) { self.memMap = memMap }

    /// Pages on `kind`. Linux: lruvec_page_state(NR_LRU_BASE + lru)
    @inlinable public func count(_ kind: LRUListKind) -> Int { counts[kind.rawValue] }

    /// The oldest page of `kind` (where reclaim scans), or nil.
    public func tail(_ kind: LRUListKind) -> UInt64? {
        let pfn = tails[kind.rawValue]
        return pfn == Page.noFrame ? nil : UInt64(pfn)
    }

    /// The next older page after `pfn` on its list (towards the tail), or
    /// nil at the tail. `lruNext` points older, `lruPrev` newer.
    public func older(than pfn: UInt64) -> UInt64? {
        let next = memMap.page(pfn).pointee.lruNext
        return next == Page.noFrame ? nil : UInt64(next)
    }

    /// Puts frame `pfn`, on no list now, at the head of `kind`.
    /// Linux: list_add(&folio->lru, &lruvec->lists[lru]) in lruvec_add_folio()
    public mutating func addToHead(_ pfn: UInt64, _ kind: LRUListKind) {
        let page = memMap.page(pfn)
        precondition(page.pointee.lruNext == Page.noFrame && page.pointee.lruPrev == Page.noFrame
                     && heads[kind.rawValue] != UInt32(pfn), "LRU: frame \(pfn) is on a list already")
        let oldHead = heads[kind.rawValue]
        page.pointee.lruNext = oldHead
        page.pointee.lruPrev = Page.noFrame
        if oldHead == Page.noFrame {
            tails[kind.rawValue] = UInt32(pfn)
        } else {
            memMap.page(UInt64(oldHead)).pointee.lruPrev = UInt32(pfn)
        }
        heads[kind.rawValue] = UInt32(pfn)
        counts[kind.rawValue] += 1
    }

    /// Takes frame `pfn` off `kind`, which it is on. Linux: lruvec_del_folio()
    public mutating func remove(_ pfn: UInt64, _ kind: LRUListKind) {
        let page = memMap.page(pfn)
        let next = page.pointee.lruNext, prev = page.pointee.lruPrev
        precondition(counts[kind.rawValue] > 0, "LRU: removing frame \(pfn) from an empty list")
        if prev == Page.noFrame {
            precondition(heads[kind.rawValue] == UInt32(pfn), "LRU: frame \(pfn) is not on the list it is taken from")
            heads[kind.rawValue] = next
        } else {
            memMap.page(UInt64(prev)).pointee.lruNext = next
        }
        if next == Page.noFrame {
            precondition(tails[kind.rawValue] == UInt32(pfn), "LRU: frame \(pfn) is not on the list it is taken from")
            tails[kind.rawValue] = prev
        } else {
            memMap.page(UInt64(next)).pointee.lruPrev = prev
        }
        page.pointee.lruNext = Page.noFrame
        page.pointee.lruPrev = Page.noFrame
        counts[kind.rawValue] -= 1
    }

    /// Takes pages off `kind` from the tail towards the head, oldest first:
    /// looks at up to `scan` pages and takes each that `take` accepts (it
    /// may refuse a page being freed), until `limit` are taken. Returns how
    /// many it looked at and took; `take` saw the taken ones in order.
    /// Linux: isolate_lru_folios()
    public mutating func isolateFromTail(_ kind: LRUListKind, scan: Int, limit: Int,
                                         take: (UInt64) -> Bool) -> (scanned: Int, taken: Int) {
        var scanned = 0, taken = 0
        var cursor = tail(kind)
        while let pfn = cursor, scanned < scan, taken < limit {
            // The next page to look at is the next newer one: the walk goes
            // from the tail back up the list, as the pages taken leave it.
            let prev = memMap.page(pfn).pointee.lruPrev
            cursor = prev == Page.noFrame ? nil : UInt64(prev)
            scanned += 1
            guard take(pfn) else { continue }
            remove(pfn, kind)
            taken += 1
        }
        return (scanned, taken)
    }

    /// Moves a page that is on `kind` to the head of `kind` (a second
    /// chance on the same list). Linux: list_move() in folio_rotate_reclaimable()
    public mutating func rotate(_ pfn: UInt64, _ kind: LRUListKind) {
        remove(pfn, kind)
        addToHead(pfn, kind)
    }
}

// MARK: - decisions

/// What reclaim does with one inactive page, given what the reverse map and
/// the page's own flag say about its use. Linux: enum folio_references
public enum PageReferences: Equatable, Sendable {
    /// Used more than once lately: promote it to the active list. Linux: FOLIOREF_ACTIVATE
    case activate
    /// Used once: keep it on the inactive list, remembering the use. Linux: FOLIOREF_KEEP
    case keep
    /// Unused: evict it. Linux: FOLIOREF_RECLAIM
    case reclaim
    /// A file page only read() lately, not mapped: evict it if clean. Linux: FOLIOREF_RECLAIM_CLEAN
    case reclaimClean

    /// The second-chance rule. `referencedPTEs`: accessed bits found (and
    /// cleared) in the page's mappings; `wasReferenced`: the page's own
    /// referenced flag (also cleared by the caller); `locked`: some mapping is
    /// mlocked; `executable`: some mapping may execute it.
    /// Linux: folio_check_references()
    public static func check(referencedPTEs: Int, wasReferenced: Bool, locked: Bool,
                             swapBacked: Bool, executable: Bool) -> PageReferences {
        if locked { return .activate }
        if referencedPTEs > 0 {
            // Used through a mapping. Anonymous pages and pages used twice
            // go active; so do mapped executables (program text is worth
            // keeping); any other page gets one more round.
            if wasReferenced || referencedPTEs > 1 || swapBacked { return .activate }
            if executable { return .activate }
            return .keep
        }
        if wasReferenced && !swapBacked { return .reclaimClean }
        return .reclaim
    }
}

/// How many pages of each list one pass of reclaim looks at.
/// Linux: get_scan_count()
public struct ScanCounts: Equatable, Sendable {
    public var anon: Int
    public var file: Int

    /// `swappiness` (0...200) weighs anonymous pages against file pages: at
    /// 100 both are scanned alike; lower favours evicting file pages (seed
    /// 002: "much cheaper to reclaim memory that is file backed"). Without
    /// swap no anonymous page can go anywhere, so none is scanned. When file
    /// pages are nearly gone (`fileIsTiny`) only anonymous pages are.
    /// `priority` (12 down to 0) sets the share of each list scanned:
    /// size >> priority, so each harder pass looks at twice as much.
    /// Linux: get_scan_count() (SCAN_FILE, SCAN_ANON, SCAN_FRACT)
    public static func compute(anonPages: Int, filePages: Int, swappiness: Int, haveSwap: Bool,
                               priority: Int, fileIsTiny: Bool) -> ScanCounts {
        /// Linux: lruvec_size >> sc->priority, at least SWAP_CLUSTER_MAX of a small list
        func share(_ size: Int) -> Int {
            let scan = size >> priority
            return scan == 0 ? min(size, swapClusterMax) : scan
        }
        guard haveSwap && swappiness > 0 else { return ScanCounts(anon: 0, file: share(filePages)) }
        if fileIsTiny { return ScanCounts(anon: share(anonPages), file: 0) }
        // Linux: ap = swappiness, fp = 200 - swappiness, each scan count
        // scaled by its weight over their sum and rounded up (Linux refines
        // the two weights by the recent cost of each type; Keel does not).
        let anonWeight = min(swappiness, 200), fileWeight = 200 - anonWeight
        func scaled(_ scan: Int, _ weight: Int) -> Int { (scan * weight + 199) / 200 }
        return ScanCounts(anon: scaled(share(anonPages), anonWeight), file: scaled(share(filePages), fileWeight))
    }

    /// Pages reclaim isolates and handles at a time. Linux: SWAP_CLUSTER_MAX
    public static let swapClusterMax = 32
}

/// Whether the inactive list of a type is short next to the active one, so
/// the active list should give pages down. The ratio grows with memory, as
/// Linux's: 1 below 1 GiB, then sqrt(10 x GiB).
/// Linux: inactive_is_low()
public func inactiveIsLow(inactive: Int, active: Int) -> Bool {
    let gib = ((inactive + active) * 4096) >> 30
    var ratio = 1
    if gib > 0 {
        var root = 1
        while (root + 1) * (root + 1) <= 10 * gib { root += 1 }
        ratio = root
    }
    return inactive * ratio < active
}
