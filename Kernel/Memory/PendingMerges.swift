// TEMPORARY (issue 16 integration): the swap API the reclaim code calls,
// until the branch that implements it merges.
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
