// VMATree: red-black balance and order under random churn, find_vma semantics and
// its cache, split/merge, munmap of every shape and mprotect, each checked against
// a simple reference (a sorted array or a page-by-page model).
import XCTest
@testable import KeelCore

final class VMATreeTests: XCTestCase {
    // MARK: red-black tree under random inserts and deletes

    func testRandomInsertDeleteKeepsInvariantsAndMatchesSortedReference() {
        var rng = SplitMix64(seed: 0x5eed_0001)
        var tree = VMATree()
        var reference: [VMA] = []  // sorted by start
        let spacePages: UInt64 = 40_000

        /// Index of the first reference region ending above addr.
        func lowerBound(_ addr: VirtAddr) -> Int {
            var low = 0, high = reference.count
            while low < high {
                let mid = (low + high) / 2
                if reference[mid].end > addr { high = mid } else { low = mid + 1 }
            }
            return low
        }

        for op in 1...100_000 {
            if reference.isEmpty || rng.chance(60) {
                let first = rng.below(spacePages)
                let vma = vmaPages(first, first + 1 + rng.below(8))
                let at = lowerBound(vma.start)
                let overlaps = at < reference.count && reference[at].start < vma.end
                do {
                    try tree.insert(vma)
                    XCTAssertFalse(overlaps, "insert accepted an overlap at op \(op)")
                    reference.insert(vma, at: at)
                } catch {
                    XCTAssertEqual(error, .noMemory)
                    XCTAssertTrue(overlaps, "insert refused a free range at op \(op)")
                }
            } else {
                let victim = Int(rng.below(UInt64(reference.count)))
                let target = reference[victim]
                let inside = target.start + rng.below(target.end - target.start)
                XCTAssertEqual(tree.remove(containing: inside), target)
                reference.remove(at: victim)
            }

            let probe = page(rng.below(spacePages + 16)) + rng.below(pageSize)
            let expected = lowerBound(probe)
            XCTAssertEqual(tree.findVMA(probe), expected < reference.count ? reference[expected] : nil)

            if op % 1000 == 0 {
                assertValid(tree, "at op \(op)")
                XCTAssertEqual(Array(tree), reference, "at op \(op)")
                XCTAssertEqual(tree.count, reference.count)
                XCTAssertEqual(tree.totalVM, reference.reduce(0) { $0 + $1.pageCount })
            }
        }
        XCTAssertGreaterThan(reference.count, 1000, "the test should exercise a deep tree")
        while let vma = reference.popLast() {
            XCTAssertEqual(tree.remove(containing: vma.start), vma)
            if reference.count % 500 == 0 { assertValid(tree) }
        }
        XCTAssertEqual(tree.count, 0)
        XCTAssertEqual(tree.totalVM, 0)
        assertValid(tree)
    }

    func testAscendingInsertsStayBalanced() {
        var tree = VMATree()
        for n in UInt64(0)..<4096 { try! tree.insert(vmaPages(2 * n, 2 * n + 1)) }
        assertValid(tree)
        // 4096 nodes: a red-black tree is at most 2·log2(n+1) ≈ 24 deep.
        var deepest = 0
        for n in UInt64(0)..<4096 {
            var depth = 0
            var node = tree.root
            while node != vmaNil {
                depth += 1
                let start = tree.pool[node].vma.start
                if page(2 * n) == start { break }
                node = page(2 * n) < start ? tree.pool[node].left : tree.pool[node].right
            }
            deepest = max(deepest, depth)
        }
        XCTAssertLessThanOrEqual(deepest, 24)
    }

    func testCheckInvariantsDetectsCorruption() {
        let tree = makeTree((0..<20).map { vmaPages($0 * 4, $0 * 4 + 2) })
        XCTAssertNil(tree.checkInvariants())
        var broken = tree
        broken.pool[broken.root].isRed = true
        XCTAssertEqual(broken.checkInvariants(), .rootNotBlack)
        broken = tree
        broken.totalVM += 1
        XCTAssertEqual(broken.checkInvariants(), .totalVMMismatch)
        broken = tree
        broken.pool[broken.head].vma.end = page(100)
        XCTAssertEqual(broken.checkInvariants(), .badRangeOrOrder(page(4)))
        broken = tree
        let second = broken.pool[broken.head].next
        broken.pool[second].prev = vmaNil
        XCTAssertEqual(broken.checkInvariants(), .listMismatch(page(4)))
        broken = tree
        broken.cache = broken.pool.allocate(vmaPages(500, 501))  // a node outside the tree
        XCTAssertEqual(broken.checkInvariants(), .staleCache)
        XCTAssertNil(tree.checkInvariants())
    }

    // MARK: find_vma

    func testFindVMASemantics() {
        var tree = makeTree([vmaPages(10, 20), vmaPages(30, 40), vmaPages(40, 41)])
        XCTAssertEqual(tree.findVMA(page(0)), vmaPages(10, 20), "below the first: the first")
        XCTAssertEqual(tree.findVMA(page(10)), vmaPages(10, 20))
        XCTAssertEqual(tree.findVMA(page(20) - 1), vmaPages(10, 20), "last byte")
        XCTAssertEqual(tree.findVMA(page(20)), vmaPages(30, 40), "end is exclusive: gap returns next")
        XCTAssertEqual(tree.findVMA(page(25)), vmaPages(30, 40))
        XCTAssertEqual(tree.findVMA(page(40)), vmaPages(40, 41), "adjacent regions")
        XCTAssertNil(tree.findVMA(page(41)), "past the last")
        XCTAssertNil(tree.findVMA(VirtAddr(UInt64.max)))
        var empty = VMATree()
        XCTAssertNil(empty.findVMA(page(1)))
    }

    func testFindVMAPrevAndIntersection() {
        var tree = makeTree([vmaPages(10, 20), vmaPages(30, 40)])
        var (vma, prev) = tree.findVMAPrev(page(25))
        XCTAssertEqual(vma, vmaPages(30, 40))
        XCTAssertEqual(prev, vmaPages(10, 20))
        (vma, prev) = tree.findVMAPrev(page(5))
        XCTAssertEqual(vma, vmaPages(10, 20))
        XCTAssertNil(prev)
        (vma, prev) = tree.findVMAPrev(page(45))
        XCTAssertNil(vma)
        XCTAssertEqual(prev, vmaPages(30, 40), "past the end: prev is the last region")
        // Cache hit path gives the same neighbours.
        (vma, prev) = tree.findVMAPrev(page(35))
        XCTAssertEqual(prev, vmaPages(10, 20))

        XCTAssertNil(tree.findIntersection(page(20), page(30)), "exactly the gap")
        XCTAssertEqual(tree.findIntersection(page(19), page(30)), vmaPages(10, 20))
        XCTAssertEqual(tree.findIntersection(page(20), page(31)), vmaPages(30, 40))
        XCTAssertEqual(tree.findIntersection(page(0), page(100)), vmaPages(10, 20), "lowest overlap")
        XCTAssertNil(tree.findIntersection(page(40), page(50)))
    }

    func testCacheNeverReturnsRemovedOrReshapedRegions() {
        var tree = makeTree([vmaPages(10, 20), vmaPages(30, 40)])
        XCTAssertEqual(tree.findVMA(page(15)), vmaPages(10, 20))
        XCTAssertEqual(tree.pool[tree.cache].vma, vmaPages(10, 20), "lookup fills the cache")
        XCTAssertEqual(tree.remove(containing: page(15)), vmaPages(10, 20))
        XCTAssertEqual(tree.findVMA(page(15)), vmaPages(30, 40), "removed region must not be served")
        assertValid(tree)

        // The freed slot gets reused for an unrelated region.
        try! tree.insert(vmaPages(100, 110))
        XCTAssertEqual(tree.findVMA(page(15)), vmaPages(30, 40))
        XCTAssertEqual(tree.findVMA(page(105)), vmaPages(100, 110))

        // Split shrinks the cached node: the upper half must be found, not the stale range.
        XCTAssertEqual(tree.findVMA(page(35)), vmaPages(30, 40))
        try! tree.splitVMA(at: page(33))
        XCTAssertEqual(tree.findVMA(page(35)), vmaPages(33, 40))
        XCTAssertEqual(tree.findVMA(page(31)), vmaPages(30, 33))

        // Merge removes the cached upper node.
        XCTAssertEqual(tree.findVMA(page(39)), vmaPages(33, 40))
        XCTAssertEqual(tree.mergeAdjacent(at: page(39)), vmaPages(30, 40))
        XCTAssertEqual(tree.findVMA(page(39)), vmaPages(30, 40))
        assertValid(tree)

        // munmap of the cached region.
        XCTAssertEqual(tree.findVMA(page(101)), vmaPages(100, 110))
        XCTAssertEqual(try! tree.unmapRange(page(100), page(110)), [vmaPages(100, 110)])
        XCTAssertNil(tree.findVMA(page(101)))
        assertValid(tree)
    }

    func testInsertRejectsOverlapAndMalformedRanges() {
        var tree = makeTree([vmaPages(10, 20)])
        XCTAssertThrowsError(try tree.insert(vmaPages(19, 21))) { XCTAssertEqual($0 as? VMError, .noMemory) }
        XCTAssertThrowsError(try tree.insert(vmaPages(5, 11))) { XCTAssertEqual($0 as? VMError, .noMemory) }
        XCTAssertThrowsError(try tree.insert(vmaPages(12, 13))) { XCTAssertEqual($0 as? VMError, .noMemory) }
        XCTAssertThrowsError(try tree.insert(vmaPages(25, 25))) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        let unaligned = VMA(start: page(30) + 1, end: page(31), flags: .dataDefault)
        XCTAssertThrowsError(try tree.insert(unaligned)) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        XCTAssertNoThrow(try tree.insert(vmaPages(20, 21)), "touching is not overlapping")
        XCTAssertNil(tree.remove(containing: page(21)))
        XCTAssertEqual(tree.count, 2)
        assertValid(tree)
        XCTAssertEqual([VMError.invalidArgument, .noMemory, .accessDenied, .notPermitted].map(\.errno),
                       [.EINVAL, .ENOMEM, .EACCES, .EPERM])
    }

    func testIterationIsInAddressOrderAndCopiesAreIndependent() {
        let tree = makeTree([vmaPages(50, 60), vmaPages(10, 20), vmaPages(30, 40)])
        XCTAssertEqual(Array(tree).map(\.start), [page(10), page(30), page(50)])
        var child = tree  // fork's dup_mmap
        _ = try! child.unmapRange(page(10), page(60))
        XCTAssertEqual(child.count, 0)
        XCTAssertEqual(tree.count, 3)
        XCTAssertEqual(tree.totalVM, 30)
        assertValid(tree)
    }

    // MARK: split and merge

    func testSplitAdjustsFileOffsetOfUpperHalf() throws {
        var tree = makeTree([vmaPages(10, 20, [.read, .mayRead], fileAt(7, 100))])
        try tree.splitVMA(at: page(14))
        XCTAssertEqual(Array(tree), [vmaPages(10, 14, [.read, .mayRead], fileAt(7, 100)),
                                     vmaPages(14, 20, [.read, .mayRead], fileAt(7, 104))])
        XCTAssertEqual(tree.totalVM, 10)
        assertValid(tree)
        for bad in [page(10), page(20), page(25), page(15) + 8] {
            XCTAssertThrowsError(try tree.splitVMA(at: bad)) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        }
        // Merging the halves back restores the original region.
        XCTAssertEqual(tree.mergeAdjacent(at: page(10)), vmaPages(10, 20, [.read, .mayRead], fileAt(7, 100)))
        XCTAssertEqual(tree.count, 1)
        assertValid(tree)
    }

    func testMergeRules() {
        let rw = VMFlags.dataDefault
        let ro: VMFlags = [.read, .mayRead]
        XCTAssertTrue(vmaPages(0, 2).canMerge(followedBy: vmaPages(2, 4)))
        XCTAssertFalse(vmaPages(0, 2).canMerge(followedBy: vmaPages(3, 4)), "not adjacent")
        XCTAssertFalse(vmaPages(0, 2, rw).canMerge(followedBy: vmaPages(2, 4, ro)), "flags differ")
        XCTAssertTrue(vmaPages(0, 2, ro, fileAt(1, 5)).canMerge(followedBy: vmaPages(2, 4, ro, fileAt(1, 7))))
        XCTAssertFalse(vmaPages(0, 2, ro, fileAt(1, 5)).canMerge(followedBy: vmaPages(2, 4, ro, fileAt(1, 8))),
                       "file offsets not contiguous")
        XCTAssertFalse(vmaPages(0, 2, ro, fileAt(1, 5)).canMerge(followedBy: vmaPages(2, 4, ro, fileAt(2, 7))),
                       "different files")
        XCTAssertFalse(vmaPages(0, 2, ro).canMerge(followedBy: vmaPages(2, 4, ro, fileAt(1, 0))),
                       "anonymous and file")
    }

    func testMergeAdjacentJoinsBothNeighbours() {
        var tree = makeTree([vmaPages(0, 2), vmaPages(2, 4), vmaPages(4, 6), vmaPages(6, 8, [.read, .mayRead])])
        XCTAssertEqual(tree.mergeAdjacent(at: page(3)), vmaPages(0, 6))
        XCTAssertEqual(Array(tree), [vmaPages(0, 6), vmaPages(6, 8, [.read, .mayRead])])
        XCTAssertEqual(tree.totalVM, 8)
        XCTAssertNil(tree.mergeAdjacent(at: page(9)))
        assertValid(tree)
    }

    func testExpandDownwards() throws {
        var tree = makeTree([vmaPages(10, 11), vmaPages(50, 60, .stackDefault), vmaPages(70, 72)])
        try tree.expandDownwards(to: page(45))
        XCTAssertEqual(tree.findVMA(page(45)), vmaPages(45, 60, .stackDefault))
        XCTAssertEqual(tree.totalVM, 1 + 15 + 2)
        XCTAssertThrowsError(try tree.expandDownwards(to: page(65))) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        XCTAssertThrowsError(try tree.expandDownwards(to: page(50))) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        XCTAssertThrowsError(try tree.expandDownwards(to: page(9))) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        assertValid(tree)
    }

    // MARK: munmap

    func testUnmapRangeShapes() throws {
        let file: VMFlags = [.read, .mayRead]
        func fresh() -> VMATree {
            makeTree([vmaPages(10, 20), vmaPages(20, 30, file, fileAt(3, 0)), vmaPages(40, 50), vmaPages(60, 70)])
        }
        var tree = fresh()
        // Inside one region: a hole punch leaves two pieces.
        XCTAssertEqual(try tree.unmapRange(page(12), page(14)), [vmaPages(12, 14)])
        XCTAssertEqual(tree.findVMA(page(10)), vmaPages(10, 12))
        XCTAssertEqual(tree.findVMA(page(12)), vmaPages(14, 20))
        assertValid(tree)

        // Overlapping two regions partially; the file piece keeps its offset.
        tree = fresh()
        XCTAssertEqual(try tree.unmapRange(page(15), page(25)), [vmaPages(15, 20), vmaPages(20, 25, file, fileAt(3, 0))])
        XCTAssertEqual(tree.findVMA(page(15)), vmaPages(25, 30, file, fileAt(3, 5)))
        assertValid(tree)

        // Many regions and the gaps between them, trimming both ends.
        tree = fresh()
        XCTAssertEqual(try tree.unmapRange(page(18), page(65)),
                       [vmaPages(18, 20), vmaPages(20, 30, file, fileAt(3, 0)), vmaPages(40, 50), vmaPages(60, 65)])
        XCTAssertEqual(Array(tree), [vmaPages(10, 18), vmaPages(65, 70)])
        assertValid(tree)

        // Exactly one region.
        tree = fresh()
        XCTAssertEqual(try tree.unmapRange(page(40), page(50)), [vmaPages(40, 50)])
        XCTAssertEqual(tree.count, 3)

        // Nothing there: a gap, beyond the end.
        XCTAssertEqual(try tree.unmapRange(page(30), page(40)), [])
        XCTAssertEqual(try tree.unmapRange(page(100), page(200)), [])
        XCTAssertEqual(tree.count, 3)

        // The end is rounded up to a page, as munmap rounds its length.
        XCTAssertEqual(try tree.unmapRange(page(60), page(60) + 1), [vmaPages(60, 61)])

        // Errors.
        XCTAssertThrowsError(try tree.unmapRange(page(10) + 1, page(11))) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        XCTAssertThrowsError(try tree.unmapRange(page(10), page(10))) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
        XCTAssertEqual(tree.totalVM, 10 + 10 + 9)
        assertValid(tree)
    }

    // MARK: mprotect

    func testProtectRangeSplitsAndMergesBack() throws {
        var tree = makeTree([vmaPages(10, 30)])
        try tree.protectRange(page(15), page(20), protection: [.read])
        XCTAssertEqual(Array(tree), [vmaPages(10, 15), vmaPages(15, 20, [.read, .mayRead, .mayWrite, .mayExec]),
                                     vmaPages(20, 30)])
        assertValid(tree)
        try tree.protectRange(page(15), page(20), protection: [.read, .write])
        XCTAssertEqual(Array(tree), [vmaPages(10, 30)], "there and back leaves one region")
        assertValid(tree)

        // Over a whole run of regions that become identical: one region results.
        tree = makeTree([vmaPages(0, 4), vmaPages(4, 8, [.read, .mayRead, .mayWrite, .mayExec]), vmaPages(8, 12)])
        try tree.protectRange(page(0), page(12), protection: [.read, .exec])
        XCTAssertEqual(Array(tree), [vmaPages(0, 12, [.read, .exec, .mayRead, .mayWrite, .mayExec])])

        // Matching a neighbour outside the range merges with it.
        tree = makeTree([vmaPages(0, 4, [.read, .mayRead, .mayWrite, .mayExec]), vmaPages(4, 8)])
        try tree.protectRange(page(4), page(6), protection: [.read])
        XCTAssertEqual(Array(tree), [vmaPages(0, 6, [.read, .mayRead, .mayWrite, .mayExec]), vmaPages(6, 8)])
        assertValid(tree)
    }

    func testProtectRangeErrorsChangeNothing() {
        var tree = makeTree([vmaPages(0, 4), vmaPages(6, 8), vmaPages(8, 10, readOnlySharedFile, fileAt(1, 0))])
        let before = Array(tree)
        XCTAssertThrowsError(try tree.protectRange(page(2), page(7), protection: [.read])) {
            XCTAssertEqual($0 as? VMError, .noMemory, "hole in the range")
        }
        XCTAssertThrowsError(try tree.protectRange(page(11), page(12), protection: [.read])) {
            XCTAssertEqual($0 as? VMError, .noMemory, "nothing mapped")
        }
        XCTAssertThrowsError(try tree.protectRange(page(6), page(10), protection: [.read, .write])) {
            XCTAssertEqual($0 as? VMError, .accessDenied, "no VM_MAYWRITE on the read-only file")
        }
        XCTAssertThrowsError(try tree.protectRange(page(0) + 1, page(2), protection: [.read])) {
            XCTAssertEqual($0 as? VMError, .invalidArgument)
        }
        XCTAssertThrowsError(try tree.protectRange(page(0), page(2), protection: [.read, .shared])) {
            XCTAssertEqual($0 as? VMError, .invalidArgument)
        }
        XCTAssertNoThrow(try tree.protectRange(page(3), page(3), protection: []), "empty range is a no-op")
        XCTAssertEqual(Array(tree), before)
        XCTAssertNoThrow(try tree.protectRange(page(6), page(10), protection: []), "PROT_NONE needs no MAY bit")
        XCTAssertEqual(tree.findVMA(page(9))?.flags, readOnlySharedFile.withAccess([]))
        assertValid(tree)
    }

    // MARK: mlock

    func testLockRangeSplitsCountsAndMergesBack() throws {
        var tree = makeTree([vmaPages(10, 30)])
        try tree.lockRange(page(15), page(20), [.locked])
        XCTAssertEqual(Array(tree), [vmaPages(10, 15), vmaPages(15, 20, VMFlags.dataDefault.union(.locked)),
                                     vmaPages(20, 30)])
        XCTAssertEqual(tree.lockedVM, 5)
        assertValid(tree)
        // mprotect keeps the lock; munmap of a locked piece takes its pages off VmLck.
        try tree.protectRange(page(10), page(30), protection: [.read])
        XCTAssertEqual(tree.lockedVM, 5)
        try tree.protectRange(page(10), page(30), protection: [.read, .write])
        _ = try tree.unmapRange(page(18), page(20))
        XCTAssertEqual(tree.lockedVM, 3)
        XCTAssertEqual(tree.count, 3)
        try tree.lockRange(page(15), page(18), [])
        XCTAssertEqual(Array(tree), [vmaPages(10, 18), vmaPages(20, 30)], "munlock merges back")
        XCTAssertEqual(tree.lockedVM, 0)
        assertValid(tree)

        // A hole is ENOMEM and changes nothing; an unchanged region is not split.
        let before = Array(tree)
        XCTAssertThrowsError(try tree.lockRange(page(12), page(22), [.locked])) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
        XCTAssertEqual(Array(tree), before)
        try tree.lockRange(page(12), page(14), [])
        XCTAssertEqual(Array(tree), before, "munlock of unlocked pages splits nothing")

        // mlockall, munlockall and fork's clearing.
        tree.modifyAllFlags(merging: true) { $0.withLock([.locked, .lockOnFault]) }
        XCTAssertEqual(tree.lockedVM, 18)
        var child = tree
        child.modifyAllFlags(merging: false) { $0.withLock([]) }
        XCTAssertEqual(child.lockedVM, 0)
        XCTAssertEqual(tree.lockedVM, 18, "the parent keeps its locks")
        assertValid(child)
        assertValid(tree)
    }

    // MARK: random munmap / mprotect / mmap against a page model

    func testRandomOperationsMatchPageModel() {
        let pages = 256
        var rng = SplitMix64(seed: 0x5eed_0002)
        var tree = VMATree()
        var model = [ModelPage?](repeating: nil, count: pages)
        let flagChoices: [VMFlags] = [.dataDefault, [.read, .mayRead, .mayWrite, .mayExec], readOnlySharedFile]

        func randomRange() -> (UInt64, UInt64) {
            let first = rng.below(UInt64(pages))
            return (first, min(UInt64(pages), first + 1 + rng.below(40)))
        }

        for op in 1...20_000 {
            let (first, end) = randomRange()
            let range = Int(first)..<Int(end)
            switch rng.below(5) {
            case 0:  // mmap into a free range (anonymous, or a file at offset = page so neighbours can merge)
                let flags = flagChoices[Int(rng.below(UInt64(flagChoices.count)))]
                let fileID = rng.below(UInt64(3))
                let backing: VMABacking = fileID == 0 ? .anonymous : fileAt(fileID, first + (rng.chance(80) ? 0 : 1))
                let vma = vmaPages(first, end, flags, backing)
                let free = model[range].allSatisfy { $0 == nil }
                do {
                    try tree.insert(vma)
                    XCTAssertTrue(free, "op \(op)")
                    for (i, p) in zip(range, first..<end) {
                        let b: ModelBacking = fileID == 0 ? .anonymous : .file(fileID, page: vma.filePage(at: page(p))!)
                        model[i] = ModelPage(flags: flags, backing: b)
                    }
                    if rng.chance(50) { tree.mergeAdjacent(at: page(first)) }
                } catch {
                    XCTAssertFalse(free, "op \(op)")
                }
            case 1:  // munmap
                let removed = try! tree.unmapRange(page(first), page(end))
                var expected = [ModelPage?](repeating: nil, count: pages)
                expected[range] = model[range]
                XCTAssertEqual(expandPages(removed, pages: pages), expected, "removed pieces at op \(op)")
                XCTAssertTrue(removed.allSatisfy { $0.start >= page(first) && $0.end <= page(end) })
                for i in range { model[i] = nil }
            case 2:  // mprotect
                let protection = VMFlags(rawValue: rng.below(8))
                let result: Result<Void, VMError>
                do throws(VMError) {
                    try tree.protectRange(page(first), page(end), protection: protection)
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                // Like Linux, the first problem in address order decides the error.
                let problem = model[range].first { $0 == nil || !$0!.flags.withAccess(protection).accessIsPermitted }
                if let problem {
                    XCTAssertEqual(result.failure, problem == nil ? .noMemory : .accessDenied, "op \(op)")
                } else {
                    XCTAssertNil(result.failure, "op \(op)")
                    for i in range { model[i]!.flags = model[i]!.flags.withAccess(protection) }
                    // Nothing mergeable is left around the changed range.
                    let around = Array(tree).filter { $0.end >= page(first) && $0.start <= page(end) }
                    for (a, b) in zip(around, around.dropFirst()) {
                        XCTAssertFalse(a.canMerge(followedBy: b), "unmerged \(a) \(b) at op \(op)")
                    }
                }
            case 3:  // mlock / mlock2(MLOCK_ONFAULT) / munlock
                let lock: VMFlags = [[], [.locked], [.locked, .lockOnFault]][Int(rng.below(3))]
                let result: Result<Void, VMError>
                do throws(VMError) {
                    try tree.lockRange(page(first), page(end), lock)
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                if model[range].contains(where: { $0 == nil }) {
                    XCTAssertEqual(result.failure, .noMemory, "op \(op)")
                } else {
                    XCTAssertNil(result.failure, "op \(op)")
                    for i in range { model[i]!.flags = model[i]!.flags.withLock(lock) }
                }
            default:  // split somewhere
                let at = page(first)
                let inside = model[range.lowerBound] != nil && first > 0 && model[range.lowerBound - 1] != nil
                    && tree.findVMA(at)!.start < at
                do {
                    try tree.splitVMA(at: at)
                    XCTAssertTrue(inside, "op \(op)")
                } catch {
                    XCTAssertFalse(inside, "op \(op)")
                }
            }
            XCTAssertEqual(expandPages(tree, pages: pages), model, "contents at op \(op)")
            XCTAssertEqual(tree.totalVM, UInt64(model.filter { $0 != nil }.count))
            XCTAssertEqual(tree.lockedVM, UInt64(model.filter { $0?.flags.contains(.locked) == true }.count))
            if op % 100 == 0 { assertValid(tree, "at op \(op)") }
        }
        assertValid(tree)
    }
}

private extension Result {
    var failure: Failure? {
        if case let .failure(error) = self { return error }
        return nil
    }
}
