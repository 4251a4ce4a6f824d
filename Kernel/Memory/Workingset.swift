// Refault detection: was a page just read from the disk evicted by reclaim a
// little while ago? Then reclaim took a page the working set still needed,
// and /proc/vmstat's workingset_refault_file counts it: a rising count means
// memory is too small for what runs (thrashing). Linux leaves a "shadow
// entry" in the page cache slot of each evicted page, with the eviction time,
// and also decides from the refault distance whether to activate the page.
// Keel keeps one bit per hash of (file, index) instead: set at eviction,
// tested and cleared when the page is read back. Two evicted pages may share
// a bit, so a count can be one too high; Keel does not activate refaulting
// pages (without the distance it could not tell a working set from a
// stream). Anonymous refaults are swap-ins, counted by the swap code.
// Linux: mm/workingset.c (workingset_eviction, workingset_refault)

enum Workingset {
    /// 2^16 bits. Each word changes with one locked instruction.
    private static let words = 1024
    nonisolated(unsafe) private static var bits: UnsafeMutablePointer<UInt64>? = nil

    /// Linux: workingset_init()
    static func setUp() {
        let table = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        table.initialize(repeating: 0, count: words)
        bits = table
    }

    private static func slot(_ mapping: UInt32, _ index: UInt64) -> (word: Int, mask: UInt64) {
        var h = UInt64(mapping) &* 0x9e37_79b9_7f4a_7c15 ^ index &* 0xc2b2_ae3d_27d4_eb4f
        h ^= h >> 29
        let bit = Int(h & UInt64(words * 64 - 1))
        return (bit >> 6, 1 << UInt64(bit & 63))
    }

    /// Reclaim evicted page `index` of cache `mapping`. Linux: workingset_eviction()
    static func evicted(_ mapping: UInt32, _ index: UInt64) {
        guard let bits else { return }
        let (word, mask) = slot(mapping, index)
        _ = AtomicField.setBits(bits + word, mask)
    }

    /// Page `index` of `mapping` was just read from storage: a refault if
    /// reclaim evicted it. Linux: workingset_refault()
    static func refault(_ mapping: UInt32, _ index: UInt64) -> Bool {
        guard let bits else { return false }
        let (word, mask) = slot(mapping, index)
        guard bits[word] & mask != 0 else { return false }
        return AtomicField.clearBits(bits + word, mask) & mask != 0
    }
}
