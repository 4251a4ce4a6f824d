import XCTest
@testable import KeelCore

/// The LRU lists against a model (arrays), and reclaim's pure decisions.
final class LRUListTests: XCTestCase {
    private func withMemMap(frames: Int, _ body: (MemMap) throws -> Void) rethrows {
        let storage = UnsafeMutablePointer<Page>.allocate(capacity: frames)
        defer { storage.deallocate() }
        try body(MemMap(storage: storage, basePFN: 100, frames: frames))
    }

    /// `kind` from tail to head, walking the newer links, after checking the
    /// older links give the same list backwards.
    private func contents(_ lists: LRULists, _ kind: LRUListKind, file: StaticString = #filePath, line: UInt = #line) -> [UInt64] {
        var oldestFirst: [UInt64] = []
        var pfn = lists.tail(kind)
        while let p = pfn {
            oldestFirst.append(p)
            let newer = lists.memMap.page(p).pointee.lruPrev
            pfn = newer == Page.noFrame ? nil : UInt64(newer)
        }
        var newestFirst: [UInt64] = []
        pfn = oldestFirst.last
        while let p = pfn {
            newestFirst.append(p)
            pfn = lists.older(than: p)
        }
        XCTAssertEqual(newestFirst, oldestFirst.reversed(), "links of \(kind)", file: file, line: line)
        XCTAssertEqual(oldestFirst.count, lists.count(kind), "count of \(kind)", file: file, line: line)
        return oldestFirst
    }

    func testRandomOperationsMatchAModel() {
        withMemMap(frames: 64) { memMap in
            var lists = LRULists(memMap: memMap)
            var model = Array(repeating: [UInt64](), count: 5)       // newest first
            var seed: UInt64 = 0x5eed
            func next(_ n: Int) -> Int {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Int((seed >> 33) % UInt64(n))
            }
            for _ in 0..<5000 {
                let pfn = UInt64(100 + next(64))
                let on = model.firstIndex { $0.contains(pfn) }
                switch (on, next(3)) {
                case (nil, _):
                    let kind = LRUListKind(rawValue: next(5))!
                    lists.addToHead(pfn, kind)
                    model[kind.rawValue].insert(pfn, at: 0)
                case (let list?, 0):
                    lists.remove(pfn, LRUListKind(rawValue: list)!)
                    model[list].removeAll { $0 == pfn }
                case (let list?, 1):
                    lists.rotate(pfn, LRUListKind(rawValue: list)!)
                    model[list].removeAll { $0 == pfn }
                    model[list].insert(pfn, at: 0)
                case (let list?, _):
                    let kind = LRUListKind(rawValue: list)!
                    lists.remove(pfn, kind)
                    lists.addToHead(pfn, kind.partner)
                    model[list].removeAll { $0 == pfn }
                    model[kind.partner.rawValue].insert(pfn, at: 0)
                }
            }
            for kind in LRUListKind.allCases {
                XCTAssertEqual(contents(lists, kind), model[kind.rawValue].reversed(), "\(kind)")
                XCTAssertEqual(lists.tail(kind), model[kind.rawValue].last)
            }
        }
    }

    func testTailIsTheOldestAndOlderWalksToTheHead() {
        withMemMap(frames: 8) { memMap in
            var lists = LRULists(memMap: memMap)
            for pfn in UInt64(100)..<104 { lists.addToHead(pfn, .inactiveFile) }
            XCTAssertEqual(lists.tail(.inactiveFile), 100)
            XCTAssertEqual(lists.older(than: 103), 102)
            XCTAssertNil(lists.older(than: 100))
            lists.rotate(100, .inactiveFile)
            XCTAssertEqual(lists.tail(.inactiveFile), 101)
            XCTAssertEqual(lists.count(.inactiveFile), 4)
            XCTAssertEqual(lists.count(.activeFile), 0)
        }
    }

    func testIsolateFromTailTakesABatchOldestFirst() {
        // Reclaim's batches: 32 pages of a 100-page list, the oldest first,
        // skipping the ones `take` refuses (being freed). The walk once
        // followed the older link from the tail and took one page a batch.
        withMemMap(frames: 100) { memMap in
            var lists = LRULists(memMap: memMap)
            for pfn in UInt64(100)..<200 { lists.addToHead(pfn, .activeAnon) }
            var seen: [UInt64] = []
            let (scanned, taken) = lists.isolateFromTail(.activeAnon, scan: 100, limit: 32) { pfn in
                guard pfn % 10 != 3 else { return false }
                seen.append(pfn)
                return true
            }
            let want = (UInt64(100)..<200).filter { $0 % 10 != 3 }.prefix(32)
            XCTAssertEqual(seen, Array(want))
            XCTAssertEqual(taken, 32)
            XCTAssertEqual(scanned, Int(want.last! - 100) + 1, "looked at every page up to the last taken")
            XCTAssertEqual(lists.count(.activeAnon), 68)
            XCTAssertEqual(contents(lists, .activeAnon).filter { want.contains($0) }, [], "the taken pages left the list")
            XCTAssertEqual(lists.tail(.activeAnon), 103, "a refused page stays, now the oldest")

            let (scannedAgain, takenAgain) = lists.isolateFromTail(.activeAnon, scan: 5, limit: 32) { _ in true }
            XCTAssertEqual(scannedAgain, 5, "the scan budget ends the walk")
            XCTAssertEqual(takenAgain, 5)
        }
    }

    func testSecondChanceTruthTable() {
        // Linux's folio_check_references(), row by row.
        XCTAssertEqual(PageReferences.check(referencedPTEs: 0, wasReferenced: false, locked: true, swapBacked: false, executable: false), .activate)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 1, wasReferenced: false, locked: false, swapBacked: true, executable: false), .activate)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 1, wasReferenced: true, locked: false, swapBacked: false, executable: false), .activate)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 2, wasReferenced: false, locked: false, swapBacked: false, executable: false), .activate)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 1, wasReferenced: false, locked: false, swapBacked: false, executable: true), .activate)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 1, wasReferenced: false, locked: false, swapBacked: false, executable: false), .keep)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 0, wasReferenced: true, locked: false, swapBacked: false, executable: false), .reclaimClean)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 0, wasReferenced: true, locked: false, swapBacked: true, executable: false), .reclaim)
        XCTAssertEqual(PageReferences.check(referencedPTEs: 0, wasReferenced: false, locked: false, swapBacked: false, executable: false), .reclaim)
    }

    func testScanCountsFollowSwappinessAndPriority() {
        // No swap: anonymous pages are never scanned.
        XCTAssertEqual(ScanCounts.compute(anonPages: 1 << 16, filePages: 1 << 16, swappiness: 60, haveSwap: false, priority: 12, fileIsTiny: false),
                       ScanCounts(anon: 0, file: 16))
        // A list too small for its share at this priority is scanned up to 32 pages.
        XCTAssertEqual(ScanCounts.compute(anonPages: 0, filePages: 100, swappiness: 60, haveSwap: false, priority: 12, fileIsTiny: false),
                       ScanCounts(anon: 0, file: 32))
        // swappiness 100 weighs both alike; priority 0 scans whole lists.
        XCTAssertEqual(ScanCounts.compute(anonPages: 1000, filePages: 1000, swappiness: 100, haveSwap: true, priority: 0, fileIsTiny: false),
                       ScanCounts(anon: 500, file: 500))
        // swappiness 60: 60/200 of the anonymous share, 140/200 of the file share, rounded up.
        XCTAssertEqual(ScanCounts.compute(anonPages: 1 << 16, filePages: 1 << 16, swappiness: 60, haveSwap: true, priority: 4, fileIsTiny: false),
                       ScanCounts(anon: 1229, file: 2868))
        // swappiness 0 never scans anonymous pages; 200 never scans file pages.
        XCTAssertEqual(ScanCounts.compute(anonPages: 100, filePages: 100, swappiness: 0, haveSwap: true, priority: 0, fileIsTiny: false).anon, 0)
        XCTAssertEqual(ScanCounts.compute(anonPages: 100, filePages: 100, swappiness: 200, haveSwap: true, priority: 0, fileIsTiny: false).file, 0)
        // Little file cache left: anonymous pages only.
        XCTAssertEqual(ScanCounts.compute(anonPages: 100, filePages: 3, swappiness: 60, haveSwap: true, priority: 0, fileIsTiny: true),
                       ScanCounts(anon: 100, file: 0))
        // Each lower priority scans twice as much.
        let p3 = ScanCounts.compute(anonPages: 1 << 16, filePages: 1 << 16, swappiness: 100, haveSwap: true, priority: 3, fileIsTiny: false)
        let p2 = ScanCounts.compute(anonPages: 1 << 16, filePages: 1 << 16, swappiness: 100, haveSwap: true, priority: 2, fileIsTiny: false)
        XCTAssertEqual(p2.file, 2 * p3.file)
    }

    func testInactiveIsLowRatioGrowsWithMemory() {
        // Below 1 GiB the lists are kept 1:1.
        XCTAssertFalse(inactiveIsLow(inactive: 100, active: 100))
        XCTAssertTrue(inactiveIsLow(inactive: 99, active: 100))
        // At 10 GiB the ratio is sqrt(100) = 10: one inactive per ten active is enough.
        let pages = 10 << 18
        XCTAssertFalse(inactiveIsLow(inactive: pages / 8, active: pages - pages / 8))
        XCTAssertTrue(inactiveIsLow(inactive: pages / 20, active: pages - pages / 20))
    }
}
