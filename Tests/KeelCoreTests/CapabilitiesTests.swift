import XCTest
@testable import KeelCore

final class CapabilitiesTests: XCTestCase {
    func testRootHasEveryCapabilityAndNoInheritable() {
        XCTAssertEqual(CapabilitySets.root.effective, 0x1ff_ffff_ffff)
        XCTAssertEqual(CapabilitySets.root.permitted, CapabilitySets.full)
        XCTAssertEqual(CapabilitySets.root.inheritable, 0)
    }

    /// Linux's cap_capset(): permitted only shrinks, effective within permitted.
    func testCapsetMayOnlyLower() throws {
        let none = CapabilitySets(effective: 0, permitted: 0, inheritable: 0)
        let dropped = try CapabilitySets.root.replaced(by: none)
        XCTAssertEqual(dropped, none)
        XCTAssertThrowsError(try dropped.replaced(by: CapabilitySets(effective: 0, permitted: 1, inheritable: 0))) {
            XCTAssertEqual($0 as? Errno, .EPERM)
        }
        XCTAssertThrowsError(try CapabilitySets.root.replaced(by: CapabilitySets(effective: 3, permitted: 1, inheritable: 0)))
        XCTAssertThrowsError(try CapabilitySets.root.replaced(by: CapabilitySets(effective: 0, permitted: 1 << 41, inheritable: 0)))
        // Inheritable: within permitted, or anything with CAP_SETPCAP effective.
        let some = CapabilitySets(effective: 0, permitted: 0b110, inheritable: 0)
        XCTAssertNoThrow(try some.replaced(by: CapabilitySets(effective: 0, permitted: 0b110, inheritable: 0b100)))
        XCTAssertThrowsError(try some.replaced(by: CapabilitySets(effective: 0, permitted: 0b110, inheritable: 0b1)))
        XCTAssertNoThrow(try CapabilitySets.root.replaced(by: CapabilitySets(effective: 0, permitted: 0, inheritable: 1 << 40)))
    }

    func testExecGivesRootItsCapabilitiesBack() {
        let dropped = CapabilitySets(effective: 0, permitted: 0, inheritable: 0b1)
        XCTAssertEqual(dropped.afterExec, CapabilitySets(effective: CapabilitySets.full, permitted: CapabilitySets.full,
                                                         inheritable: 0b1))
    }
}
