// The lock validator's decisions (Linux: kernel/locking/lockdep.c), without
// the kernel around them: which lock classes have been taken while which others
// were held, and whether a new acquisition could ever deadlock.
//
// A lock class is every lock of one kind: all spinlocks made at one place in
// the code share one class, so a rule learnt from one instance covers all of
// them. The graph has an edge A -> B when some CPU took a lock of class B while
// it held one of class A. Two rules find deadlocks before they happen:
//
//   1. Order. Taking B while holding A is refused (reported) when the graph
//      already has a path B -> ... -> A: some CPU could hold B and wait for A
//      while this one holds A and waits for B (ABBA). The report shows the path.
//   2. Interrupts. A class taken inside a hardware interrupt handler must never
//      be held with interrupts on: an interrupt arriving on that CPU would spin
//      on a lock its own CPU holds. Linux calls it inconsistent {IN-HARDIRQ-W}
//      -> {HARDIRQ-ON-W} usage.
//
// Taking a class that the same CPU already holds is reported too (recursive
// locking). Classes are few (at most `maxClasses`), so each one's successors
// are a 64-bit mask and a path search is a breadth-first walk over masks; the
// graph allocates nothing after it is made, as it runs inside lock acquisition.

/// A lock class's number in the graph, 0..<LockDependencyGraph.maxClasses.
/// Linux: struct lock_class (its index in lock_classes[])
public struct LockClassID: Hashable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
}

/// What the validator found wrong with an acquisition.
public enum LockProblem: Equatable, Sendable {
    /// Taking `next` while holding `held` closes a cycle: `chain` is the path
    /// already in the graph, from `next` to `held` (both included).
    /// Linux: "possible circular locking dependency detected"
    case circularDependency(held: LockClassID, next: LockClassID, chain: [LockClassID])
    /// The class is already held by this CPU. Linux: "possible recursive locking detected"
    case recursiveLocking(LockClassID)
    /// The class is taken in hardware interrupt context and also held with
    /// interrupts on elsewhere. Linux: "inconsistent lock state"
    case interruptUnsafe(LockClassID)
}

/// Linux: the lock_class graph with its locks_after lists, and lock_class->usage_mask
public struct LockDependencyGraph {
    public static let maxClasses = 64

    /// after[a] has bit b when b was taken while a was held.
    private var after = [UInt64](repeating: 0, count: maxClasses)
    /// Classes ever taken in hardware interrupt context. Linux: LOCK_USED_IN_HARDIRQ
    private var usedInInterrupt: UInt64 = 0
    /// Classes ever held with interrupts on. Linux: LOCK_ENABLED_HARDIRQ
    private var heldWithInterruptsOn: UInt64 = 0

    public init() {}

    /// Whether the graph has an edge a -> b.
    public func dependsOn(_ a: LockClassID, _ b: LockClassID) -> Bool {
        after[a.index] & (1 << UInt64(b.index)) != 0
    }

    /// Records an acquisition of `next` while the classes in `held` are held
    /// (by this CPU, in the same interrupt context), in interrupt context or
    /// not, and whether interrupts stay on while it is held. Returns the first
    /// problem; the edges of a refused acquisition are not recorded.
    public mutating func acquire<Held: Sequence>(_ next: LockClassID, holding held: Held,
                                                 inInterrupt: Bool, interruptsOn: Bool) -> LockProblem?
    where Held.Element == LockClassID {
        for h in held where h == next { return .recursiveLocking(next) }
        for h in held where !dependsOn(h, next) {
            if let chain = path(from: next, to: h) {
                return .circularDependency(held: h, next: next, chain: chain)
            }
        }
        let bit: UInt64 = 1 << UInt64(next.index)
        if inInterrupt { usedInInterrupt |= bit }
        if interruptsOn { heldWithInterruptsOn |= bit }
        if usedInInterrupt & heldWithInterruptsOn & bit != 0 { return .interruptUnsafe(next) }
        for h in held { after[h.index] |= bit }
        return nil
    }

    /// The shortest path from `start` to `goal` along recorded edges, both
    /// ends included, or nil. Linux: check_noncircular() → __bfs_forwards()
    public func path(from start: LockClassID, to goal: LockClassID) -> [LockClassID]? {
        if start == goal { return [start] }
        // Breadth first, remembering each class's predecessor (on the stack: this
        // runs inside lock acquisition, where nothing may be allocated); the
        // queue is a mask per level. Only a found path allocates its array.
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.maxClasses) { previous -> [LockClassID]? in
            var seen: UInt64 = 1 << UInt64(start.index)
            var frontier = seen
            while frontier != 0 {
                var next: UInt64 = 0
                var level = frontier
                while level != 0 {
                    let node = level.trailingZeroBitCount
                    level &= level - 1
                    var successors = after[node] & ~seen
                    while successors != 0 {
                        let successor = successors.trailingZeroBitCount
                        successors &= successors - 1
                        previous[successor] = node
                        if successor == goal.index {
                            var chain = [goal]
                            var walk = node
                            while walk != start.index {
                                chain.append(LockClassID(walk))
                                walk = previous[walk]
                            }
                            chain.append(start)
                            return chain.reversed()
                        }
                        seen |= 1 << UInt64(successor)
                        next |= 1 << UInt64(successor)
                    }
                }
                frontier = next
            }
            return nil
        }
    }
}
