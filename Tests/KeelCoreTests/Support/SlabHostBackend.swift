// Host stand-in for the buddy allocator under the slab layer: posix_memalign blocks
// aligned to their size, a ledger of outstanding pages for leak checks, an optional
// page limit to provoke out-of-memory, and garbage in fresh blocks so the slab layer
// cannot rely on zeroed pages.
import Glibc
import KeelCore

/// What a SlabHostBackend has handed out. A class, so tests keep watching it after the
/// backend value has moved into the allocator.
final class SlabPageLedger {
    /// address → order of every outstanding block
    var blocks: [UInt: Int] = [:]
    var outstandingPages = 0
    /// allocatePages fails beyond this many outstanding pages.
    var pageLimit = Int.max
    /// freePages calls with an unknown block or a wrong order.
    var badFrees = 0
}

struct SlabHostBackend: SlabPageBackend {
    let ledger: SlabPageLedger

    mutating func allocatePages(order: Int) -> UnsafeMutableRawPointer? {
        let bytes = 4096 << order
        guard ledger.outstandingPages + (1 << order) <= ledger.pageLimit else { return nil }
        var memory: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&memory, bytes, bytes) == 0, let block = memory else { return nil }
        memset(block, 0x5a, bytes)
        ledger.blocks[UInt(bitPattern: block)] = order
        ledger.outstandingPages += 1 << order
        return block
    }

    mutating func freePages(_ block: UnsafeMutableRawPointer, order: Int) {
        guard ledger.blocks[UInt(bitPattern: block)] == order else {
            ledger.badFrees += 1
            return
        }
        ledger.blocks[UInt(bitPattern: block)] = nil
        ledger.outstandingPages -= 1 << order
        memset(block, 0xdd, 4096 << order)
        free(block)
    }
}
