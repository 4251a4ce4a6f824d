// The machine's NUMA layout: which physical memory and which CPUs belong to
// each node, and how far apart the nodes are. The firmware describes it in
// two ACPI tables, SRAT (affinity) and SLIT (distances); without them the
// machine is one node holding everything, which is how Keel ran before.
// Linux: struct numa_meminfo (arch/x86/mm/numa.c), node_distance(), node_to_cpumask
//
// Distances follow ACPI's convention: 10 is local, larger is farther; a
// machine without a SLIT gets 10 locally and 20 everywhere else, as Linux
// assumes (LOCAL_DISTANCE, REMOTE_DISTANCE).

public struct NUMATopology: Equatable {
    /// Linux: LOCAL_DISTANCE, REMOTE_DISTANCE
    public static let localDistance = 10
    public static let remoteDistance = 20

    /// One node: its memory ranges (sorted, not overlapping) and the local
    /// APIC ids of its CPUs. Linux: numa_meminfo's blocks, __apicid_to_node[]
    public struct Node: Equatable {
        public var id: Int
        public var memory: [PhysRange]
        public var apicIDs: [UInt32]
        public init(id: Int, memory: [PhysRange], apicIDs: [UInt32]) {
            self.id = id; self.memory = memory; self.apicIDs = apicIDs
        }
    }

    /// Sorted by id; the ids are 0..<nodes.count (Linux numbers nodes densely
    /// in the order their proximity domains appear; see the SRAT parser).
    public private(set) var nodes: [Node]
    /// distances[a * nodes.count + b]: from node a to node b. Linux: numa_distance[]
    public private(set) var distances: [Int]

    /// `distances` row-major, nodes.count squared; nil for the default 10/20.
    public init(nodes: [Node], distances: [Int]? = nil) {
        precondition(!nodes.isEmpty, "a machine has at least one node")
        precondition(nodes.enumerated().allSatisfy { $0.offset == $0.element.id }, "node ids must be 0..<count")
        precondition(nodes.count <= NodeMask.capacity, "more nodes than a NodeMask holds")
        self.nodes = nodes
        let n = nodes.count
        if let distances {
            precondition(distances.count == n * n, "the distance table must be \(n)x\(n)")
            self.distances = distances
        } else {
            self.distances = (0..<n * n).map { $0 / n == $0 % n ? Self.localDistance : Self.remoteDistance }
        }
    }

    /// One node with all of `memory` and every CPU: a machine without SRAT.
    /// Linux: dummy_numa_init()
    public static func single(memory: [PhysRange], apicIDs: [UInt32]) -> NUMATopology {
        NUMATopology(nodes: [Node(id: 0, memory: memory, apicIDs: apicIDs)])
    }

    public var nodeCount: Int { nodes.count }
    /// Linux: node_online_map
    public var online: NodeMask { NodeMask.first(nodes.count) }

    /// Linux: node_distance() (__node_distance())
    public func distance(_ from: Int, _ to: Int) -> Int { distances[from * nodes.count + to] }

    /// The node whose memory holds frame `pfn`, or nil for a hole.
    /// Linux: early_pfn_to_nid()
    public func node(ofPFN pfn: UInt64) -> Int? {
        let address = pfn << pageShift
        for node in nodes where node.memory.contains(where: { $0.start.value <= address && address < $0.end.value }) {
            return node.id
        }
        return nil
    }

    /// The node of the CPU with local APIC id `apicID`; node 0 for a CPU the
    /// SRAT does not name (Linux too falls back to a node with memory).
    /// Linux: apicid_to_node()
    public func node(ofAPIC apicID: UInt32) -> Int {
        nodes.first { $0.apicIDs.contains(apicID) }?.id ?? 0
    }

    /// Every node, nearest first, from `node`'s point of view: the order its
    /// allocations fall back in. Among equally near nodes those numbered above
    /// `node` come first, then the lower ones, each in increasing order, so the
    /// nodes of a ring do not all fall back onto node 0 (Linux 6.1 on QEMU's
    /// four nodes in a line: "Fallback order for Node 1: 1 2 0 3").
    /// (Linux also prefers nodes without CPUs and rotates among nodes that are
    /// still equal after that, node_load[]; neither changes QEMU's orders.)
    /// Linux: build_zonelists() → find_next_best_node() ("Penalize nodes under us")
    public func fallbackOrder(from node: Int) -> [Int] {
        nodes.indices.sorted {
            (distance(node, $0), $0 < node ? 1 : 0, $0) < (distance(node, $1), $1 < node ? 1 : 0, $1)
        }
    }
}
