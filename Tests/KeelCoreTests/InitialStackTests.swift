import XCTest
@testable import KeelCore

final class InitialStackTests: XCTestCase {
    let top: UInt64 = 0x7f00_0000_0000

    func word(_ s: InitialStack, _ address: UInt64) -> UInt64 {
        let o = Int(address - s.stackPointer)
        return (0..<8).reduce(0) { $0 | UInt64(s.bytes[o + $1]) << (8 * UInt64($1)) }
    }

    func string(_ s: InitialStack, _ address: UInt64) -> String {
        var o = Int(address - s.stackPointer), out: [UInt8] = []
        while s.bytes[o] != 0 { out.append(s.bytes[o]); o += 1 }
        return String(decoding: out, as: UTF8.self)
    }

    func build(_ argv: [String], _ envp: [String]) -> InitialStack {
        let contents = InitialStackContents(arguments: argv, environment: envp, executablePath: "/bin/prog",
                                            auxiliary: [(.pagesz, 4096), (.entry, 0x401000)],
                                            randomBytes: (0x1122334455667788, 0x99aabbccddeeff00))
        return InitialStack(contents, top: top, limit: 1 << 20)!
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
        let contents = InitialStackContents(arguments: [big], environment: [], executablePath: "/p",
                                            auxiliary: [], randomBytes: (0, 0))
        XCTAssertNil(InitialStack(contents, top: top, limit: 4096))
    }

    func testEmptyArgv() {
        let s = build([], [])
        XCTAssertEqual(word(s, s.stackPointer), 0)
        XCTAssertEqual(word(s, s.stackPointer + 8), 0)
        XCTAssertEqual(word(s, s.stackPointer + 16), 0)
    }
}
