import XCTest
@testable import KeelCore

final class UserRangeTests: XCTestCase {
    private func valid(_ start: UInt64, _ count: Int) -> Bool {
        (try? UserRange(VirtAddr(start), count: count)) != nil
    }

    func testUserRangesPass() {
        XCTAssertTrue(valid(0x1000, 4096))
        XCTAssertTrue(valid(0, 0))
        XCTAssertTrue(valid(KernelLayout.taskSize - 8, 8))      // ends exactly at TASK_SIZE
        XCTAssertTrue(valid(KernelLayout.taskSize, 0))          // empty, at the boundary (Linux allows it)
    }

    func testKernelAndNonCanonicalRangesFail() {
        XCTAssertFalse(valid(KernelLayout.pageOffset, 1))       // direct map
        XCTAssertFalse(valid(KernelLayout.kernelBase + 0x1000, 4)) // image
        XCTAssertFalse(valid(KernelLayout.vmallocStart, 1))
        XCTAssertFalse(valid(0x0000_8000_0000_0000, 1))         // non-canonical
        XCTAssertFalse(valid(0xffff_8000_0000_0000, 1))         // the upper half
        XCTAssertFalse(valid(0xffff_ffff_ffff_f000, 4096))      // would wrap to 0
        XCTAssertFalse(valid(KernelLayout.taskSize - 8, 9))     // straddles TASK_SIZE by one byte
    }

    func testHugeAndNegativeCountsFailWithoutTrapping() {
        XCTAssertFalse(valid(0x1000, Int.max))
        XCTAssertFalse(valid(0x1000, -1))                       // (size_t)-1
        XCTAssertFalse(valid(0x1000, Int.min))
        XCTAssertFalse(valid(UInt64.max, Int.max))
        XCTAssertThrowsError(try UserRange(VirtAddr(UInt64.max), count: 1)) { error in
            XCTAssertEqual(error as? Errno, .EFAULT)
        }
    }

    func testSizeTLengthsGetTheSameCheck() {
        XCTAssertEqual(UserRange.end(of: VirtAddr(0x1000), length: 0x2000), VirtAddr(0x3000))
        XCTAssertEqual(UserRange.end(of: VirtAddr(KernelLayout.taskSize - 0x1000), length: 0x1000),
                       VirtAddr(KernelLayout.taskSize))
        XCTAssertNil(UserRange.end(of: VirtAddr(KernelLayout.taskSize - 0x1000), length: 0x1001))
        XCTAssertNil(UserRange.end(of: VirtAddr(0x1000), length: UInt64.max))        // would wrap
        XCTAssertNil(UserRange.end(of: VirtAddr(UInt64.max), length: 0))             // start past TASK_SIZE
    }

    func testSlicesAndFirstPage() throws {
        let range = try UserRange(VirtAddr(0x1ff0), count: 0x30)
        XCTAssertEqual(range.end.value, 0x2020)
        XCTAssertEqual(range.firstPage.count, 0x10)             // up to the page boundary at 0x2000
        let rest = range.slice(from: 0x10, count: 0x20)
        XCTAssertEqual(rest.start.value, 0x2000)
        XCTAssertEqual(rest.firstPage.count, 0x20)
    }
}

final class TextWindowTests: XCTestCase {
    func testTheWindowKeepsOnlyItsBytesAndCountsTheRest() {
        var window = TextWindow(start: 5, capacity: 6)
        window.write("abc")            // 0..<3: before the window
        window.write("defgh")          // 3..<8: "fgh" inside
        window.write("ijklmnop")       // 8..<16: "ijk" inside, the rest after
        window.write(StaticString("qr"))
        XCTAssertEqual(String(decoding: window.bytes, as: UTF8.self), "fghijk")
        XCTAssertEqual(window.written, 18)
        var empty = TextWindow(start: 100, capacity: 10)
        empty.write("short")
        XCTAssertTrue(empty.bytes.isEmpty)
        var whole = TextWindow(start: 0, capacity: 1 << 20)
        whole.write("all of it")
        XCTAssertEqual(String(decoding: whole.bytes, as: UTF8.self), "all of it")
    }
}
