import XCTest
@testable import KeelCore

/// The kernel's integer-only hash table against Swift's Dictionary as the model.
final class HashMapTests: XCTestCase {
    func testBasicOperations() {
        var map = HashMap<Int32, String>()
        XCTAssertTrue(map.isEmpty)
        XCTAssertNil(map[1])
        XCTAssertNil(map.removeValue(forKey: 1), "removing from an empty table")
        map[1] = "init"
        map[2] = "kthreadd"
        XCTAssertEqual(map.updateValue("systemd", forKey: 1), "init")
        XCTAssertEqual(map.count, 2)
        XCTAssertEqual(map[1], "systemd")
        map[2] = nil
        XCTAssertNil(map[2])
        XCTAssertEqual(map.count, 1)
        XCTAssertEqual(map.values, ["systemd"])
        map.removeAll()
        XCTAssertTrue(map.isEmpty)
        XCTAssertNil(map[1])
    }

    /// A key type whose hashes all collide, so every entry shares one probe run
    /// and removal must shift entries back across it.
    struct Colliding: Hashable {
        let value: Int
        func hash(into hasher: inout Hasher) { hasher.combine(0) }
    }

    func testRemovalInsideOneLongProbeRun() {
        var map = HashMap<Colliding, Int>()
        for i in 0..<40 { map[Colliding(value: i)] = i }
        for i in stride(from: 0, to: 40, by: 3) { XCTAssertEqual(map.removeValue(forKey: Colliding(value: i)), i) }
        for i in 0..<40 {
            XCTAssertEqual(map[Colliding(value: i)], i % 3 == 0 ? nil : i, "key \(i)")
        }
        XCTAssertEqual(map.count, 40 - 14)
    }

    func testRandomOperationsMatchDictionary() {
        var rng = SystemRandomNumberGenerator()
        var map = HashMap<UInt64, Int>()
        var model: [UInt64: Int] = [:]
        for step in 0..<20_000 {
            let key = UInt64.random(in: 0..<600, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0, 1:
                XCTAssertEqual(map.updateValue(step, forKey: key), model.updateValue(step, forKey: key))
            default:
                XCTAssertEqual(map.removeValue(forKey: key), model.removeValue(forKey: key))
            }
            XCTAssertEqual(map.count, model.count)
        }
        for key in 0..<UInt64(600) { XCTAssertEqual(map[key], model[key]) }
        XCTAssertEqual(map.values.sorted(), model.values.sorted())
    }
}
