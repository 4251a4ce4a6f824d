import XCTest
@testable import KeelCore

/// Assembles a Multiboot2 boot-information block byte by byte, laid out as GRUB
/// lays it out: an 8-byte header, tags each padded to 8 bytes, an end tag.
struct MultibootBlockBuilder {
    private(set) var bytes: [UInt8] = Array(repeating: 0, count: 8)

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func cString(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    /// Appends a tag and returns its offset; `size` overrides the size field to forge bad input.
    @discardableResult
    mutating func tag(_ type: UInt32, _ body: [UInt8], size: UInt32? = nil) -> Int {
        let offset = bytes.count
        bytes += Self.le32(type) + Self.le32(size ?? UInt32(8 + body.count)) + body
        while bytes.count % 8 != 0 { bytes.append(0) }
        return offset
    }

    @discardableResult
    mutating func commandLine(_ s: String) -> Int { tag(1, Self.cString(s)) }
    @discardableResult
    mutating func bootLoaderName(_ s: String) -> Int { tag(2, Self.cString(s)) }
    @discardableResult
    mutating func module(start: UInt32, end: UInt32, _ s: String) -> Int {
        tag(3, Self.le32(start) + Self.le32(end) + Self.cString(s))
    }
    @discardableResult
    mutating func basicMemory(lowerKiB: UInt32, upperKiB: UInt32) -> Int {
        tag(4, Self.le32(lowerKiB) + Self.le32(upperKiB))
    }
    /// Entries are (base, length, type); bytes past 24 in each entry are filled with 0xee.
    @discardableResult
    mutating func memoryMap(_ entries: [(UInt64, UInt64, UInt32)], entrySize: UInt32 = 24) -> Int {
        var body = Self.le32(entrySize) + Self.le32(0)
        for (base, length, type) in entries {
            var entry = Self.le64(base) + Self.le64(length) + Self.le32(type) + Self.le32(0)
            entry += Array(repeating: 0xee, count: max(0, Int(entrySize) - 24))
            body += entry.prefix(Int(entrySize))
        }
        return tag(6, body)
    }
    /// A 1024x768x32 RGB framebuffer tag (type 8), which Keel skips.
    @discardableResult
    mutating func framebuffer() -> Int {
        tag(8, Self.le64(0xfd00_0000) + Self.le32(4096) + Self.le32(1024) + Self.le32(768)
            + [32, 1, 0, 0] + [16, 8, 8, 8, 0, 8, 0, 0])
    }

    /// The block with its end tag and total_size filled in.
    func finished(endTag: Bool = true) -> [UInt8] {
        var b = self
        if endTag { b.tag(0, []) }
        b.bytes.replaceSubrange(0..<4, with: Self.le32(UInt32(b.bytes.count)))
        return b.bytes
    }
}


final class MultibootTests: XCTestCase {
    // Computed: PhysAddr is not declared Sendable, so it cannot be a static let.
    static var blockAddress: PhysAddr { PhysAddr(0x0001_0000) }

    /// QEMU's e820 map for `-m 256M`, as GRUB forwards it.
    static let qemu256MiB: [(UInt64, UInt64, UInt32)] = [
        (0x0, 0x9fc00, 1),
        (0x9fc00, 0x400, 2),
        (0xf0000, 0x10000, 2),
        (0x100000, 0xfee0000, 1),
        (0xffe0000, 0x20000, 2),
        (0xfffc0000, 0x40000, 2),
    ]

    static let oldRSDP: [UInt8] = Array("RSD PTR ".utf8) + [0x4e] + Array("BOCHS ".utf8) + [0] + [0x00, 0x00, 0xfe, 0x0f]
    static let newRSDP: [UInt8] = Array("RSD PTR ".utf8) + [0x4e] + Array("BOCHS ".utf8) + [2]
        + [0x00, 0x00, 0xfe, 0x0f] + MultibootBlockBuilder.le32(36) + MultibootBlockBuilder.le64(0x0ffe_1000) + [0x5a, 0, 0, 0]

    func withInfo(_ bytes: [UInt8], _ body: (MultibootInfo) throws -> Void) throws {
        try bytes.withUnsafeBytes { raw in
            let info: MultibootInfo
            do { info = try MultibootInfo(bytes: raw, physicalAddress: Self.blockAddress) }
            catch { XCTFail("unexpected \(error)"); return }
            try body(info)
        }
    }

    func parseError(_ bytes: [UInt8]) -> MultibootError? {
        bytes.withUnsafeBytes { raw -> MultibootError? in
            do throws(MultibootError) {
                _ = try MultibootInfo(bytes: raw, physicalAddress: Self.blockAddress)
                return nil
            } catch { return error }
        }
    }

    func entries(_ tuples: [(UInt64, UInt64, UInt32)]) -> [E820Entry] {
        tuples.map { E820Entry(base: PhysAddr($0.0), length: $0.1, type: E820Type(rawValue: $0.2)) }
    }

    func testFullInfoWithEveryTag() throws {
        var b = MultibootBlockBuilder()
        b.commandLine("init=/bin/sh loglevel=3")
        b.bootLoaderName("GRUB 2.12")
        b.module(start: 0x0020_0000, end: 0x0020_3400, "initramfs")
        b.basicMemory(lowerKiB: 639, upperKiB: 261_120)
        b.framebuffer()
        b.tag(21, MultibootBlockBuilder.le32(0x0010_0000))  // load base address: unknown, skipped
        b.memoryMap(Self.qemu256MiB)
        b.module(start: 0x0030_0000, end: 0x0030_0000, "")
        let oldOffset = b.tag(14, Self.oldRSDP)
        let newOffset = b.tag(15, Self.newRSDP)
        let block = b.finished()

        try withInfo(block) { info in
            XCTAssertEqual(info.block.count, block.count)
            XCTAssertEqual(info.commandLine?.string, "init=/bin/sh loglevel=3")
            XCTAssertEqual(info.bootLoaderName?.string, "GRUB 2.12")
            XCTAssertEqual(info.basicMemory?.lowerKiB, 639)
            XCTAssertEqual(info.basicMemory?.upperKiB, 261_120)

            let modules = Array(info.modules)
            XCTAssertEqual(modules.count, 2)
            XCTAssertEqual(modules[0].start, PhysAddr(0x0020_0000))
            XCTAssertEqual(modules[0].end, PhysAddr(0x0020_3400))
            XCTAssertEqual(modules[0].size, 0x3400)
            XCTAssertEqual(modules[0].string.string, "initramfs")
            XCTAssertEqual(modules[1].size, 0)
            XCTAssertEqual(modules[1].string.bytes.count, 0)

            let map = try XCTUnwrap(info.memoryMap)
            XCTAssertEqual(map.entrySize, 24)
            XCTAssertEqual(map.entryVersion, 0)
            XCTAssertEqual(Array(map), entries(Self.qemu256MiB))

            let old = try XCTUnwrap(info.acpiOldRSDP)
            XCTAssertFalse(old.isNew)
            XCTAssertEqual(old.offset, oldOffset + 8)
            XCTAssertEqual(old.length, 20)
            XCTAssertEqual(Array(old.bytes), Self.oldRSDP)
            XCTAssertEqual(old.physicalAddress, Self.blockAddress + UInt64(oldOffset + 8))

            let new = try XCTUnwrap(info.acpiNewRSDP)
            XCTAssertTrue(new.isNew)
            XCTAssertEqual(new.offset, newOffset + 8)
            XCTAssertEqual(new.length, 36)
            XCTAssertEqual(Array(new.bytes), Self.newRSDP)
            XCTAssertEqual(new.physicalAddress, Self.blockAddress + UInt64(newOffset + 8))
            XCTAssertEqual(info.rsdp?.offset, new.offset, "the ACPI 2.0 RSDP is preferred")
        }
    }

    func testMinimalBlockHasNoOptionalTags() throws {
        let block = MultibootBlockBuilder().finished()
        XCTAssertEqual(block.count, 16)
        try withInfo(block) { info in
            XCTAssertNil(info.commandLine)
            XCTAssertNil(info.bootLoaderName)
            XCTAssertNil(info.basicMemory)
            XCTAssertNil(info.memoryMap)
            XCTAssertNil(info.rsdp)
            XCTAssertEqual(Array(info.modules).count, 0)
        }
    }

    func testOldRSDPAloneIsUsed() throws {
        var b = MultibootBlockBuilder()
        b.tag(14, Self.oldRSDP)
        try withInfo(b.finished()) { info in
            XCTAssertNil(info.acpiNewRSDP)
            XCTAssertEqual(info.rsdp?.isNew, false)
            XCTAssertEqual(info.rsdp.map { Array($0.bytes) }, Self.oldRSDP)
        }
    }

    func testStringStopsAtFirstNulAndRepeatedTagReplacesEarlier() throws {
        var b = MultibootBlockBuilder()
        b.tag(1, Array("first".utf8) + [0] + Array("junk".utf8) + [0])
        b.bootLoaderName("GRUB")
        b.bootLoaderName("Limine")
        try withInfo(b.finished()) { info in
            XCTAssertEqual(info.commandLine?.string, "first")
            XCTAssertEqual(info.bootLoaderName?.string, "Limine")
        }
    }

    func testTagsAfterEndTagAreIgnored() throws {
        var b = MultibootBlockBuilder()
        b.commandLine("quiet")
        b.tag(0, [])
        b.tag(1, [0x41], size: 0xffff)  // garbage past the end tag
        try withInfo(b.finished(endTag: false)) { info in
            XCTAssertEqual(info.commandLine?.string, "quiet")
        }
    }

    func testLargerEntrySizeSkipsExtraBytes() throws {
        var b = MultibootBlockBuilder()
        b.memoryMap(Self.qemu256MiB, entrySize: 32)
        try withInfo(b.finished()) { info in
            let map = try XCTUnwrap(info.memoryMap)
            XCTAssertEqual(map.entrySize, 32)
            XCTAssertEqual(Array(map), entries(Self.qemu256MiB))
        }
    }

    func testQEMU256MiBMapPrintsLikeLinux() throws {
        var b = MultibootBlockBuilder()
        b.memoryMap(Self.qemu256MiB)
        try withInfo(b.finished()) { info in
            let map = try XCTUnwrap(info.memoryMap)
            var out = ""
            map.printBootMemoryMap(to: &out)
            XCTAssertEqual(out, """
                BIOS-provided physical RAM map (from multiboot2):
                BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
                BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved
                BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved
                BIOS-e820: [mem 0x0000000000100000-0x000000000ffdffff] usable
                BIOS-e820: [mem 0x000000000ffe0000-0x000000000fffffff] reserved
                BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved

                """)
            XCTAssertEqual(map.usableBytes, 0x9fc00 + 0xfee0000)
        }
    }

    func testE820TypeNamesAsLinuxPrintsThem() {
        let names = [1, 2, 3, 4, 5, 7, 12, 9, 0].map { E820Type(rawValue: UInt32($0)).e820Name }
        XCTAssertEqual(names, ["usable", "reserved", "ACPI data", "ACPI NVS", "unusable",
                               "persistent (type 7)", "persistent (type 12)", "type 9", "type 0"])
        for raw: UInt32 in [1, 2, 3, 4, 5, 6, 0xffff_ffff] {
            XCTAssertEqual(E820Type(rawValue: raw).rawValue, raw)
        }
        var out = ""
        [E820Entry(base: PhysAddr(0x1_0000_0000), length: 0x4000_0000, type: .acpiNVS)]
            .printE820Table(who: "modified", to: &out)
        XCTAssertEqual(out, "modified: [mem 0x0000000100000000-0x000000013fffffff] ACPI NVS\n")
    }

    func testUsableBytesSaturates() {
        let map = [E820Entry(base: PhysAddr(0), length: UInt64.max - 1, type: .usable),
                   E820Entry(base: PhysAddr(0), length: 0x1000, type: .reserved),
                   E820Entry(base: PhysAddr(0), length: 0x1000, type: .usable)]
        XCTAssertEqual(map.usableBytes, UInt64.max)
        XCTAssertEqual(map.prefix(2).usableBytes, UInt64.max - 1)
    }

    // MARK: malformed input

    func testTruncatedBuffers() {
        XCTAssertEqual(parseError([]), .truncatedHeader(available: 0))
        XCTAssertEqual(parseError([16, 0, 0, 0, 0, 0, 0]), .truncatedHeader(available: 7))
        var b = MultibootBlockBuilder()
        b.commandLine("init=/bin/sh")
        let block = b.finished()
        for cut in 8..<block.count {
            XCTAssertEqual(parseError(Array(block.prefix(cut))),
                           .badTotalSize(totalSize: UInt32(block.count), available: cut))
        }
        var tiny = block
        tiny.replaceSubrange(0..<4, with: MultibootBlockBuilder.le32(4))
        XCTAssertEqual(parseError(tiny), .badTotalSize(totalSize: 4, available: block.count))
    }

    func testEveryShorterTotalSizeIsRejectedPrecisely() {
        var b = MultibootBlockBuilder()
        b.commandLine("init=/bin/sh")   // offset 8, size 21, padded to 32
        b.basicMemory(lowerKiB: 639, upperKiB: 1024)  // offset 32, size 16
        let block = b.finished()      // end tag at 48, total 56
        var expected: [Int: MultibootError] = [8: .missingEndTag, 32: .missingEndTag, 48: .missingEndTag]
        for cut in 9..<16 { expected[cut] = .truncatedTagHeader(offset: 8) }
        for cut in 16..<29 { expected[cut] = .tagOverrun(offset: 8, type: 1, size: 21) }
        for cut in 29..<32 { expected[cut] = .missingEndTag }  // tag fits, its padding does not
        for cut in 33..<40 { expected[cut] = .truncatedTagHeader(offset: 32) }
        for cut in 40..<48 { expected[cut] = .tagOverrun(offset: 32, type: 4, size: 16) }
        for cut in 49..<56 { expected[cut] = .truncatedTagHeader(offset: 48) }
        for cut in 8..<block.count {
            var short = block
            short.replaceSubrange(0..<4, with: MultibootBlockBuilder.le32(UInt32(cut)))
            XCTAssertNotNil(expected[cut], "total_size \(cut)")
            XCTAssertEqual(parseError(short), expected[cut], "total_size \(cut)")
        }
    }

    func testTagOverrunningTotalSize() {
        var b = MultibootBlockBuilder()
        b.bootLoaderName("GRUB")
        let offset = b.tag(1, MultibootBlockBuilder.cString("quiet"), size: 4096)
        XCTAssertEqual(parseError(b.finished()), .tagOverrun(offset: offset, type: 1, size: 4096))
    }

    func testTagSmallerThanItsHeaderOrFields() {
        var b = MultibootBlockBuilder()
        let offset = b.tag(21, [], size: 4)  // would loop forever if accepted
        XCTAssertEqual(parseError(b.finished()), .tagTooSmall(offset: offset, type: 21, size: 4))

        var m = MultibootBlockBuilder()
        let meminfo = m.tag(4, MultibootBlockBuilder.le32(639))
        XCTAssertEqual(parseError(m.finished()), .tagTooSmall(offset: meminfo, type: 4, size: 12))

        var r = MultibootBlockBuilder()
        let rsdp = r.tag(15, Self.oldRSDP)  // a 20-byte RSDP in the ACPI 2.0 tag
        XCTAssertEqual(parseError(r.finished()), .tagTooSmall(offset: rsdp, type: 15, size: 28))

        var e = MultibootBlockBuilder()
        let end = e.bytes.count
        e.tag(0, [], size: 0)
        XCTAssertEqual(parseError(e.finished(endTag: false)), .tagTooSmall(offset: end, type: 0, size: 0))
    }

    func testMemoryMapEntrySizeTooSmall() {
        var b = MultibootBlockBuilder()
        b.commandLine("x")
        let offset = b.memoryMap(Self.qemu256MiB, entrySize: 16)
        XCTAssertEqual(parseError(b.finished()), .memoryMapEntryTooSmall(offset: offset, entrySize: 16))

        var zero = MultibootBlockBuilder()
        let zeroOffset = zero.memoryMap([], entrySize: 0)
        XCTAssertEqual(parseError(zero.finished()), .memoryMapEntryTooSmall(offset: zeroOffset, entrySize: 0))
    }

    func testMemoryMapWithPartialEntry() {
        var b = MultibootBlockBuilder()
        let body = MultibootBlockBuilder.le32(24) + MultibootBlockBuilder.le32(0) + Array(repeating: 0, count: 30)
        let offset = b.tag(6, body)
        XCTAssertEqual(parseError(b.finished()), .memoryMapSizeMismatch(offset: offset, size: 46, entrySize: 24))
    }

    func testMissingEndTag() {
        var b = MultibootBlockBuilder()
        b.commandLine("quiet")
        b.memoryMap(Self.qemu256MiB)
        XCTAssertEqual(parseError(b.finished(endTag: false)), .missingEndTag)
        XCTAssertEqual(parseError(MultibootBlockBuilder().finished(endTag: false)), .missingEndTag)
    }

    func testUnterminatedStrings() {
        var b = MultibootBlockBuilder()
        let offset = b.tag(2, Array("GRUB".utf8))
        XCTAssertEqual(parseError(b.finished()), .unterminatedString(offset: offset, type: 2))

        var m = MultibootBlockBuilder()
        let module = m.tag(3, MultibootBlockBuilder.le32(0x1000) + MultibootBlockBuilder.le32(0x2000))
        XCTAssertEqual(parseError(m.finished()), .unterminatedString(offset: module, type: 3))
    }

    func testModuleEndingBeforeItStarts() {
        var b = MultibootBlockBuilder()
        let offset = b.module(start: 0x3000, end: 0x2000, "initramfs")
        XCTAssertEqual(parseError(b.finished()), .badModuleRange(offset: offset, start: 0x3000, end: 0x2000))
    }

    /// Corrupt a valid block at random: the parser must answer with a value or an
    /// error, never trap, and whatever it accepts must be safe to walk.
    func testRandomCorruptionNeverTraps() throws {
        var b = MultibootBlockBuilder()
        b.commandLine("init=/bin/sh -- a b")
        b.bootLoaderName("GRUB 2.12")
        b.module(start: 0x20_0000, end: 0x20_1000, "initramfs")
        b.basicMemory(lowerKiB: 639, upperKiB: 261_120)
        b.memoryMap(Self.qemu256MiB)
        b.tag(14, Self.oldRSDP)
        b.tag(15, Self.newRSDP)
        let block = b.finished()
        var random = SplitMix64(state: 0x6b65_656c)
        var accepted = 0, rejected = 0
        for _ in 0..<4000 {
            var bad = block
            for _ in 0..<(1 + random.below(4)) {
                let i = random.below(bad.count)
                // Small values hit the size and type fields' interesting range.
                bad[i] = random.below(2) == 0 ? UInt8(random.below(48)) : UInt8(truncatingIfNeeded: random.next())
            }
            bad = Array(bad.prefix(bad.count - random.below(2) * random.below(bad.count)))
            if parseError(bad) != nil { rejected += 1; continue }
            accepted += 1
            try withInfo(bad) { info in
                var sink = ""
                info.memoryMap?.printBootMemoryMap(to: &sink)
                _ = info.memoryMap?.usableBytes
                for module in info.modules { XCTAssertLessThanOrEqual(module.start, module.end) }
                _ = info.commandLine?.string
                _ = info.bootLoaderName?.string
                XCTAssertLessThanOrEqual((info.rsdp?.offset ?? 0) + (info.rsdp?.length ?? 0), info.block.count)
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(rejected, 100)
    }
}
