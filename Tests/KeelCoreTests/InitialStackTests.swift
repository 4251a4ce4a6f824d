import XCTest
@testable import KeelCore

/// A whole stack image made with InitialStackLayout the way Kernel/Process/Exec.swift
/// streams it: argc, pointers while the strings are placed, auxv, random, platform.
struct StackImage {
    let stackPointer: UInt64
    var bytes: [UInt8]

    init?(argv: [String], envp: [String], path: String, auxiliary: [(AuxKey, UInt64)],
          random: (UInt64, UInt64), top: UInt64, limit: Int) {
        let stringBytes = (argv + envp).reduce(0) { $0 + $1.utf8.count + 1 }
        guard let layout = InitialStackLayout(argumentCount: argv.count, environmentCount: envp.count,
                                              stringBytes: stringBytes, executablePathBytes: path.utf8.count + 1,
                                              auxiliaryPairs: auxiliary.count, top: top, limit: limit) else { return nil }
        stackPointer = layout.stackPointer
        bytes = [UInt8](repeating: 0, count: Int(top - layout.stackPointer))
        store(UInt64(argv.count), at: layout.stackPointer)
        var string = layout.strings
        for (i, s) in (argv + envp).enumerated() {
            let slot = i < argv.count ? layout.argumentPointers + 8 * UInt64(i)
                                      : layout.environmentPointers + 8 * UInt64(i - argv.count)
            store(string, at: slot)
            place(s, at: string)
            string += UInt64(s.utf8.count + 1)
        }
        XCTAssertEqual(string, layout.executablePath, "strings end where the path begins")
        place(path, at: layout.executablePath)
        for (i, word) in layout.auxiliaryWords(auxiliary).enumerated() { store(word, at: layout.auxiliaryVector + 8 * UInt64(i)) }
        store(random.0, at: layout.random)
        store(random.1, at: layout.random + 8)
        place(InitialStackLayout.platformString, at: layout.platform)
    }

    mutating func store(_ value: UInt64, at address: UInt64) {
        for b in 0..<8 { bytes[Int(address - stackPointer) + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(b))) }
    }

    mutating func place(_ s: String, at address: UInt64) {
        for (i, byte) in s.utf8.enumerated() { bytes[Int(address - stackPointer) + i] = byte }
    }
}

final class InitialStackTests: XCTestCase {
    let top: UInt64 = 0x7f00_0000_0000

    func word(_ s: StackImage, _ address: UInt64) -> UInt64 {
        let o = Int(address - s.stackPointer)
        return (0..<8).reduce(0) { $0 | UInt64(s.bytes[o + $1]) << (8 * UInt64($1)) }
    }

    func string(_ s: StackImage, _ address: UInt64) -> String {
        var o = Int(address - s.stackPointer), out: [UInt8] = []
        while s.bytes[o] != 0 { out.append(s.bytes[o]); o += 1 }
        return String(decoding: out, as: UTF8.self)
    }

    func build(_ argv: [String], _ envp: [String]) -> StackImage {
        StackImage(argv: argv, envp: envp, path: "/bin/prog", auxiliary: [(.pagesz, 4096), (.entry, 0x401000)],
                   random: (0x1122334455667788, 0x99aabbccddeeff00), top: top, limit: 1 << 20)!
    }

    func testLinuxLayout() {
        let s = build(["/bin/prog", "alpha", "beta"], ["HOME=/", "TERM=linux"])
        XCTAssertEqual(s.stackPointer % 16, 0)
        XCTAssertEqual(word(s, s.stackPointer), 3, "argc")
        let argv = (0..<3).map { word(s, s.stackPointer + 8 + 8 * UInt64($0)) }
        XCTAssertEqual(argv.map { string(s, $0) }, ["/bin/prog", "alpha", "beta"])
        XCTAssertEqual(word(s, s.stackPointer + 32), 0, "argv[argc] == NULL")
        let envp = (0..<2).map { word(s, s.stackPointer + 40 + 8 * UInt64($0)) }
        XCTAssertEqual(envp.map { string(s, $0) }, ["HOME=/", "TERM=linux"])
        XCTAssertEqual(word(s, s.stackPointer + 56), 0)
        // Strings back to back: argv lowest, then envp, then the executable path.
        XCTAssertEqual(argv[1], argv[0] + 10)
        XCTAssertEqual(envp[0], argv[2] + 5)
        // auxv follows envp's NULL.
        var aux: [UInt64: UInt64] = [:]
        var a = s.stackPointer + 64
        var order: [UInt64] = []
        while true {
            let key = word(s, a), value = word(s, a + 8)
            order.append(key)
            aux[key] = value
            a += 16
            if key == 0 { break }
        }
        XCTAssertEqual(order, [6, 9, 25, 31, 15, 0])
        XCTAssertEqual(aux[6], 4096)
        XCTAssertEqual(string(s, aux[31]!), "/bin/prog")
        XCTAssertEqual(string(s, aux[15]!), "x86_64")
        XCTAssertEqual(word(s, aux[25]!), 0x1122334455667788)
        XCTAssertEqual(word(s, aux[25]! + 8), 0x99aabbccddeeff00)
        XCTAssertGreaterThan(aux[25]!, a, "AT_RANDOM lies above the auxv")
        XCTAssertEqual(aux[31]! + UInt64("/bin/prog".utf8.count) + 1, top - 8, "execfn ends 8 bytes below the top")
    }

    func testTooLargeIsRefused() {
        let big = String(repeating: "x", count: 5000)
        XCTAssertNil(StackImage(argv: [big], envp: [], path: "/p", auxiliary: [], random: (0, 0), top: top, limit: 4096))
        // Hostile sizes are refused without overflowing.
        for (argc, bytes) in [(Int.max, 0), (0, Int.max), (-1, 0), (0, -5), (1 << 20, 1 << 20)] {
            XCTAssertNil(InitialStackLayout(argumentCount: argc, environmentCount: 0, stringBytes: bytes,
                                            executablePathBytes: 3, auxiliaryPairs: 15, top: top, limit: 2 << 20))
        }
        // Many empty strings: each costs its NUL and an 8-byte pointer.
        let many = InitialStackLayout(argumentCount: 200_000, environmentCount: 0, stringBytes: 200_000,
                                      executablePathBytes: 3, auxiliaryPairs: 15, top: top, limit: 2 << 20)
        XCTAssertNotNil(many)
        XCTAssertNil(InitialStackLayout(argumentCount: 240_000, environmentCount: 0, stringBytes: 240_000,
                                        executablePathBytes: 3, auxiliaryPairs: 15, top: top, limit: 2 << 20))
    }

    func testEmptyArgv() {
        let s = build([], [])
        XCTAssertEqual(word(s, s.stackPointer), 0)
        XCTAssertEqual(word(s, s.stackPointer + 8), 0)
        XCTAssertEqual(word(s, s.stackPointer + 16), 0)
    }
}
