// The swap-in read-ahead window (Kernel/Core/Memory/SwapReadahead.swift):
// Linux's __swapin_nr_pages rule row by row, and the window's life over a
// sequential and a random run of faults.
import XCTest
@testable import KeelCore

final class SwapReadaheadTests: XCTestCase {
    func testRuleRows() {
        // (previous, offset, hits, previous window) -> pages, max 8
        let rows: [(UInt64, UInt64, Int, Int, Int)] = [
            (100, 500, 0, 0, 1),        // no hits, far away: only the slot
            (100, 101, 0, 0, 2),        // no hits, next slot up
            (100, 99, 0, 0, 2),         // no hits, next slot down
            (100, 500, 1, 0, 4),        // 1 + 2 = 3, rounded up to 4
            (100, 500, 2, 0, 4),
            (100, 500, 3, 0, 8),        // 5 -> 8
            (100, 500, 7, 0, 8),        // 9 -> 16, capped at 8
            (100, 500, 0, 8, 4),        // no hits, but never below half the last window
            (100, 500, 0, 4, 2),
            (100, 500, 0, 2, 1),
        ]
        for (previous, offset, hits, previousWindow, want) in rows {
            XCTAssertEqual(SwapReadahead.window(previousOffset: previous, offset: offset, hits: hits, maxPages: 8,
                                                previousWindow: previousWindow), want,
                           "previous \(previous), offset \(offset), hits \(hits), window \(previousWindow)")
        }
    }

    func testPageClusterZeroReadsOneSlot() {
        var readahead = SwapReadahead()
        XCTAssertEqual(readahead.window(for: 11, hits: 5, maxPages: 1), 1)
    }

    func testSequentialFaultsGrowTheWindowToTheCap() {
        // A program reading in order: the first fault reads its slot only;
        // the next, one slot on, reads 2; every fault after that used the
        // pages read ahead before it.
        var readahead = SwapReadahead()
        XCTAssertEqual(readahead.window(for: 1000, hits: 0, maxPages: 8), 1)
        XCTAssertEqual(readahead.window(for: 1001, hits: 0, maxPages: 8), 2)
        XCTAssertEqual(readahead.window(for: 1002, hits: 1, maxPages: 8), 4)
        XCTAssertEqual(readahead.window(for: 1004, hits: 3, maxPages: 8), 8)
        XCTAssertEqual(readahead.window(for: 1008, hits: 7, maxPages: 8), 8)
    }

    func testRandomFaultsShrinkTheWindowByHalvesToOne() {
        var readahead = SwapReadahead()
        XCTAssertEqual(readahead.window(for: 1008, hits: 7, maxPages: 8), 8)
        var windows: [Int] = []
        for offset: UInt64 in [50_000, 7, 31_337, 900, 12_000] {
            windows.append(readahead.window(for: offset, hits: 0, maxPages: 8))
        }
        XCTAssertEqual(windows, [4, 2, 1, 1, 1])
        XCTAssertEqual(readahead.previousOffset, 12_000, "a fault without hits is the next one's reference")
    }

    func testHitsDoNotMoveTheReference() {
        var readahead = SwapReadahead()
        _ = readahead.window(for: 40, hits: 0, maxPages: 8)
        _ = readahead.window(for: 48, hits: 3, maxPages: 8)
        XCTAssertEqual(readahead.previousOffset, 40)
        XCTAssertEqual(readahead.lastWindow, 8)
    }

    func testSlotsAreTheAlignedWindow() {
        XCTAssertEqual(SwapReadahead.slots(around: 13, pages: 8), 8..<16)
        XCTAssertEqual(SwapReadahead.slots(around: 13, pages: 4), 12..<16)
        XCTAssertEqual(SwapReadahead.slots(around: 13, pages: 2), 12..<14)
        XCTAssertEqual(SwapReadahead.slots(around: 13, pages: 1), 13..<14)
        XCTAssertEqual(SwapReadahead.slots(around: 13, pages: 3), 12..<16, "rounded up to a power of two")
    }
}
