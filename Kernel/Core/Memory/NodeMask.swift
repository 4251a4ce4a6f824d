// A set of NUMA node numbers, as the memory-policy system calls and the
// allocator's fallback pass them around. Keel supports up to 64 nodes, so one
// machine word holds the set.
// Linux: nodemask_t (include/linux/nodemask.h) with MAX_NUMNODES = 1 << NODES_SHIFT

/// Node numbers 0..<64. Linux: nodemask_t
public struct NodeMask: Equatable, Hashable, Sendable {
    /// How many node numbers the set can hold. Linux: MAX_NUMNODES
    public static let capacity = 64

    /// Bit n set: node n is in the set.
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Linux: NODE_MASK_NONE
    public static let none = NodeMask(rawValue: 0)

    /// The set holding only `node`. Linux: nodemask_of_node()
    public static func node(_ node: Int) -> NodeMask {
        precondition(node >= 0 && node < capacity, "node \(node) out of range")
        return NodeMask(rawValue: 1 << UInt64(node))
    }

    /// Nodes 0..<count. Linux: nodes_setall() over nr_node_ids
    public static func first(_ count: Int) -> NodeMask {
        precondition(count >= 0 && count <= capacity, "node count \(count) out of range")
        return NodeMask(rawValue: count == capacity ? .max : (1 << UInt64(count)) - 1)
    }

    public var isEmpty: Bool { rawValue == 0 }
    /// Linux: nodes_weight()
    public var count: Int { rawValue.nonzeroBitCount }
    /// Linux: node_isset()
    public func contains(_ node: Int) -> Bool { node >= 0 && node < Self.capacity && rawValue >> UInt64(node) & 1 != 0 }
    /// Linux: node_set()
    public mutating func insert(_ node: Int) { self = union(.node(node)) }
    /// Linux: node_clear()
    public mutating func remove(_ node: Int) { rawValue &= ~NodeMask.node(node).rawValue }
    /// Linux: nodes_or()
    public func union(_ other: NodeMask) -> NodeMask { NodeMask(rawValue: rawValue | other.rawValue) }
    /// Linux: nodes_and()
    public func intersection(_ other: NodeMask) -> NodeMask { NodeMask(rawValue: rawValue & other.rawValue) }
    /// Linux: nodes_subset()
    public func isSubset(of other: NodeMask) -> Bool { rawValue & ~other.rawValue == 0 }
    /// The lowest node in the set. Linux: first_node()
    public var first: Int? { isEmpty ? nil : rawValue.trailingZeroBitCount }
    /// The lowest node above `node`, wrapping round to the first. Linux: next_node_in()
    public func next(after node: Int) -> Int? {
        guard !isEmpty else { return nil }
        let above = node + 1 >= Self.capacity ? 0 : rawValue & ~((UInt64(1) << UInt64(node + 1)) - 1)
        return above != 0 ? above.trailingZeroBitCount : first
    }
    /// The nodes in increasing order. Linux: for_each_node_mask()
    public var nodes: [Int] { (0..<Self.capacity).filter { contains($0) } }

    /// The list form Linux prints in sysfs and /proc (`0-1,3`). Linux: "%*pbl"
    public var listText: String {
        var out = ""
        var node = 0
        while node < Self.capacity {
            guard contains(node) else { node += 1; continue }
            var last = node
            while last + 1 < Self.capacity && contains(last + 1) { last += 1 }
            if !out.isEmpty { out += "," }
            out += last == node ? "\(node)" : "\(node)-\(last)"
            node = last + 1
        }
        return out
    }
}

/// Where a page may come from: the node tried first and, for a strict policy,
/// the only nodes allowed. Made by the memory policy of the faulting VMA or
/// task (MemPolicy), or `local` for the node of the CPU that asks.
/// Linux: the preferred_nid and nodemask arguments of __alloc_pages()
public struct NodeChoice: Equatable {
    /// Tried first; the others follow nearest first (NUMATopology.fallbackOrder).
    public var preferred: Int
    /// Nil: any node may serve. Otherwise only these (MPOL_BIND).
    public var allowed: NodeMask?
    /// The policy interleaves: a page that lands on `preferred` counts as
    /// numa_interleave. Linux: the MPOL_INTERLEAVE check in zone_statistics()
    public var interleaved: Bool

    public init(preferred: Int, allowed: NodeMask? = nil, interleaved: Bool = false) {
        self.preferred = preferred; self.allowed = allowed; self.interleaved = interleaved
    }
}
