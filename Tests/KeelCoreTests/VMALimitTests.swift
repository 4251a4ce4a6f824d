import XCTest
@testable import KeelCore

/// max_map_count and the chunked node pool behind it.
final class VMALimitTests: XCTestCase {
    /// `n` three-page regions two pages apart (gaps keep them from merging).
    private func tree(regions n: Int) throws -> VMATree {
        var tree = VMATree()
        for i in 0..<UInt64(n) {
            let start = VirtAddr(0x1000_0000 + i * 5 * pageSize)
            try tree.insert(VMA(start: start, end: start + 3 * pageSize, flags: [.read, .write, .mayRead, .mayWrite]))
        }
        return tree
    }

    func testInsertStopsAtMaxMapCount() throws {
        var tree = try tree(regions: VMATree.maxMapCount)
        XCTAssertEqual(tree.count, 65530)
        XCTAssertNil(tree.checkInvariants())
        let next = VirtAddr(0x9000_0000_0000)
        XCTAssertThrowsError(try tree.insert(VMA(start: next, end: next + pageSize, flags: [.read]))) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
        // A split that would add a region is refused and changes nothing...
        let first = VirtAddr(0x1000_0000)
        XCTAssertThrowsError(try tree.protectRange(first + pageSize, first + 2 * pageSize, protection: [.read])) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
        XCTAssertThrowsError(try tree.unmapRange(first + pageSize, first + 2 * pageSize)) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
        XCTAssertEqual(tree.count, 65530)
        XCTAssertEqual(tree.findVMA(first)?.end, first + 3 * pageSize)
        // ...while one that does not add a region still works.
        XCTAssertEqual(try tree.unmapRange(first + 2 * pageSize, first + 3 * pageSize).count, 1)
        try tree.protectRange(first, first + 2 * pageSize, protection: [.read])
        XCTAssertEqual(tree.count, 65530)
        _ = try tree.unmapRange(first, first + 2 * pageSize)
        try tree.insert(VMA(start: next, end: next + pageSize, flags: [.read]))
        XCTAssertEqual(tree.count, 65530)
        XCTAssertNil(tree.checkInvariants())
    }

    func testACopyIsIndependentOfTheOriginal() throws {
        var parent = try tree(regions: 200)
        var child = parent                             // fork: chunks shared until written
        _ = try child.unmapRange(VirtAddr(0x1000_0000), VirtAddr(0x1000_0000 + 100 * 5 * pageSize))
        try parent.protectRange(VirtAddr(0x1000_0000), VirtAddr(0x1000_0000 + pageSize), protection: [.read])
        XCTAssertEqual(child.count, 100)
        XCTAssertEqual(parent.count, 201)
        XCTAssertNil(parent.checkInvariants())
        XCTAssertNil(child.checkInvariants())
        XCTAssertEqual(child.findVMA(VirtAddr(0x1000_0000))?.start, VirtAddr(0x1000_0000 + 100 * 5 * pageSize))
        XCTAssertEqual(parent.findVMA(VirtAddr(0x1000_0000))?.flags.contains(.write), false)
    }
}

final class StackGrowthTests: XCTestCase {
    /// A MAP_GROWSDOWN file mapping cannot grow below the file's first page (that
    /// was a Swift overflow trap in the kernel, found by the fuzzer).
    func testAFileMappingDoesNotGrowBeforeItsFirstPage() throws {
        var tree = VMATree()
        let start = VirtAddr(0x10_0000)
        try tree.insert(VMA(start: start, end: start + 3 * pageSize, flags: [.read, .growsDown],
                            backing: .file(MappedFileID(7), pageOffset: 1)))
        try tree.expandDownwards(to: start - pageSize)                       // to page 0 of the file
        XCTAssertEqual(tree.findVMA(start)?.backing, .file(MappedFileID(7), pageOffset: 0))
        XCTAssertThrowsError(try tree.expandDownwards(to: start - 2 * pageSize)) {
            XCTAssertEqual($0 as? VMError, .noMemory)
        }
        XCTAssertEqual(tree.findVMA(start)?.start, start - pageSize)
    }
}
