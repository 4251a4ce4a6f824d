import XCTest
@testable import KeelCore

final class SignalStackTests: XCTestCase {
    let base: UInt64 = 0x7000_0000
    let size: UInt64 = 0x4000

    func stack(autoDisarm: Bool = false) throws -> SignalStack {
        let flags = autoDisarm ? SignalStack.SS_AUTODISARM : 0
        return try SignalStack().replaced(base: base, flags: flags, size: size, at: 0x7fff_0000)
    }

    func testNoStackIsDisabled() {
        let none = SignalStack()
        XCTAssertEqual(none.flags(at: 0x1000), SignalStack.SS_DISABLE)
        XCTAssertFalse(none.contains(0x1000))
        XCTAssertEqual(none.frameTop(sp: 0x10000, onStack: true).top, 0x10000 - 128)
    }

    /// Linux: on_sig_stack() counts the top (sp == base + size) and not the base.
    func testContainsIsExclusiveOfTheBaseInclusiveOfTheTop() throws {
        let s = try stack()
        XCTAssertFalse(s.contains(base))
        XCTAssertTrue(s.contains(base + 1))
        XCTAssertTrue(s.contains(base + size))
        XCTAssertFalse(s.contains(base + size + 1))
        XCTAssertEqual(s.flags(at: base + 8), SignalStack.SS_ONSTACK)
        XCTAssertEqual(s.flags(at: 0x1000), 0)
    }

    func testReplacedChecksLikeDoSigaltstack() throws {
        let s = try stack()
        // Running on it: EPERM.
        XCTAssertThrowsError(try s.replaced(base: 0, flags: SignalStack.SS_DISABLE, size: 0, at: base + 16)) {
            XCTAssertEqual($0 as? Errno, .EPERM)
        }
        XCTAssertThrowsError(try s.replaced(base: base, flags: 4, size: size, at: 0x1000)) {
            XCTAssertEqual($0 as? Errno, .EINVAL)
        }
        XCTAssertThrowsError(try s.replaced(base: base, flags: 0, size: SignalStack.minimumSize - 1, at: 0x1000)) {
            XCTAssertEqual($0 as? Errno, .ENOMEM)
        }
        // SS_ONSTACK is accepted as 0; SS_DISABLE ignores address and size.
        XCTAssertEqual(try s.replaced(base: 5, flags: SignalStack.SS_ONSTACK, size: 2048, at: 0x1000).base, 5)
        XCTAssertEqual(try s.replaced(base: 5, flags: SignalStack.SS_DISABLE, size: 1, at: 0x1000), SignalStack())
    }

    func testFramesGoToTheTopOnlyWhenAskedAndNotAlreadyThere() throws {
        let s = try stack()
        let user: UInt64 = 0x7fff_ff00
        XCTAssertEqual(s.frameTop(sp: user, onStack: false).top, user - 128)
        let entering = s.frameTop(sp: user, onStack: true)
        XCTAssertEqual(entering.top, base + size)
        XCTAssertTrue(entering.entering)
        // A nested signal on the stack stacks below the interrupted frame.
        let nested = s.frameTop(sp: base + 0x3000, onStack: true)
        XCTAssertEqual(nested.top, base + 0x3000 - 128)
        XCTAssertFalse(nested.entering)
        // Overflowing it is refused (the task then dies of SIGSEGV).
        XCTAssertTrue(s.frameFits(base + 0x100, sp: user, entering: true))
        XCTAssertFalse(s.frameFits(base - 0x100, sp: user, entering: true))
        XCTAssertFalse(s.frameFits(base - 0x100, sp: base + 0x200, entering: false))
        XCTAssertTrue(s.frameFits(0x1000, sp: user, entering: false))
    }

    /// SS_AUTODISARM: the thread never counts as on the stack, so it can be replaced while in use.
    func testAutoDisarm() throws {
        let s = try stack(autoDisarm: true)
        XCTAssertFalse(s.contains(base + 16))
        XCTAssertEqual(s.flags(at: base + 16), SignalStack.SS_AUTODISARM)
        XCTAssertEqual(s.frameTop(sp: base + 0x1000, onStack: true).top, base + size)
        XCTAssertNoThrow(try s.replaced(base: 0, flags: SignalStack.SS_DISABLE, size: 0, at: base + 16))
    }
}
