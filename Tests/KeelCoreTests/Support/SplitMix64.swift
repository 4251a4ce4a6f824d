// The one deterministic generator of the randomized tests: SplitMix64 (Steele,
// Lea, Flood 2014). Seeded, so a failing sequence replays exactly.

struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }
    init(state: UInt64) { self.state = state }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform enough in 0..<n (the modulo bias does not matter for tests).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }
    /// Uniform in `range`.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    /// True with probability percent/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}
