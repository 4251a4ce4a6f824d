// MMLayout (Linux mmap_base) and VMATree.getUnmappedArea (Linux
// arch_get_unmapped_area_topdown): top-down placement, hints, MAP_FIXED, the
// stack guard gap, alignment and ENOMEM, plus a brute-force cross-check.
import XCTest
@testable import KeelCore

final class MMLayoutTests: XCTestCase {
    let mib: UInt64 = 1 << 20

    func testMmapBaseFollowsLinuxFormula() {
        let standard = MMLayout()
        // 8 MiB stack + 1 MiB guard is below the 128 MiB minimum gap.
        XCTAssertEqual(standard.mmapBase, VirtAddr(KernelLayout.taskSize - 128 * mib))
        XCTAssertEqual(standard.stackTop, VirtAddr(KernelLayout.taskSize))
        XCTAssertEqual(standard.mmapMinAddr, pageSize)

        let bigStack = MMLayout(stackLimit: 1024 * mib)
        XCTAssertEqual(bigStack.mmapBase, VirtAddr(KernelLayout.taskSize - 1025 * mib))

        // RLIM_INFINITY: the padding would overflow and is skipped; the gap is capped at 5/6.
        let unlimited = MMLayout(stackLimit: UInt64.max)
        let cap = KernelLayout.taskSize / 6 * 5
        XCTAssertEqual(unlimited.mmapBase, VirtAddr(KernelLayout.taskSize - cap).alignedUp())
        XCTAssertTrue(unlimited.mmapBase.isPageAligned)
    }

    func testTopDownPlacement() throws {
        let layout = MMLayout()
        var tree = VMATree()
        let first = try tree.getUnmappedArea(length: 3 * pageSize, layout: layout)
        XCTAssertEqual(first, VirtAddr(layout.mmapBase.value - 3 * pageSize), "just below mmap_base")
        try tree.insert(VMA(start: first, end: first + 3 * pageSize, flags: .dataDefault))
        let second = try tree.getUnmappedArea(length: 100, layout: layout)
        XCTAssertEqual(second, VirtAddr(first.value - pageSize), "length rounds up to a page, placed just below")
    }

    func testHintHonouredWhenFreeOtherwiseTopDown() throws {
        let layout = MMLayout()
        let tree = makeTree([vmaPages(0x1000, 0x1010)])
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, hint: page(0x2000), layout: layout), page(0x2000))
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, hint: page(0x2000) + 5, layout: layout),
                       page(0x2001), "hint rounds up to a page")
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, hint: page(0x1004), layout: layout),
                       VirtAddr(layout.mmapBase.value - pageSize), "occupied hint falls back")
        XCTAssertEqual(try tree.getUnmappedArea(length: 2 * pageSize, hint: page(0x0fff), layout: layout),
                       VirtAddr(layout.mmapBase.value - 2 * pageSize), "hint overlapping the next region")
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, hint: VirtAddr(layout.taskSize), layout: layout),
                       VirtAddr(layout.mmapBase.value - pageSize), "hint beyond user space")
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, hint: VirtAddr(0), layout: layout),
                       VirtAddr(layout.mmapBase.value - pageSize), "hint below mmap_min_addr")
    }

    func testFixed() throws {
        let layout = MMLayout()
        let tree = makeTree([vmaPages(0x1000, 0x1010)])
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, hint: page(0x1004), fixed: true, layout: layout),
                       page(0x1004), "MAP_FIXED returns the address even over a mapping")
        XCTAssertThrowsError(try tree.getUnmappedArea(length: pageSize, hint: page(0x1004) + 1, fixed: true, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .invalidArgument)
        }
        XCTAssertThrowsError(try tree.getUnmappedArea(length: pageSize, fixed: true, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .invalidArgument)
        }
        XCTAssertThrowsError(try tree.getUnmappedArea(length: pageSize, hint: VirtAddr(0), fixed: true, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .notPermitted)
        }
        XCTAssertThrowsError(try tree.getUnmappedArea(length: 2 * pageSize, hint: VirtAddr(layout.taskSize - pageSize),
                                                      fixed: true, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
    }

    func testArgumentErrorsAndENOMEM() {
        let layout = MMLayout()
        let tree = VMATree()
        XCTAssertThrowsError(try tree.getUnmappedArea(length: 0, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .invalidArgument)
        }
        XCTAssertThrowsError(try tree.getUnmappedArea(length: pageSize, alignment: 3 * pageSize, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .invalidArgument)
        }
        XCTAssertThrowsError(try tree.getUnmappedArea(length: layout.taskSize, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
        XCTAssertThrowsError(try tree.getUnmappedArea(length: UInt64.max, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .noMemory, "rounding up overflows")
        }
    }

    func testFullSpaceGivesENOMEMAndGapsAreFound() throws {
        var layout = MMLayout(taskSize: 64 * pageSize)
        layout.mmapBase = page(48)
        var tree = makeTree([vmaPages(1, 10), vmaPages(12, 40), vmaPages(41, 48)])
        XCTAssertEqual(try tree.getUnmappedArea(length: 2 * pageSize, layout: layout), page(10), "the only 2-page gap")
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, layout: layout), page(40), "highest 1-page gap")
        XCTAssertThrowsError(try tree.getUnmappedArea(length: 3 * pageSize, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
        try tree.insert(vmaPages(10, 12))
        try tree.insert(vmaPages(40, 41))
        XCTAssertThrowsError(try tree.getUnmappedArea(length: pageSize, layout: layout)) {
            XCTAssertEqual($0 as? VMError, .noMemory, "everything below mmap_base is taken")
        }
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, hint: page(50), layout: layout), page(50),
                       "a hint above mmap_base may still be used")
    }

    func testAlignment() throws {
        let layout = MMLayout()
        let twoMiB: UInt64 = 2 * mib
        var tree = VMATree()
        let top = VirtAddr(layout.mmapBase.value - pageSize)
        try tree.insert(VMA(start: top, end: layout.mmapBase, flags: .dataDefault))
        let addr = try tree.getUnmappedArea(length: twoMiB, alignment: twoMiB, layout: layout)
        XCTAssertEqual(addr.value % twoMiB, 0)
        XCTAssertLessThanOrEqual(addr.value + twoMiB, top.value)
        XCTAssertGreaterThan(addr.value + 2 * twoMiB, top.value, "the highest aligned slot")
    }

    func testStackGuardGapIsKept() throws {
        var layout = MMLayout()
        layout.mmapBase = layout.stackTop
        let stackStart = VirtAddr(layout.stackTop.value - 32 * pageSize)
        var tree = VMATree()
        try tree.insert(VMA(start: stackStart, end: layout.stackTop, flags: .stackDefault))
        let addr = try tree.getUnmappedArea(length: pageSize, layout: layout)
        XCTAssertEqual(addr, VirtAddr(stackStart.value - layout.stackGuardGap - pageSize))
        let inGuard = VirtAddr(stackStart.value - pageSize)
        XCTAssertNotEqual(try tree.getUnmappedArea(length: pageSize, hint: inGuard, layout: layout), inGuard)
        // A non-stack region needs no guard.
        _ = try tree.unmapRange(stackStart, layout.stackTop)
        try tree.insert(VMA(start: stackStart, end: layout.stackTop, flags: .dataDefault))
        XCTAssertEqual(try tree.getUnmappedArea(length: pageSize, layout: layout), inGuard)
    }

    func testRandomPlacementMatchesBruteForce() throws {
        var rng = SplitMix64(seed: 0x5eed_0003)
        let pages: UInt64 = 512
        var layout = MMLayout(taskSize: pages * pageSize, stackGuardGap: 4 * pageSize)
        layout.mmapBase = page(480)
        for round in 0..<300 {
            var tree = VMATree()
            for _ in 0..<rng.below(30) {
                let first = 1 + rng.below(pages - 2)
                let flags: VMFlags = rng.chance(10) ? .stackDefault : .dataDefault
                try? tree.insert(vmaPages(first, min(pages, first + 1 + rng.below(20)), flags))
            }
            let length = (1 + rng.below(24)) * pageSize
            let alignment = pageSize << rng.below(3)
            var expected: VirtAddr? = nil
            var candidate = (layout.mmapBase.value - length) & ~(alignment - 1)
            while candidate >= layout.mmapMinAddr {
                let end = candidate + length
                // Linux's rule: no overlap, and clear of the guard gap of the next region up.
                let next = tree.first { $0.end.value > candidate }
                let clear = tree.allSatisfy { $0.end.value <= candidate || $0.start.value >= end }
                    && (next == nil || next!.startGap(guardGap: layout.stackGuardGap).value >= end)
                if clear { expected = VirtAddr(candidate); break }
                if candidate < alignment { break }
                candidate -= alignment
            }
            do {
                let addr = try tree.getUnmappedArea(length: length, alignment: alignment, layout: layout)
                XCTAssertEqual(addr, expected, "round \(round)")
            } catch {
                XCTAssertNil(expected, "round \(round): \(error)")
            }
        }
    }
}
