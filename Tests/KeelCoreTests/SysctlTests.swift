// /proc/sys text: every case here was written to Linux 6.18's
// /proc/sys/vm/dirty_ratio (and friends) as root, and the answer noted.
import XCTest
@testable import KeelCore

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A write of `text` to an int sysctl with `min`...`max`: the bytes taken and
/// the value, or the error.
private func int(_ text: [UInt8], at offset: Int = 0, min: Int32? = nil, max: Int32? = nil) -> Result<SysctlWrite<Int32>, Errno> {
    text.withUnsafeBytes { raw in
        do throws(Errno) {
            return .success(try SysctlText.writeInt(raw, at: offset, min: min, max: max))
        } catch {
            return .failure(error)
        }
    }
}

private func ulong(_ text: String, min: UInt64? = nil) -> Result<SysctlWrite<UInt64>, Errno> {
    bytes(text).withUnsafeBytes { raw in
        do throws(Errno) {
            return .success(try SysctlText.writeUnsignedLong(raw, at: 0, min: min))
        } catch {
            return .failure(error)
        }
    }
}

private func taken(_ value: Int32, _ count: Int) -> Result<SysctlWrite<Int32>, Errno> {
    .success(SysctlWrite(value: value, taken: count))
}

final class SysctlTests: XCTestCase {
    func testNumbersAsLinuxTakesThem() {
        let ratio: (String) -> Result<SysctlWrite<Int32>, Errno> = { int(bytes($0), min: 0, max: 100) }
        XCTAssertEqual(ratio("30"), taken(30, 2))
        XCTAssertEqual(ratio("  40\n"), taken(40, 5))
        XCTAssertEqual(ratio("100"), taken(100, 3))
        XCTAssertEqual(ratio("0"), taken(0, 1))
        XCTAssertEqual(ratio("-0"), taken(0, 2))
        XCTAssertEqual(ratio("0x10"), taken(16, 4))
        XCTAssertEqual(ratio("0X1f"), taken(31, 4))
        XCTAssertEqual(ratio("010"), taken(8, 3))
        XCTAssertEqual(ratio("5\n\n\n"), taken(5, 4))
        XCTAssertEqual(ratio("6\t"), taken(6, 2))
        XCTAssertEqual(ratio("\t\n 11"), taken(11, 5))
        XCTAssertEqual(ratio("\r6"), taken(6, 2))
        XCTAssertEqual(ratio("\u{0b}8"), taken(8, 2))
        XCTAssertEqual(int([0xa0, UInt8(ascii: "5")], min: 0, max: 100), taken(5, 2))
        XCTAssertEqual(ratio("00000000000000000001"), taken(1, 20))
        // A second number is left over: the write takes the bytes before it.
        XCTAssertEqual(ratio("21 30"), taken(21, 3))
        XCTAssertEqual(ratio("7\n8"), taken(7, 2))
        XCTAssertEqual(ratio("9 x"), taken(9, 2))
        for bad in ["-1", "abc", "101", "20abc", "+5", "   ", "\n", "", "99999999999", "-", "- 1", "--1", "08", "1.5",
                    "7\r", "0x", "0x\n", "000000000000000000001", "-00000000000000000001"] {
            XCTAssertEqual(ratio(bad), .failure(.EINVAL), "\(bad.debugDescription)")
        }
        XCTAssertEqual(int([UInt8(ascii: "1"), UInt8(ascii: "3"), 0]), .failure(.EINVAL))
    }

    func testIntLimits() {
        XCTAssertEqual(int(bytes("-1")), taken(-1, 2))
        XCTAssertEqual(int(bytes("-2147483648")), taken(Int32.min, 11))
        XCTAssertEqual(int(bytes("2147483647")), taken(Int32.max, 10))
        XCTAssertEqual(int(bytes("-2147483649")), .failure(.EINVAL))
        XCTAssertEqual(int(bytes("2147483648")), .failure(.EINVAL))
        XCTAssertEqual(int(bytes("-1"), min: 0), .failure(.EINVAL))
    }

    func testUnsignedLong() {
        XCTAssertEqual(ulong("18446744073709551615"), .success(SysctlWrite(value: UInt64.max, taken: 20)))
        XCTAssertEqual(ulong("18446744073709551616"), .failure(.EINVAL))
        XCTAssertEqual(ulong("-1"), .failure(.EINVAL))
        XCTAssertEqual(ulong("-0"), .failure(.EINVAL))
        XCTAssertEqual(ulong("8191", min: 8192), .failure(.EINVAL))
        XCTAssertEqual(ulong("8192", min: 8192), .success(SysctlWrite(value: 8192, taken: 4)))
    }

    func testOnlyTheFirstPageIsLookedAt() {
        var text = [UInt8](repeating: 0x20, count: 4096)
        text[0] = UInt8(ascii: "9")
        XCTAssertEqual(int(text), taken(9, 4096))
        text[4094] = UInt8(ascii: "7")          // left over inside the first 4095 bytes
        XCTAssertEqual(int(text), taken(9, 4095))
        text[4094] = 0x20
        text[4095] = UInt8(ascii: "7")          // past them: not looked at
        XCTAssertEqual(int(text), taken(9, 4096))
        var blank = [UInt8](repeating: 0x20, count: 4096)
        blank[4095] = UInt8(ascii: "4")
        XCTAssertEqual(int(blank), .failure(.EINVAL))
    }

    func testPastOffsetZero() {
        XCTAssertEqual(int(bytes("50"), at: 1), .success(SysctlWrite(value: nil, taken: 2)))
        XCTAssertEqual(int(bytes("garbage"), at: 5), .success(SysctlWrite(value: nil, taken: 7)))
        XCTAssertEqual(Array(SysctlText.readBytes("20\n", count: 10, at: 0)), bytes("20\n"))
        XCTAssertEqual(Array(SysctlText.readBytes("20\n", count: 1, at: 0)), bytes("2"))
        XCTAssertEqual(Array(SysctlText.readBytes("20\n", count: 10, at: 1)), [])
    }

    func testDropCachesRange() {
        let write: (String) -> Result<SysctlWrite<Int32>, Errno> = { text in
            bytes(text).withUnsafeBytes { raw in
                do throws(Errno) { return .success(try DropCachesMode.write(raw, at: 0)) } catch { return .failure(error) }
            }
        }
        XCTAssertEqual(write("3\n"), taken(3, 2))
        XCTAssertEqual(write("4"), taken(4, 1))
        for bad in ["0", "5", "-1", "100", "x"] { XCTAssertEqual(write(bad), .failure(.EINVAL), bad) }
        XCTAssertEqual(DropCachesMode(rawValue: 3), [.pageCache, .slab])
    }

    private func write(_ t: inout DirtyTunables, _ file: VMSysctlFile, _ text: String, at offset: Int = 0,
                       dirtyable: UInt64 = 1 << 20) -> Result<Int, Errno> {
        bytes(text).withUnsafeBytes { raw in
            do throws(Errno) {
                return .success(try t.write(file, raw, at: offset, dirtyablePages: dirtyable, pageSize: 4096))
            } catch {
                return .failure(error)
            }
        }
    }

    func testDefaultsAndText() {
        let t = DirtyTunables()
        XCTAssertEqual(VMSysctlFile.allCases.map { t.text($0) },
                       ["", "0\n", "10\n", "0\n", "3000\n", "20\n", "500\n", "", "", ""])
        XCTAssertEqual(VMSysctlFile.allCases.map(\.name),
                       ["compact_memory", "dirty_background_bytes", "dirty_background_ratio", "dirty_bytes",
                        "dirty_expire_centisecs", "dirty_ratio", "dirty_writeback_centisecs", "drop_caches",
                        "min_free_kbytes", "swappiness"])
        XCTAssertEqual(VMSysctlFile.dropCaches.permissions, 0o200)
        XCTAssertEqual(VMSysctlFile.compactMemory.permissions, 0o200)
        XCTAssertEqual(VMSysctlFile.dirtyRatio.permissions, 0o644)
    }

    func testCompactMemoryTakesAnyIntegerButOnlyOneCompacts() throws {
        func write(_ text: String, at offset: Int = 0, last: Int32 = 0) throws -> (stored: Int32, taken: Int) {
            let result = bytes(text).withUnsafeBytes { raw -> Result<(stored: Int32, taken: Int), Errno> in
                do throws(Errno) {
                    return .success(try CompactMemoryCommand.write(raw, at: offset, last: last))
                } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }
        let one = try write("1\n")
        XCTAssertEqual(one.stored, 1)
        XCTAssertEqual(one.taken, 2)
        XCTAssertNoThrow(try CompactMemoryCommand.check(one.stored))
        let two = try write("2")
        XCTAssertEqual(two.stored, 2, "stored as proc_dointvec does")
        XCTAssertThrowsError(try CompactMemoryCommand.check(two.stored)) { XCTAssertEqual($0 as? Errno, .EINVAL) }
        XCTAssertThrowsError(try write("x")) { XCTAssertEqual($0 as? Errno, .EINVAL) }
        XCTAssertEqual(try write("1", at: 5, last: 1).stored, 1, "past offset 0: the last value again")
        XCTAssertEqual(try write("1", at: 5, last: 0).stored, 0)
        var t = DirtyTunables()
        XCTAssertEqual(self.write(&t, .compactMemory, "1"), .failure(.EINVAL), "not a tunable")
    }

    func testDirtyBytesAndRatioExcludeEachOther() {
        var t = DirtyTunables()
        XCTAssertEqual(write(&t, .dirtyBytes, "4096"), .failure(.EINVAL))     // less than two pages
        XCTAssertEqual(write(&t, .dirtyBytes, "0"), .failure(.EINVAL))
        XCTAssertEqual(write(&t, .dirtyBytes, "8192"), .success(4))
        XCTAssertTrue((t.bytes, t.ratio) == (8192, 0))
        // Writing the ratio it already has (0) changes nothing: the bytes stay.
        XCTAssertEqual(write(&t, .dirtyRatio, "0"), .success(1))
        XCTAssertTrue((t.bytes, t.ratio) == (8192, 0))
        XCTAssertEqual(write(&t, .dirtyRatio, "20"), .success(2))
        XCTAssertTrue((t.bytes, t.ratio) == (0, 20))
        XCTAssertEqual(write(&t, .dirtyRatio, "101"), .failure(.EINVAL))
        XCTAssertEqual(t.ratio, 20)
    }

    func testBackgroundBytesAndRatioExcludeEachOther() {
        var t = DirtyTunables()
        XCTAssertEqual(write(&t, .dirtyBackgroundBytes, "0"), .failure(.EINVAL))
        XCTAssertEqual(write(&t, .dirtyBackgroundBytes, "1"), .success(1))
        XCTAssertTrue((t.backgroundBytes, t.backgroundRatio) == (1, 0))
        // More than the dirtyable memory: ERANGE, nothing changes.
        XCTAssertEqual(write(&t, .dirtyBackgroundBytes, "1000000000000000"), .failure(.ERANGE))
        XCTAssertEqual(write(&t, .dirtyBackgroundBytes, "8193", dirtyable: 2), .failure(.ERANGE))
        XCTAssertEqual(write(&t, .dirtyBackgroundBytes, "8192", dirtyable: 2), .success(4))
        XCTAssertEqual(t.backgroundBytes, 8192)
        XCTAssertEqual(write(&t, .dirtyBackgroundRatio, "101"), .failure(.EINVAL))
        XCTAssertEqual(t.backgroundBytes, 8192)
        // The background ratio clears the bytes whatever it is, 0 included.
        XCTAssertEqual(write(&t, .dirtyBackgroundRatio, "0"), .success(1))
        XCTAssertTrue((t.backgroundBytes, t.backgroundRatio) == (0, 0))
        // Past offset 0 nothing is stored, but the handlers still clear the other form.
        XCTAssertEqual(write(&t, .dirtyBackgroundRatio, "10"), .success(2))
        XCTAssertEqual(write(&t, .dirtyBackgroundBytes, "7", at: 1), .success(1))
        XCTAssertTrue((t.backgroundBytes, t.backgroundRatio) == (0, 0))
    }

    func testIntervals() {
        var t = DirtyTunables()
        XCTAssertEqual(write(&t, .dirtyExpireCentisecs, "-1"), .failure(.EINVAL))
        XCTAssertEqual(write(&t, .dirtyExpireCentisecs, "0"), .success(1))
        XCTAssertEqual(write(&t, .dirtyWritebackCentisecs, "-1"), .success(2))
        XCTAssertEqual(t.text(.dirtyWritebackCentisecs), "-1\n")
        XCTAssertEqual(write(&t, .dirtyWritebackCentisecs, "100", at: 3), .success(3))
        XCTAssertEqual(t.writebackCentisecs, -1)
        XCTAssertEqual(write(&t, .dropCaches, "1"), .failure(.EINVAL))
    }
}
