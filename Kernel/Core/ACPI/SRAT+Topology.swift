// From the SRAT (and SLIT) to Keel's NUMATopology, the way Linux's x86 NUMA
// set-up goes: the enabled memory ranges become per-node blocks, trimmed to
// RAM; blocks of one node merge across holes that hold no other node's memory;
// each node then owns the RAM inside its blocks. The machine's RAM comes from
// the boot loader's map (memblock), which is what the kernel will manage: the
// SRAT may describe more (hot-pluggable ranges, holes).

/// The SRAT's memory blocks after clean-up, node-numbered.
/// Linux: struct numa_meminfo after numa_cleanup_meminfo() (arch/x86/mm/numa.c)
public struct NUMAMemInfo: Equatable {
    /// One range of a node. Linux: struct numa_memblk
    public struct Block: Equatable {
        public var node: Int
        public var range: PhysRange
        public init(node: Int, range: PhysRange) { self.node = node; self.range = range }
    }

    /// Two blocks of a node joined over the hole between them, as Linux logs it.
    public struct Merge: Equatable {
        public var node: Int
        public var first: PhysRange
        public var second: PhysRange
        public var result: PhysRange
        public init(node: Int, first: PhysRange, second: PhysRange, result: PhysRange) {
            self.node = node; self.first = first; self.second = second; self.result = result
        }
    }

    /// Node n is proximity domain domains[n] (SRAT.domains).
    public let domains: [UInt32]
    public private(set) var blocks: [Block] = []
    /// In the order they were made.
    public private(set) var merges: [Merge] = []

    /// The enabled, non-empty SRAT memory ranges that touch `ram` (sorted, not
    /// overlapping), cut off at the end of RAM, then merged per node. Blocks of
    /// different nodes that overlap make the SRAT unusable.
    /// Linux: acpi_numa_memory_affinity_init() → numa_add_memblk(), numa_cleanup_meminfo()
    public init(srat: SRAT, ram: [PhysRange]) throws(ACPIError) {
        domains = srat.domains
        guard domains.count <= NodeMask.capacity else { throw .tooManyProximityDomains(count: domains.count) }
        let high = ram.last?.end ?? PhysAddr(0)
        var found = false
        for entry in srat.memory where entry.enabled && !entry.range.isEmpty {
            guard entry.range.end.value != .max else { throw .badSRATMemory(domain: entry.domain, start: entry.range.start) }
            found = true
            // Ranges without RAM (hot-pluggable, or above the end of RAM) are set
            // aside by Linux (numa_reserved_meminfo); Keel has no use for them.
            guard ram.contains(where: { $0.start < entry.range.end && entry.range.start < $0.end }) else { continue }
            let node = domains.firstIndex(of: entry.domain)!
            blocks.append(Block(node: node, range: PhysRange(entry.range.start, min(entry.range.end, high))))
        }
        guard found else { throw .noSRATMemory }
        try mergeBlocks()
    }

    /// Linux: the second and third loops of numa_cleanup_meminfo()
    private mutating func mergeBlocks() throws(ACPIError) {
        var i = 0
        while i < blocks.count {
            var j = i + 1
            while j < blocks.count {
                let a = blocks[i], b = blocks[j]
                let overlap = a.range.start < b.range.end && b.range.start < a.range.end
                if a.node != b.node {
                    if overlap { throw .overlappingNodes(a.node, a.range.start, b.node, b.range.start) }
                    j += 1
                    continue
                }
                let joined = PhysRange(min(a.range.start, b.range.start), max(a.range.end, b.range.end))
                // Join only over a hole that holds no other node's memory.
                if blocks.contains(where: { $0.node != a.node && $0.range.start < joined.end && joined.start < $0.range.end }) {
                    j += 1
                    continue
                }
                merges.append(Merge(node: a.node, first: a.range, second: b.range, result: joined))
                blocks[i].range = joined
                blocks.remove(at: j)
            }
            i += 1
        }
    }

    /// The parts of `ram` inside node `node`'s blocks, sorted.
    /// Linux: memblock_set_node() for each block
    public func memory(ofNode node: Int, ram: [PhysRange]) -> [PhysRange] {
        var result: [PhysRange] = []
        for r in ram {
            for b in blocks where b.node == node && b.range.start < r.end && r.start < b.range.end {
                result.append(PhysRange(max(r.start, b.range.start), min(r.end, b.range.end)))
            }
        }
        return NUMATopology.merged(result)
    }
}

extension NUMATopology {
    /// Linux: numa_meminfo_cover_memory() accepts up to (but not) 1 MiB of RAM outside every node.
    public static let uncoveredRAMLimit: UInt64 = 1 << 20

    /// The machine as the SRAT and SLIT describe it, its nodes holding the RAM
    /// in `memory` (memblock's, sorted). Nodes are numbered as `info.domains`;
    /// a node may end up without memory (only CPUs) as in Linux. RAM outside
    /// every node is an error from 1 MiB on; below that (firmware slack at a
    /// node's edge) it goes to the node just below it (or, at the bottom, just
    /// above), so that every frame the allocator manages has a node, where
    /// Linux leaves such frames out. `distances` are the SLIT's for these nodes
    /// (SLIT.nodeDistances(domains: info.domains)), nil for 10 and 20.
    /// Linux: numa_register_memblks()
    public init(memInfo info: NUMAMemInfo, srat: SRAT, distances: [Int]?, memory ram: [PhysRange]) throws(ACPIError) {
        var nodes = info.domains.indices.map { Node(id: $0, memory: info.memory(ofNode: $0, ram: ram), apicIDs: []) }
        for p in srat.processors where p.enabled {
            let node = info.domains.firstIndex(of: p.domain)!
            if !nodes[node].apicIDs.contains(p.apicID) { nodes[node].apicIDs.append(p.apicID) }
        }
        let covered = nodes.flatMap { node in node.memory.map { (range: $0, node: node.id) } }.sorted { $0.range.start < $1.range.start }
        let gaps = Self.subtract(covered.map { $0.range }, from: ram)
        let total = ram.reduce(0) { $0 + $1.size }, missing = gaps.reduce(0) { $0 + $1.size }
        guard missing < Self.uncoveredRAMLimit else {
            throw .nodesMissRAM(coveredMiB: (total - missing) >> 20, totalMiB: total >> 20)
        }
        for gap in gaps {
            // When no node has RAM at all (under 1 MiB of it), nothing is there to attach to.
            guard let owner = (covered.last { $0.range.end <= gap.start } ?? covered.first { $0.range.start >= gap.end })?.node else {
                continue
            }
            nodes[owner].memory = Self.merged(nodes[owner].memory + [gap])
        }
        self.init(nodes: nodes, distances: distances)
    }

    /// A parsed SRAT, an optional SLIT (which must cover every domain) and the
    /// RAM map combined. Linux: acpi_numa_init() then numa_register_memblks()
    public init(srat: SRAT, slit: SLIT?, memory ram: [PhysRange]) throws(ACPIError) {
        let info = try NUMAMemInfo(srat: srat, ram: ram)
        try self.init(memInfo: info, srat: srat, distances: slit?.nodeDistances(domains: info.domains), memory: ram)
    }

    /// `ranges` minus `holes`, both sorted and not overlapping within themselves.
    static func subtract(_ holes: [PhysRange], from ranges: [PhysRange]) -> [PhysRange] {
        var result: [PhysRange] = []
        for r in ranges {
            var cursor = r.start
            for h in holes where h.end > cursor && h.start < r.end {
                if h.start > cursor { result.append(PhysRange(cursor, h.start)) }
                cursor = max(cursor, h.end)
            }
            if cursor < r.end { result.append(PhysRange(cursor, r.end)) }
        }
        return result
    }

    /// Sorted, with touching and overlapping ranges joined.
    static func merged(_ ranges: [PhysRange]) -> [PhysRange] {
        var result: [PhysRange] = []
        for r in ranges.sorted(by: { $0.start < $1.start }) {
            if let last = result.last, r.start <= last.end {
                result[result.count - 1].end = max(last.end, r.end)
            } else {
                result.append(r)
            }
        }
        return result
    }
}
