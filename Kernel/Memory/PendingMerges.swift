// TEMPORARY (issue 16 integration): the vmscan trace points the reclaim code
// calls, until the branch that implements them merges. Nothing here does anything.

extension Trace {
    static func vmscanKswapdWake(order: Int) {}
    static func vmscanKswapdSleep() {}
    static func vmscanWakeupKswapd(order: Int) {}
    static func vmscanDirectReclaimBegin(order: Int) {}
    static func vmscanDirectReclaimEnd(reclaimed: Int) {}
    static func vmscanShrinkInactive(scanned: Int, stats: Vmscan.ShrinkStats, priority: Int, kind: LRUListKind) {}
    static func vmscanShrinkActive(taken: Int, deactivated: Int, kind: LRUListKind, priority: Int) {}
}
