// TEMPORARY (issue 16 integration): the swap API and the vmscan trace points
// the reclaim code calls, until the branches that implement them merge.
// Nothing here does anything: without swap no anonymous page is reclaimed.

enum Swap {
    static var hasSwap: Bool { false }
    static func addToSwapCache(_ frame: PhysAddr) throws(Errno) -> SwapEntry { throw .ENOSPC }
    static func writePage(_ frame: PhysAddr) throws(Errno) { throw .EIO }
    static func duplicate(_ entry: SwapEntry) {}
    static func reclaimFromSwapCache(_ frame: PhysAddr) -> Bool { false }
}

struct SwapEntry {
    init(packed: UInt32) {}
    var pageTableEntry: PageTableEntry { .none }
}

extension Trace {
    static func vmscanKswapdWake(order: Int) {}
    static func vmscanKswapdSleep() {}
    static func vmscanWakeupKswapd(order: Int) {}
    static func vmscanDirectReclaimBegin(order: Int) {}
    static func vmscanDirectReclaimEnd(reclaimed: Int) {}
    static func vmscanShrinkInactive(scanned: Int, stats: Vmscan.ShrinkStats, priority: Int, kind: LRUListKind) {}
    static func vmscanShrinkActive(taken: Int, deactivated: Int, kind: LRUListKind, priority: Int) {}
}
