// /sys/block/<disk>/stat as Linux prints it (Kernel/Core/Block/BlockDeviceStatistics.swift).
import XCTest
@testable import KeelCore

final class BlockStatTests: XCTestCase {
    func testSeventeenFieldsEightColumnsEach() {
        var stats = BlockDeviceStatistics()
        stats.readRequests = 1234
        stats.sectorsRead = 98_765
        stats.writeRequests = 56
        stats.sectorsWritten = 123_456_789        // wider than 8 columns: printed whole
        stats.inFlight = 2
        stats.flushRequests = 7
        let line = stats.statLine
        XCTAssertTrue(line.hasSuffix("\n"))
        let fields = line.split(separator: " ").map { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(fields, [1234, 0, 98_765, 0, 56, 0, 123_456_789, 0, 2, 0, 0, 0, 0, 0, 0, 7, 0])
        XCTAssertTrue(line.hasPrefix("    1234        0    98765        0       56"), line)
    }
}
