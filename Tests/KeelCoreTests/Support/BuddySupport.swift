// Test fixtures for the buddy allocator: a deterministic PRNG, simulated
// physical memory that notices zeroing, a machine with all three zones, and
// an invariant checker that walks the free lists.
import XCTest
@testable import KeelCore


/// Sparse physical memory. Frames never written or zeroed read as garbage,
/// so a frame reads as all zeros only if it went through `zeroFrame`.
final class BuddyTestMemory: PhysicalMemory {
    static let garbage: UInt64 = 0xdead_beef_dead_beef
    private var frames: [UInt64: [UInt64]] = [:]
    private(set) var zeroedFrames = 0

    func read64(_ address: PhysAddr) -> UInt64 {
        frames[address.pfn]?[Int(address.value & 0xfff) / 8] ?? Self.garbage
    }
    func write64(_ address: PhysAddr, _ value: UInt64) {
        var words = frames[address.pfn] ?? Array(repeating: Self.garbage, count: 512)
        words[Int(address.value & 0xfff) / 8] = value
        frames[address.pfn] = words
    }
    /// One thread in the host tests: a read, then a write.
    func exchange64(_ address: PhysAddr, _ value: UInt64) -> UInt64 {
        let old = read64(address)
        write64(address, value)
        return old
    }
    func clearBits64(_ address: PhysAddr, _ mask: UInt64) -> UInt64 {
        let old = read64(address)
        write64(address, old & ~mask)
        return old
    }
    func zeroFrame(_ frame: PhysAddr) {
        frames[frame.pfn] = Array(repeating: 0, count: 512)
        zeroedFrames += 1
    }
    func isZero(pfn: UInt64) -> Bool { frames[pfn]?.allSatisfy { $0 == 0 } ?? false }
}

/// A free physical range in frames, [start, end).
struct BuddyRange { var start: UInt64; var end: UInt64 }

/// An allocator over host-allocated mem_map storage.
final class BuddyMachine {
    let storage: UnsafeMutablePointer<Page>
    let memory = BuddyTestMemory()
    let ranges: [BuddyRange]
    var buddy: BuddyAllocator<BuddyTestMemory>

    /// mem_map covers [basePFN, endPFN); `ranges` (in frames) are handed in, in order.
    init(basePFN: UInt64 = 0, endPFN: UInt64, ranges: [BuddyRange]) {
        let frames = Int(endPFN - basePFN)
        storage = .allocate(capacity: frames)
        self.ranges = ranges
        buddy = BuddyAllocator(memMap: MemMap(storage: storage, basePFN: basePFN, frames: frames), memory: memory)
        for r in ranges { buddy.addFreeRange(PhysAddr(pfn: r.start), PhysAddr(pfn: r.end)) }
    }
    deinit { storage.deallocate() }

    /// Three zones with unaligned edges: low memory, 1 MiB…18 MiB (DMA and DMA32),
    /// and 4 GiB − 6 MiB … 4 GiB + 8 MiB (DMA32 and Normal); mem_map runs on to 4 GiB + 12 MiB.
    static func threeZones() -> BuddyMachine {
        BuddyMachine(endPFN: 0x10_0000 + 3072, ranges: [
            BuddyRange(start: 0x1, end: 0x9f),
            BuddyRange(start: 0x103, end: 0x1200),
            BuddyRange(start: 0x10_0000 - 1536 - 1, end: 0x10_0000 + 2048 + 5),
        ])
    }

    func inRanges(_ pfn: UInt64) -> Bool { ranges.contains { $0.start <= pfn && pfn < $0.end } }

    var buddyInfo: String {
        var s = ""
        buddy.writeBuddyInfo(to: &s)
        return s
    }

    /// Free blocks per zone and order, as greedy carving of each range into the
    /// largest naturally aligned blocks predicts for fully coalesced memory.
    func expectedFullyCoalesced() -> [[Int]] {
        var counts = Array(repeating: Array(repeating: 0, count: 11), count: 3)
        for r in ranges {
            var pfn = r.start
            while pfn < r.end {
                var order = 10
                while pfn % (1 << order) != 0 || pfn + (1 << order) > r.end { order -= 1 }
                counts[ZoneType(pfn: pfn).rawValue][order] += 1
                pfn += 1 << order
            }
        }
        return counts
    }

    func freeBlockCounts() -> [[Int]] {
        ZoneType.allCases.map { z in (0...10).map { buddy.zone(z).freeBlocks(order: $0) } }
    }
}

/// A block handed out by the allocator and not yet freed.
struct BuddyLive { var pfn: UInt64; var order: Int }

/// Parses /proc/buddyinfo text into counts per zone name, checking the fixed columns.
func parseBuddyInfo(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String: [Int]] {
    var result: [String: [Int]] = [:]
    for row in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        let chars = Array(row)
        XCTAssertEqual(String(chars.prefix(13)), "Node 0, zone ", file: file, line: line)
        XCTAssertEqual(chars.count, 13 + 9 + 11 * 7, "row width: \(row)", file: file, line: line)
        let name = String(chars[13..<21].split(separator: " ").first ?? [])
        var counts: [Int] = []
        for order in 0...10 {
            let field = chars[22 + order * 7 ..< 22 + order * 7 + 7]
            XCTAssertEqual(field.last, " ", file: file, line: line)
            counts.append(Int(String(field.split(separator: " ").first ?? [])) ?? -1)
        }
        result[name] = counts
    }
    return result
}

extension BuddyMachine {
    /// Walks every free list and checks the allocator's structural invariants
    /// plus agreement with the test's record of live blocks.
    func checkInvariants(live: [BuddyLive], file: StaticString = #filePath, line: UInt = #line) {
        let memMap = buddy.memMap
        var blocks: [(start: UInt64, end: UInt64, free: Bool)] = []
        for type in ZoneType.allCases {
            let zone = buddy.zone(type)
            var zoneFree = 0
            for order in 0...10 {
                var pfn = zone.freeArea[order].first
                var prev = Page.noFrame
                var n = 0
                while pfn != Page.noFrame {
                    let p = UInt64(pfn)
                    let page = memMap.page(p).pointee
                    let size = UInt64(1) << order
                    XCTAssertEqual(page.flags, .buddy, "free head \(p)", file: file, line: line)
                    XCTAssertEqual(Int(page.private), order, "order of \(p)", file: file, line: line)
                    XCTAssertEqual(page.lruPrev, prev, "back link of \(p)", file: file, line: line)
                    XCTAssertEqual(p % size, 0, "alignment of \(p)", file: file, line: line)
                    XCTAssertEqual(ZoneType(pfn: p), type, file: file, line: line)
                    XCTAssertEqual(ZoneType(pfn: p + size - 1), type, file: file, line: line)
                    XCTAssertTrue(p >= zone.startPFN && p + size <= zone.endPFN, file: file, line: line)
                    XCTAssertTrue(inRanges(p) && inRanges(p + size - 1), "free block \(p) in a hole", file: file, line: line)
                    for tail in 1..<size where memMap.page(p + tail).pointee.flags != [] {
                        XCTFail("tail \(p + tail) of free block \(p) has flags", file: file, line: line)
                    }
                    // Full coalescing: the buddy of a free block is never a free block of the same order.
                    let buddyPFN = p ^ size
                    if order < 10, memMap.contains(pfn: buddyPFN) {
                        let b = memMap.page(buddyPFN).pointee
                        XCTAssertFalse(b.flags.contains(.buddy) && Int(b.private) == order,
                                       "unmerged buddies \(p), \(buddyPFN)", file: file, line: line)
                    }
                    blocks.append((p, p + size, true))
                    zoneFree += 1 << order
                    n += 1
                    prev = pfn
                    pfn = page.lruNext
                }
                XCTAssertEqual(n, zone.freeBlocks(order: order), "nr_free \(type) order \(order)", file: file, line: line)
            }
            XCTAssertEqual(zoneFree, zone.freePages, file: file, line: line)
        }
        var allocated = 0
        for b in live {
            let page = memMap.page(b.pfn).pointee
            XCTAssertTrue(page.flags.contains(.head) && Int(page.private) == b.order && page.mapcount == 0,
                          "live block \(b.pfn)", file: file, line: line)
            XCTAssertTrue(inRanges(b.pfn) && inRanges(b.pfn + (1 << b.order) - 1), "live block \(b.pfn) in a hole", file: file, line: line)
            blocks.append((b.pfn, b.pfn + (1 << b.order), false))
            allocated += 1 << b.order
        }
        blocks.sort { $0.start < $1.start }
        for (a, b) in zip(blocks, blocks.dropFirst()) where a.end > b.start {
            XCTFail("overlap: \(a) and \(b)", file: file, line: line)
        }
        XCTAssertEqual(buddy.freePages + allocated, buddy.managedPages, "pages lost", file: file, line: line)
        let parsed = parseBuddyInfo(buddyInfo, file: file, line: line)
        for type in ZoneType.allCases where buddy.zone(type).isPopulated {
            XCTAssertEqual(parsed[type.name], (0...10).map { buddy.zone(type).freeBlocks(order: $0) }, file: file, line: line)
        }
    }
}
