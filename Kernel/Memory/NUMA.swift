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
    /// Each CPU's node, filled as the CPUs come up. Linux: x86_cpu_to_node_map
    nonisolated(unsafe) private static var cpuNode = [Int](repeating: 0, count: SMP.maxCPUs)

    /// The topology MemorySetup found. Called once, on the boot CPU, before
    /// any other CPU runs.
    static func install(_ found: NUMATopology) {
        topology = found
    }

    /// CPU `cpu` (with local APIC id `apicID`) is coming up: records its node.
    /// Linux: numa_set_node() from init_cpu_to_node()
    static func setNode(ofCPU cpu: Int, apicID: UInt32) {
        cpuNode[cpu] = topology.node(ofAPIC: apicID)
    }

    static var nodeCount: Int { topology.nodeCount }
    /// Linux: node_online_map
    static var online: NodeMask { topology.online }

    /// Linux: cpu_to_node()
    static func node(ofCPU cpu: Int) -> Int { cpuNode[cpu] }
    /// The node of the CPU running this code. Linux: numa_node_id()
    static var localNode: Int { cpuNode[PerCPU.cpu] }
    /// The online CPUs of `node`. Linux: cpumask_of_node()
    static func cpus(of node: Int) -> CPUMask {
        var mask: CPUMask = []
        for cpu in 0..<SMP.maxCPUs where SMP.online.contains(cpu: cpu) && cpuNode[cpu] == node { mask.insert(.cpu(cpu)) }
        return mask
    }
    /// Linux: node_distance()
    static func distance(_ from: Int, _ to: Int) -> Int { topology.distance(from, to) }

    /// Allocation in the local node, falling back nearest first.
    static var local: NodeChoice { NodeChoice(preferred: localNode) }
}
