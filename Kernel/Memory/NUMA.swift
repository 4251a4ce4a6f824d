// Keel's view of the NUMA machine at run time: the topology found at boot
// (ACPI SRAT and SLIT, or one node), which node each CPU and each frame
// belongs to, and the per-node allocation counters that /proc/vmstat and
// /sys/devices/system/node/nodeN/numastat show.
// Linux: arch/x86/mm/numa.c (numa_init, cpu_to_node), mm/vmstat.c (the
// NUMA_HIT... node_stat items), include/linux/topology.h (numa_node_id)

import Synchronization

enum NUMA {
    /// Set once at boot by `install`, before the page allocator exists; read
    /// without a lock ever after (it never changes: Keel has no hotplug).
    nonisolated(unsafe) private(set) static var topology = NUMATopology.single(memory: [], apicIDs: [])
    /// Each CPU's node (SMP.maxCPUs of them), filled as the CPUs come up.
    /// Inline, not an array: every page allocation reads it, and an array
    /// would cost a reference count on that path. Linux: x86_cpu_to_node_map
    nonisolated(unsafe) private static var cpuNode = InlineArray<64, Int>(repeating: 0)
    /// `topology.nodeCount`, kept apart for the same reason: every page
    /// allocation counts its numa_* event with it. Written once by `install`.
    nonisolated(unsafe) private(set) static var nodeCount = 1

    /// The topology MemorySetup found. Called once, on the boot CPU, before
    /// any other CPU runs.
    static func install(_ found: NUMATopology) {
        precondition(cpuNode.count == SMP.maxCPUs, "a node slot per possible CPU")
        topology = found
        nodeCount = found.nodeCount
    }

    /// CPU `cpu` (with local APIC id `apicID`) is coming up: records its node.
    /// Linux: numa_set_node() from init_cpu_to_node()
    static func setNode(ofCPU cpu: Int, apicID: UInt32) {
        cpuNode[cpu] = topology.node(ofAPIC: apicID)
    }

    /// Linux: node_online_map
    static var online: NodeMask { topology.online }

    /// Linux: cpu_to_node()
    static func node(ofCPU cpu: Int) -> Int { cpuNode[cpu] }
    /// Set once CPU numbers can be read (PerCPU installed on the boot CPU);
    /// before, every allocation is the boot CPU's, node 0's.
    nonisolated(unsafe) static var cpuNumbersReady = false
    /// The node of the CPU running this code. Linux: numa_node_id()
    static var localNode: Int { cpuNumbersReady ? cpuNode[PerCPU.cpu] : 0 }
    /// The online CPUs of `node`. Linux: cpumask_of_node()
    static func cpus(of node: Int) -> CPUMask {
        var mask: CPUMask = []
        for cpu in 0..<SMP.maxCPUs where SMP.online.contains(cpu: cpu) && cpuNode[cpu] == node { mask.insert(.cpu(cpu)) }
        return mask
    }
    /// Linux: node_distance()
    static func distance(_ from: Int, _ to: Int) -> Int { topology.distance(from, to) }

    /// The node whose memory holds `frame` (its node's mem_map describes
    /// it); node 0 for a frame outside every node (whose free is refused
    /// there). Linux: page_to_nid()
    static func nodeOf(frame: PhysAddr) -> Int {
        let pfn = frame.pfn
        for n in 0..<PageAllocator.nodeCount where PageAllocator.node(n).pointee.memMap.contains(pfn: pfn) { return n }
        return 0
    }

    /// Node `node`'s RAM, as the topology gives it (clipped to usable RAM).
    /// Linux: the memblock regions with nid `node`
    static func nodeMemory(_ node: Int) -> [PhysRange] { node < nodeCount ? topology.nodes[node].memory : [] }

    /// Allocation in the local node, falling back nearest first.
    static var local: NodeChoice { NodeChoice(preferred: localNode) }

    // MARK: - allocation counters

    /// Each CPU's row of counters, `NUMAStatItem.allCases.count` per node;
    /// only that CPU adds to its row (the kernel is not preemptible and
    /// interrupt handlers never allocate pages), readers sum the rows: a
    /// snapshot. Nil until `enableStats`. Linux: the per-CPU vm_numa_event
    nonisolated(unsafe) private static var rows: UnsafeMutablePointer<UInt64>? = nil

    /// Allocates the counter rows (after the topology is installed).
    static func enableStats() {
        let count = SMP.maxCPUs * nodeCount * NUMAStatItem.allCases.count
        let storage = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
        storage.initialize(repeating: 0, count: count)
        rows = storage
    }

    private static func add(_ item: NUMAStatItem, node: Int) {
        guard let rows else { return }
        rows[(PerCPU.cpu * nodeCount + node) * NUMAStatItem.allCases.count + item.rawValue] &+= 1
    }

    /// A page of node `node` went to an allocation that wanted `choice`.
    /// Linux: zone_statistics(), and NUMA_INTERLEAVE_HIT in alloc_pages_interleave()
    static func countAllocation(on node: Int, _ choice: NodeChoice) {
        if node == choice.preferred {
            add(.numaHit, node: node)
            if choice.interleaved { add(.numaInterleave, node: node) }
        } else {
            add(.numaMiss, node: node)
            if choice.preferred < nodeCount { add(.numaForeign, node: choice.preferred) }
        }
        add(node == localNode ? .numaLocal : .numaOther, node: node)
    }

    /// Node `node`'s count of `item`, summed over the CPUs. Linux: sum_zone_numa_event_state()
    static func stat(_ item: NUMAStatItem, node: Int) -> UInt64 {
        guard let rows, node < nodeCount else { return 0 }
        var sum: UInt64 = 0
        for cpu in 0..<SMP.maxCPUs { sum &+= rows[(cpu * nodeCount + node) * NUMAStatItem.allCases.count + item.rawValue] }
        return sum
    }

    /// Every node's count of `item`, for /proc/vmstat. Linux: global_numa_event_state()
    static func stat(_ item: NUMAStatItem) -> UInt64 {
        var sum: UInt64 = 0
        for node in 0..<nodeCount { sum &+= stat(item, node: node) }
        return sum
    }
}

/// What the allocator counts per node, in /proc/vmstat's and numastat's
/// order. Linux: enum numa_stat_item
enum NUMAStatItem: Int, CaseIterable {
    /// Allocated on the node the allocation wanted. Linux: NUMA_HIT
    case numaHit
    /// Allocated here though another node was wanted. Linux: NUMA_MISS
    case numaMiss
    /// Wanted here, allocated elsewhere. Linux: NUMA_FOREIGN
    case numaForeign
    /// An interleaving policy's page that landed where it aimed. Linux: NUMA_INTERLEAVE_HIT
    case numaInterleave
    /// Allocated on the node of the CPU that asked. Linux: NUMA_LOCAL
    case numaLocal
    /// Allocated here for a CPU of another node. Linux: NUMA_OTHER
    case numaOther

    /// Linux: vmstat_text[]
    var name: String {
        switch self {
        case .numaHit: "numa_hit"
        case .numaMiss: "numa_miss"
        case .numaForeign: "numa_foreign"
        case .numaInterleave: "numa_interleave"
        case .numaLocal: "numa_local"
        case .numaOther: "numa_other"
        }
    }
}
