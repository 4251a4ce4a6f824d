import XCTest
@testable import KeelCore

final class AddressTests: XCTestCase {
    func testAlignmentAndPFN() {
        let p = PhysAddr(0x12345)
        XCTAssertEqual(p.pfn, 0x12)
        XCTAssertEqual(p.alignedDown().value, 0x12000)
        XCTAssertEqual(p.alignedUp().value, 0x13000)
        XCTAssertFalse(p.isPageAligned)
        XCTAssertEqual(PhysAddr(pfn: 5).value, 0x5000)
    }
    func testCanonicalAndDirectMap() {
        XCTAssertTrue(VirtAddr(0x0000_7fff_ffff_ffff).isCanonical)
        XCTAssertFalse(VirtAddr(0x0000_8000_0000_0000).isCanonical)
        XCTAssertTrue(VirtAddr(0xffff_8000_0000_0000).isCanonical)
        XCTAssertEqual(PhysAddr(0x1000).directMapped.value, 0x0000_7f00_0000_1000)
        XCTAssertEqual(VirtAddr(0x0000_7f00_0000_1000).directMapPhys.value, 0x1000)
        XCTAssertTrue(VirtAddr(0x400000).isUser)
        XCTAssertFalse(VirtAddr(KernelLayout.kernelBase).isUser)
    }
    func testFmt() {
        XCTAssertEqual(Fmt.dec(42, width: 6), "    42")
        XCTAssertEqual(Fmt.hex(255, digits: 4), "00ff")
        XCTAssertEqual(Fmt.padRight("ab", 4), "ab  ")
        XCTAssertEqual(Fmt.pad("abcdef", 4), "abcdef")
    }

    /// The writers give the same text as the String formatters, and the
    /// sinks that do not keep it count it alike.
    func testFmtWriters() {
        for (v, width) in [(UInt64(0), 0), (42, 6), (123_456_789, 8), (.max, 3), (7, 30)] {
            var out = ""
            Fmt.writeDec(v, width: width, to: &out)
            XCTAssertEqual(out, Fmt.dec(v, width: width))
            out = ""
            Fmt.writeHex(v, digits: width, to: &out)
            XCTAssertEqual(out, Fmt.hex(v, digits: width))
        }
        var length = TextLength(), window = TextWindow(start: 2, capacity: 5)
        for sink in ["ab", "cdef"] { length.write(sink); window.write(sink) }
        Fmt.writeHex(0xbeef, to: &length)
        Fmt.writeHex(0xbeef, to: &window)
        length.write(StaticString("!"))
        window.write(StaticString("!"))
        XCTAssertEqual(length.count, 11)
        XCTAssertEqual(window.written, 11)
        XCTAssertEqual(String(decoding: window.bytes, as: UTF8.self), "cdefb")
    }
}
