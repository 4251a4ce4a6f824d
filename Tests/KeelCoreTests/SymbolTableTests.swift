import Foundation
import XCTest
@testable import KeelCore

/// Builds a blob in the documented format, so tests can also write broken ones.
private func makeKsymBlob(_ symbols: [(address: UInt64, size: UInt32, name: String)]) -> [UInt8] {
    var blob = Array("KSYM".utf8)
    func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { blob += $0 } }
    append(UInt32(symbols.count))
    var strings: [UInt8] = []
    for s in symbols {
        append(s.address)
        append(s.size)
        append(UInt32(strings.count))
        strings += Array(s.name.utf8) + [0]
    }
    return blob + strings
}

private func ksymLookup(_ blob: [UInt8], _ address: UInt64) -> SymbolLocation? {
    blob.withUnsafeBytes { SymbolTable(blob: $0).lookup(address) }
}

private func ksymCount(_ blob: [UInt8]) -> Int {
    blob.withUnsafeBytes { SymbolTable(blob: $0).count }
}


final class SymbolTableTests: XCTestCase {
    private let sample = makeKsymBlob([
        (0x1000, 0x40, "start_kernel()"),
        (0x1040, 0x20, "Buddy.allocate(order:)"),
        (0x1080, 0x10, "closure #1 in kmain()"),  // 0x1060..<0x1080 is padding
    ])

    func testExactStartMiddleAndLastByte() {
        XCTAssertEqual(ksymLookup(sample, 0x1000), SymbolLocation(name: "start_kernel()", start: 0x1000, size: 0x40, offset: 0))
        XCTAssertEqual(ksymLookup(sample, 0x1052), SymbolLocation(name: "Buddy.allocate(order:)", start: 0x1040, size: 0x20, offset: 0x12))
        XCTAssertEqual(ksymLookup(sample, 0x103f)?.offset, 0x3f)
        XCTAssertEqual(ksymLookup(sample, 0x1040)?.name, "Buddy.allocate(order:)")
        XCTAssertEqual(ksymLookup(sample, 0x108f)?.name, "closure #1 in kmain()")
        XCTAssertEqual(ksymLookup(sample, 0x1052)?.description, "Buddy.allocate(order:)+0x12/0x20")
    }

    func testSizeBoundsTheMatch() {
        XCTAssertNil(ksymLookup(sample, 0xfff), "before the first symbol")
        XCTAssertNil(ksymLookup(sample, 0x1060), "padding after a sized symbol")
        XCTAssertNil(ksymLookup(sample, 0x107f))
        XCTAssertNil(ksymLookup(sample, 0x1090), "one past the last symbol")
        XCTAssertNil(ksymLookup(sample, .max))
        XCTAssertNil(ksymLookup(makeKsymBlob([(0x10, 0, "label")]), 0x10), "size 0 covers nothing")
    }

    func testMalformedBlobsAreEmpty() {
        XCTAssertEqual(ksymCount(sample), 3)
        var badMagic = sample
        badMagic[0] = UInt8(ascii: "k")
        XCTAssertEqual(ksymCount(badMagic), 0)
        XCTAssertNil(ksymLookup(badMagic, 0x1000))
        XCTAssertEqual(ksymCount([]), 0)
        XCTAssertEqual(ksymCount(Array("KSYM".utf8)), 0, "truncated header")
        var hugeCount = sample
        hugeCount[7] = 0xff
        XCTAssertEqual(ksymCount(hugeCount), 0)
        XCTAssertNil(ksymLookup(hugeCount, 0x1000))
        XCTAssertEqual(ksymCount(Array(sample.prefix(8 + 16 * 3 - 1))), 0, "entries cut short")
        let unsorted = makeKsymBlob([(0x2000, 8, "b"), (0x1000, 8, "a")])
        XCTAssertEqual(ksymCount(unsorted), 0)
        let duplicate = makeKsymBlob([(0x1000, 8, "a"), (0x1000, 8, "b")])
        XCTAssertEqual(ksymCount(duplicate), 0)
        XCTAssertNil(ksymLookup(makeKsymBlob([]), 0))
    }

    func testBadNameOffsetFailsOnlyThatLookup() {
        var blob = makeKsymBlob([(0x1000, 8, "a"), (0x2000, 8, "b")])
        blob[8 + 12] = 0x7f  // first entry's nameOffset points past the blob
        XCTAssertNil(ksymLookup(blob, 0x1004))
        XCTAssertEqual(ksymLookup(blob, 0x2004)?.name, "b")
        var unterminated = makeKsymBlob([(0x1000, 8, "abc")])
        unterminated.removeLast()
        XCTAssertNil(ksymLookup(unterminated, 0x1000))
    }

    func testUnalignedBlob() {
        let shifted = [0xee] + sample
        shifted.withUnsafeBytes { raw in
            let table = SymbolTable(blob: UnsafeRawBufferPointer(rebasing: raw.dropFirst()))
            XCTAssertEqual(table.lookup(0x1044)?.name, "Buddy.allocate(order:)")
        }
    }

    func testRandomizedAgainstLinearScan() {
        var random = SplitMix64(state: 0x6b65_656c)
        var address: UInt64 = 0x7f80_0000_0000
        var symbols: [(address: UInt64, size: UInt32, name: String)] = []
        for i in 0..<500 {
            address += random.next() % 64
            let size = UInt32(random.next() % 48)
            symbols.append((address, size, "f\(i)"))
            address += UInt64(size) + 1
        }
        let blob = makeKsymBlob(symbols)
        for _ in 0..<5000 {
            let probe = symbols[0].address - 8 + random.next() % (address - symbols[0].address + 16)
            let expected = symbols.first { probe >= $0.address && probe - $0.address < UInt64($0.size) }
            XCTAssertEqual(ksymLookup(blob, probe)?.name, expected?.name, "probe \(String(probe, radix: 16))")
        }
    }

    // MARK: tools/gensyms.py on a real object file

    private var repoRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private func run(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    private func haveTool(_ name: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(name) >/dev/null"])) == 0
    }

    func testGensymsOnCompiledObject() throws {
        guard haveTool("cc"), haveTool("python3") else { throw XCTSkip("needs cc and python3") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gensyms-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = """
            static int helper(int x) { return x * 3 + 1; }
            int caller(int x) { return helper(x) + helper(x + 1); }
            void swift_named(void) __asm__("$s4Keel3fooyyF");
            void swift_named(void) { }
            int data_not_code = 5;
            """
        let c = dir.appendingPathComponent("t.c").path
        let object = dir.appendingPathComponent("t.o").path
        let bin = dir.appendingPathComponent("t.bin").path
        let asm = dir.appendingPathComponent("t.S").path
        try source.write(toFile: c, atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(["cc", "-c", "-O0", c, "-o", object]), 0)
        let gensyms = repoRoot.appendingPathComponent("tools/gensyms.py").path
        XCTAssertEqual(try run(["python3", gensyms, object, bin]), 0)
        XCTAssertEqual(try run(["python3", gensyms, object, asm]), 0)

        let blob = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bin)))
        XCTAssertEqual(ksymCount(blob), 3, "helper, caller, foo; not the data symbol")
        let helper = try XCTUnwrap(ksymLookup(blob, 0))
        XCTAssertEqual(helper.name, "helper")
        let caller = try XCTUnwrap(ksymLookup(blob, helper.size + 2))
        XCTAssertEqual(caller.name, "caller")
        XCTAssertEqual(caller.offset, 2)
        let swiftName = try XCTUnwrap(ksymLookup(blob, caller.start + caller.size))
        XCTAssertTrue(["foo()", "$s4Keel3fooyyF"].contains(swiftName.name), swiftName.name)
        if haveTool("swift-demangle") || haveTool("swift") {
            XCTAssertEqual(swiftName.name, "foo()", "demangled and simplified")
        }

        let text = try String(contentsOfFile: asm, encoding: .utf8)
        XCTAssertTrue(text.contains(".section .ksymtab,\"a\""))
        guard haveTool("objcopy") else { return }
        let assembled = dir.appendingPathComponent("ts.o").path
        let section = dir.appendingPathComponent("ts.bin").path
        XCTAssertEqual(try run(["cc", "-c", asm, "-o", assembled]), 0)
        XCTAssertEqual(try run(["objcopy", "-O", "binary", "--only-section=.ksymtab", assembled, section]), 0)
        XCTAssertEqual(try [UInt8](Data(contentsOf: URL(fileURLWithPath: section))), blob, ".S assembles to the .bin bytes")
    }
}
