import Foundation
import XCTest
@testable import KeelCore

final class CpioTests: XCTestCase {

    // MARK: valid archives

    func testSampleArchiveEntries() throws {
        let archive = CpioArchiveBuilder.sample().bytes
        let (entries, error, inBounds) = readCpio(archive)
        XCTAssertNil(error)
        XCTAssertTrue(inBounds)
        XCTAssertEqual(entries.map(\.name), [".", "bin", "bin/hello", "bin/sh"])
        XCTAssertEqual(entries.map(\.path), ["", "bin", "bin/hello", "bin/sh"])
        XCTAssertEqual(entries[2].data, Array("#!hello\n".utf8))
        XCTAssertEqual(entries[2].mode, 0o100755)
        XCTAssertEqual([entries[2].uid, entries[2].gid, entries[2].mtime, entries[2].ino], [1000, 100, 0x6543_2100, 3])
        XCTAssertEqual(entries[0].nlink, 3)
        XCTAssertEqual(entries[3].data, Array("hello".utf8))
    }

    func testEntryFieldsAndViews() throws {
        let archive = CpioArchiveBuilder.sample().bytes
        try archive.withUnsafeBytes { raw in
            var reader = CpioReader(raw)
            let root = try XCTUnwrap(try reader.next())
            XCTAssertEqual(root.headerOffset, 0)
            XCTAssertEqual(root.fileType, .directory)
            XCTAssertEqual(root.permissions, 0o755)
            XCTAssertEqual(root.size, 0)
            XCTAssertTrue(root.path.isEmpty)
            // header 110 + "." + NUL = 112, already a multiple of 4
            XCTAssertEqual(root.dataOffset, 112)
            XCTAssertEqual(reader.offset, 112)
            _ = try reader.next()
            let file = try XCTUnwrap(try reader.next())
            XCTAssertEqual(file.fileType, .regular)
            XCTAssertEqual(file.data.baseAddress, raw.baseAddress! + file.dataOffset)
            XCTAssertEqual(file.dataOffset % 4, 0)
            XCTAssertEqual(file.size, 8)
            let link = try XCTUnwrap(try reader.next())
            XCTAssertEqual(link.fileType, .symlink)
            XCTAssertEqual(link.permissions, 0o777)
            XCTAssertNil(try reader.next())
            XCTAssertNil(try reader.next(), "stays finished")
            XCTAssertEqual(reader.offset, raw.count)
        }
    }

    func testFileTypesAndSpecialBits() throws {
        var b = CpioArchiveBuilder()
        let modes: [(UInt32, FileType?)] = [
            (0o010644, .fifo), (0o020620, .characterDevice), (0o060660, .blockDevice), (0o140755, .socket),
            (0o104755, .regular), (0o170000, nil),
        ]
        for (i, m) in modes.enumerated() { b.add("n\(i)", mode: m.0, rdev: (4, 64)) }
        b.addTrailer()
        try b.bytes.withUnsafeBytes { raw in
            var reader = CpioReader(raw)
            for m in modes {
                let e = try XCTUnwrap(try reader.next())
                XCTAssertEqual(e.fileType, m.1)
                XCTAssertEqual(e.permissions, m.0 & 0o7777)
                XCTAssertEqual([e.rdevMajor, e.rdevMinor], [4, 64])
            }
            XCTAssertNil(try reader.next())
        }
    }

    func testPathNormalisation() {
        var b = CpioArchiveBuilder()
        let names = [".", "./", "./a", "/b", ".//c", "/./d", "./.hidden", "..", "../x", "a/./b", "a//b", "..."]
        for n in names { b.add(n, mode: 0o040755) }
        b.addTrailer()
        let (entries, error, _) = readCpio(b.bytes)
        XCTAssertNil(error)
        XCTAssertEqual(entries.map(\.path), ["", "", "a", "b", "c", "d", ".hidden", "..", "../x", "a/./b", "a//b", "..."])
        XCTAssertEqual(entries.map(\.name), names)
    }

    func testLowerCaseHexAndChecksummedArchives() {
        var lower = CpioArchiveBuilder.sample().bytes
        // Rewrite every header's hex digits in lower case: GNU cpio writes upper case, both are valid.
        var offset = 0
        while offset + 110 <= lower.count, lower[offset] == UInt8(ascii: "0") {
            for i in offset + 6..<offset + 110 where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(lower[i]) {
                lower[i] += 0x20
            }
            let name = Int(String(decoding: lower[offset + 94..<offset + 102], as: UTF8.self), radix: 16)!
            let size = Int(String(decoding: lower[offset + 54..<offset + 62], as: UTF8.self), radix: 16)!
            offset = (((offset + 110 + name + 3) & ~3) + size + 3) & ~3
        }
        XCTAssertEqual(readCpio(lower).entries, readCpio(CpioArchiveBuilder.sample().bytes).entries)

        let crc = readCpio(CpioArchiveBuilder.sample(magic: "070702").bytes)
        XCTAssertNil(crc.error)
        XCTAssertEqual(crc.entries, readCpio(CpioArchiveBuilder.sample().bytes).entries)
    }

    func testReaderStopsAtTheFirstTrailer() {
        let one = CpioArchiveBuilder.sample().bytes
        let (entries, error, _) = readCpio(one + [UInt8](repeating: 0, count: 512) + one)
        XCTAssertNil(error)
        XCTAssertEqual(entries.count, 4)
    }

    // MARK: every error, with its offset

    func testTruncatedAndBadHeaders() {
        XCTAssertEqual(readCpio([]).error, .missingTrailer(offset: 0))
        XCTAssertEqual(readCpio(Array("0707".utf8)).error, .truncatedHeader(offset: 0))

        var b = CpioArchiveBuilder()
        b.add("a", mode: 0o100644, data: [1, 2, 3])
        XCTAssertEqual(readCpio(b.bytes).error, .missingTrailer(offset: b.bytes.count))
        XCTAssertEqual(readCpio(b.bytes).entries.count, 1)
        XCTAssertEqual(readCpio(b.bytes + Array("070701".utf8)).error, .truncatedHeader(offset: b.bytes.count))

        var old = CpioArchiveBuilder()
        old.add("a", mode: 0o100644, magic: "070707")   // odc/old ASCII: Linux says "use -H newc"
        XCTAssertEqual(readCpio(old.bytes).error, .badMagic(offset: 0))
        XCTAssertEqual(readCpio([UInt8](repeating: 0, count: 512)).error, .badMagic(offset: 0))
        XCTAssertEqual(readCpio(b.bytes + [UInt8](repeating: 0x20, count: 200)).error, .badMagic(offset: b.bytes.count))
    }

    func testNonHexFieldReportsTheFieldOffset() {
        let good = CpioArchiveBuilder.sample().bytes
        for field in 0..<13 {
            for bad in [UInt8(ascii: "g"), UInt8(ascii: " "), UInt8(ascii: "x"), 0] {
                var archive = good
                let fieldStart = 112 + 6 + 8 * field   // second entry ("bin") starts at 112
                archive[fieldStart + 3] = bad
                let (entries, error, _) = readCpio(archive)
                XCTAssertEqual(error, .badHexField(offset: fieldStart))
                XCTAssertEqual(entries.count, 1)
            }
        }
    }

    func testNameErrors() {
        var empty = CpioArchiveBuilder()
        empty.add("x", mode: 0o100644, nameSize: 0)
        XCTAssertEqual(readCpio(empty.bytes).error, .emptyName(offset: 0))

        var long = CpioArchiveBuilder()
        long.add("x", mode: 0o100644, nameSize: 4096)
        XCTAssertEqual(readCpio(long.bytes).error, .truncatedName(offset: 110))

        var unterminated = CpioArchiveBuilder()
        unterminated.add("abcdef", mode: 0o100644, nameSize: 6)   // the NUL is not counted
        unterminated.addTrailer()
        XCTAssertEqual(readCpio(unterminated.bytes).error, .nameNotTerminated(offset: 110))

        var embedded = CpioArchiveBuilder()
        embedded.add("ab\0cd", mode: 0o100644)
        embedded.addTrailer()
        XCTAssertEqual(readCpio(embedded.bytes).error, .nameNotTerminated(offset: 110))
    }

    func testDataErrors() {
        var b = CpioArchiveBuilder()
        b.add("big", mode: 0o100644, data: [1, 2, 3, 4, 5])
        let archive = b.bytes
        // header 110 + "big\0" = 114, padded to 116; data 116..<121, padded to 124
        for cut in 1...3 {
            XCTAssertEqual(readCpio(Array(archive.dropLast(cut))).error, .missingTrailer(offset: 124))
        }
        for cut in 4...8 {
            XCTAssertEqual(readCpio(Array(archive.dropLast(cut))).error, .truncatedData(offset: 116))
        }
        var huge = CpioArchiveBuilder()
        huge.add("x", mode: 0o100644)
        // c_filesize = 0xFFFFFFFF
        for i in 0..<8 { huge.bytes[6 + 6 * 8 + i] = UInt8(ascii: "F") }
        XCTAssertEqual(readCpio(huge.bytes).error, .truncatedData(offset: 112))
    }

    func testChecksumMismatchOnlyForRegularFiles() {
        var bad = CpioArchiveBuilder()
        bad.add("f", mode: 0o100644, data: [1, 2, 3], magic: "070702", check: 7)
        bad.addTrailer(magic: "070702")
        XCTAssertEqual(readCpio(bad.bytes).error, .checksumMismatch(offset: 0))

        // GNU cpio leaves c_check 0 for symlinks even though they carry data.
        var link = CpioArchiveBuilder()
        link.add("l", mode: 0o120777, data: Array("target".utf8), magic: "070702", check: 0)
        link.addTrailer(magic: "070702")
        XCTAssertNil(readCpio(link.bytes).error)

        // A "070701" entry's c_check is ignored.
        var plain = CpioArchiveBuilder()
        plain.add("f", mode: 0o100644, data: [1, 2, 3], check: 7)
        plain.addTrailer()
        XCTAssertNil(readCpio(plain.bytes).error)
    }

    func testErrorsAreSticky() throws {
        var b = CpioArchiveBuilder()
        b.add("a", mode: 0o100644)
        try b.bytes.withUnsafeBytes { raw in
            var reader = CpioReader(raw)
            XCTAssertNotNil(try reader.next())
            for _ in 0..<3 {
                XCTAssertThrowsError(try reader.next()) { XCTAssertEqual($0 as? CpioError, .missingTrailer(offset: raw.count)) }
            }
        }
    }

    func testErrorDescriptionsAreDistinctAndCarryTheOffset() {
        let all: [CpioError] = [
            .truncatedHeader(offset: 1), .badMagic(offset: 1), .badHexField(offset: 1), .emptyName(offset: 1),
            .truncatedName(offset: 1), .nameNotTerminated(offset: 1), .truncatedData(offset: 1),
            .checksumMismatch(offset: 1), .missingTrailer(offset: 1),
        ]
        XCTAssertEqual(Set(all.map(\.description)).count, all.count)
        XCTAssertEqual(CpioError.badMagic(offset: 624).description, "cpio: no newc magic at 624")
    }

    // MARK: robustness

    /// Every prefix of an archive must give an error, or (once the trailer is
    /// complete) the full listing; the entries seen before an error are always
    /// a prefix of the real ones.
    func testEveryPrefixIsAnErrorOrAValidPrefix() {
        checkAllPrefixes(CpioArchiveBuilder.sample().bytes)
        checkAllPrefixes(CpioArchiveBuilder.sample(magic: "070702").bytes)
    }

    private func checkAllPrefixes(_ archive: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let full = readCpio(archive)
        XCTAssertNil(full.error, file: file, line: line)
        let trailerEnd = archive.withUnsafeBytes { raw in
            var r = CpioReader(raw)
            while (try? r.next()) != nil {}
            return r.offset
        }
        for length in 0...archive.count {
            let (entries, error, inBounds) = readCpio(Array(archive.prefix(length)))
            XCTAssertTrue(inBounds, file: file, line: line)
            XCTAssertEqual(entries, Array(full.entries.prefix(entries.count)), "length \(length)", file: file, line: line)
            if length < trailerEnd {
                XCTAssertNotNil(error, "length \(length) accepted", file: file, line: line)
            } else {
                XCTAssertNil(error, file: file, line: line)
                XCTAssertEqual(entries, full.entries, file: file, line: line)
            }
        }
    }

    /// Seeded random corruption: never a trap, and every entry handed out stays
    /// inside the archive.
    func testRandomCorruptionStaysInBounds() {
        var rng = SplitMix64(seed: 0x6370_696f_6e65_7763)
        let templates = [CpioArchiveBuilder.sample().bytes, CpioArchiveBuilder.sample(magic: "070702").bytes]
        var failed = 0
        for round in 0..<20_000 {
            var archive = templates[round % 2]
            rng.mutate(&archive)
            if rng.below(4) == 0 { archive.removeLast(rng.below(archive.count)) }
            let r = readCpio(archive)
            XCTAssertTrue(r.inBounds, "round \(round)")
            if r.error != nil { failed += 1 }
        }
        XCTAssertGreaterThan(failed, 1000)
        XCTAssertLessThan(failed, 20_000)
    }

    // MARK: a real archive from GNU cpio

    func testGNUCpioArchive() throws {
        guard FormatsHost.has("cpio") else { throw XCTSkip("GNU cpio not installed") }
        let dir = FormatsHost.temporaryDirectory(self)
        let root = dir.appendingPathComponent("root")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try "keel\n".write(to: root.appendingPathComponent("etc/hostname"), atomically: true, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o640], ofItemAtPath: root.appendingPathComponent("etc/hostname").path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("hostname").path, withDestinationPath: "etc/hostname")

        for (format, magic) in [("newc", "070701"), ("crc", "070702")] {
            let out = dir.appendingPathComponent("\(format).cpio").path
            XCTAssertNotNil(FormatsHost.shell("find . | LC_ALL=C sort | cpio -o -H \(format) --quiet > '\(out)'", in: root))
            let archive = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
            XCTAssertEqual(String(decoding: archive.prefix(6), as: UTF8.self), magic)
            XCTAssertEqual(archive.count % 512, 0, "GNU cpio pads to 512-byte blocks")

            let (entries, error, inBounds) = readCpio(archive)
            XCTAssertNil(error, format)
            XCTAssertTrue(inBounds)
            XCTAssertEqual(entries.map(\.path), ["", "etc", "etc/hostname", "hostname"], format)
            XCTAssertEqual(entries[1].mode & 0o170000, 0o040000)
            XCTAssertEqual(entries[2].mode, 0o100640)
            XCTAssertEqual(entries[2].data, Array("keel\n".utf8))
            XCTAssertEqual(entries[3].mode & 0o170000, 0o120000)
            XCTAssertEqual(entries[3].data, Array("etc/hostname".utf8), "a symlink's data is its target")
            XCTAssertEqual(entries[2].uid, UInt32(getuid()))
            let mtime = try fm.attributesOfItem(atPath: root.appendingPathComponent("etc/hostname").path)[.modificationDate] as! Date
            XCTAssertEqual(entries[2].mtime, UInt32(mtime.timeIntervalSince1970))
            checkAllPrefixes(archive)
        }
    }
}
