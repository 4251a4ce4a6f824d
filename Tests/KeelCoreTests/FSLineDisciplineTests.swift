// Canonical-mode console input: echo, Enter (CR or LF), erase, kill, ^D, and
// reads that return at most one line.
import XCTest
@testable import KeelCore

final class FSLineDisciplineTests: XCTestCase {
    var ld = LineDiscipline()
    var echo: [UInt8] = []

    func type(_ s: String) { for b in s.utf8 { ld.receive(b, echo: &echo) } }
    func type(_ bytes: [UInt8]) { for b in bytes { ld.receive(b, echo: &echo) } }
    func read(_ n: Int) -> String? { ld.read(upTo: n).map { String(decoding: $0, as: UTF8.self) } }
    var echoed: String { String(decoding: echo, as: UTF8.self) }

    func testLineIsReadableOnlyAfterEnter() {
        type("ls -l")
        XCTAssertFalse(ld.hasInput)
        XCTAssertNil(read(100))
        XCTAssertEqual(echoed, "ls -l")
        type("\r")
        XCTAssertTrue(ld.hasInput)
        XCTAssertEqual(echoed, "ls -l\n", "CR is turned into NL (ICRNL)")
        XCTAssertEqual(read(100), "ls -l\n")
        XCTAssertNil(read(100))
    }

    func testReadsNeverCrossALine() {
        type("one\ntwo\n")
        XCTAssertEqual(read(2), "on")
        XCTAssertEqual(read(100), "e\n", "the rest of the first line only")
        XCTAssertEqual(read(100), "two\n")
        XCTAssertFalse(ld.hasInput)
    }

    func testEraseAndKill() {
        type("cax")
        type([0x7f])
        type("t")
        type([0x08, 0x08])
        type("at\n")
        XCTAssertEqual(read(100), "cat\n")
        XCTAssertEqual(echoed, "cax\u{8} \u{8}t\u{8} \u{8}\u{8} \u{8}at\n")
        echo = []
        type("junk")
        type([0x15])
        XCTAssertEqual(echoed, "junk" + String(repeating: "\u{8} \u{8}", count: 4))
        type([0x7f])
        XCTAssertEqual(echo.count, 4 + 12, "erase on an empty line does nothing")
        type("ok\n")
        XCTAssertEqual(read(100), "ok\n")
    }

    func testEraseRemovesAWholeUTF8CharacterAndControlEcho() {
        type("é")
        type([0x7f])
        type([0x01])
        XCTAssertEqual(echoed, "é\u{8} \u{8}^A", "one column for é, ^A shown as two")
        type([0x7f])
        XCTAssertEqual(echoed.suffix(6), "\u{8} \u{8}\u{8} \u{8}")
        type("\n")
        XCTAssertEqual(read(100), "\n")
    }

    func testControlDIsEndOfFile() {
        type([0x04])
        XCTAssertEqual(read(100), "", "^D on an empty line: read returns 0")
        type("abc")
        type([0x04])
        XCTAssertEqual(read(100), "abc", "^D after text: the text, no newline")
        XCTAssertNil(read(100))
        XCTAssertEqual(echoed, "abc", "^D is not echoed")
    }

    func testLongLinesAreCapped() {
        type(String(repeating: "x", count: 5000))
        type("\n")
        XCTAssertEqual(read(10_000)?.count, LineDiscipline.maxLineLength + 1, "4095 characters and the newline")
    }

    func testUnreadInputIsBounded() {
        for _ in 0..<10_000 { type("ab\n") }
        XCTAssertLessThanOrEqual(ld.readableCount, LineDiscipline.maxRawBytes)
    }

    func testSignalCharactersFlushAndEcho() {
        type("half a line")
        XCTAssertEqual(ld.receive(0x03, echo: &echo), .interrupt)
        XCTAssertTrue(echoed.hasSuffix("^C"))
        XCTAssertFalse(ld.hasInput)
        type("\n")
        XCTAssertEqual(read(100), "\n", "the half line was thrown away")
        XCTAssertEqual(ld.receive(0x1c, echo: &echo), .quit)
        XCTAssertEqual(ld.receive(0x1a, echo: &echo), .suspend)
        var t = ld.termios
        t.localFlags &= ~Termios.ISIG
        ld.setTermios(t)
        XCTAssertNil(ld.receive(0x03, echo: &echo), "without ISIG ^C is a character")
    }

    func testDisabledControlCharacterIsOrdinary() {
        var t = ld.termios
        t.controlCharacters[Termios.VINTR] = 0          // _POSIX_VDISABLE
        ld.setTermios(t)
        XCTAssertNil(ld.receive(0x03, echo: &echo))
        XCTAssertNil(ld.receive(0x00, echo: &echo), "NUL does not match a disabled slot")
    }

    func testRawModeHandsOverEveryByte() {
        type("ab")
        var t = ld.termios
        t.localFlags &= ~(Termios.ICANON | Termios.ECHO)
        ld.setTermios(t)
        XCTAssertTrue(ld.hasInput, "the line typed so far is readable at once")
        XCTAssertEqual(read(1), "a")
        echo = []
        type([0x7f, 0x04])
        XCTAssertEqual(read(100), "b\u{7f}\u{4}", "erase and EOF are plain bytes")
        XCTAssertEqual(echoed, "", "no echo without ECHO")
        XCTAssertNil(read(100))
        type("\r")
        XCTAssertEqual(read(100), "\n", "ICRNL still applies")
        type("xy")
        t.localFlags |= Termios.ICANON
        ld.setTermios(t)
        XCTAssertEqual(read(100), "xy", "back in canonical mode, waiting bytes are one line")
    }

    func testTermiosRoundTrips() {
        var bytes = [UInt8](repeating: 0, count: Termios.byteSize)
        var t = Termios.console
        t.localFlags = Termios.ISIG
        t.controlCharacters[Termios.VMIN] = 3
        bytes.withUnsafeMutableBytes { t.write(to: $0.baseAddress!) }
        XCTAssertEqual(bytes.withUnsafeBytes { Termios(from: $0.baseAddress!) }, t)
    }
}
