import XCTest
@testable import KeelCore

final class LoadAverageTests: XCTestCase {
    func testSamplesEveryFiveSecondsAndATick() {
        var load = LoadAverage(ticksPerSecond: 100)
        XCTAssertEqual(load.interval, 501)
        load.tick(500, active: 4)
        XCTAssertEqual(load.sysinfoLoads, [0, 0, 0])
        load.tick(501, active: 4)
        XCTAssertEqual(load.nextSample, 1002)
        // Linux's calc_load() from 0 with 4 runnable: (4 * 2048 * (2048 - 1884) + 2047) / 2048 = 656.
        XCTAssertEqual(load.averages.0, 656)
        XCTAssertEqual(load.averages.1, (4 * 2048 * (2048 - 2014) + 2047) / 2048)
        XCTAssertEqual(load.sysinfoLoads[0], 656 << 5)
    }

    /// A steady load converges to itself; an idle system decays to 0.
    func testConvergesAndDecays() {
        var load = LoadAverage(ticksPerSecond: 100)
        var now: UInt64 = 0
        for _ in 0..<200 { now += load.interval; load.tick(now, active: 2) }
        XCTAssertEqual(load.averages.0, 2 * LoadAverage.one)
        for _ in 0..<2000 { now += load.interval; load.tick(now, active: 0) }
        XCTAssertEqual(load.averages.0, 0)
        XCTAssertEqual(load.averages.2, 0)
    }
}
