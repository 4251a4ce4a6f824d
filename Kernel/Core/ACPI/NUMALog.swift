// The boot-log lines Linux prints while it reads the NUMA layout, in Linux's
// formats (checked against Linux 6.1's dmesg under QEMU with the same
// topology), so a Keel boot log and `dmesg` can be read side by side.

/// Linux: arch/x86/mm/srat.c, drivers/acpi/numa/srat.c, arch/x86/mm/numa.c, mm/page_alloc.c
public enum NUMALog {
    /// One line per enabled processor, then per enabled memory range, in the
    /// order Linux parses them:
    /// `SRAT: PXM 0 -> APIC 0x00 -> Node 0`,
    /// `ACPI: SRAT: Node 0 PXM 0 [mem 0x00000000-0x0009ffff]`.
    /// Linux: acpi_numa_processor_affinity_init(), acpi_numa_x2apic_affinity_init(),
    /// acpi_numa_memory_affinity_init()
    public static func writeSRAT<S: TextSink>(_ srat: SRAT, domains: [UInt32], to sink: inout S) {
        for p in srat.processors where p.enabled {
            guard let node = domains.firstIndex(of: p.domain) else { continue }
            sink.write("SRAT: PXM \(p.domain) -> APIC 0x" + Fmt.hex(p.apicID, digits: p.isX2APIC ? 4 : 2) + " -> Node \(node)\n")
        }
        for m in srat.memory where m.enabled && !m.range.isEmpty {
            guard let node = domains.firstIndex(of: m.domain) else { continue }
            sink.write("ACPI: SRAT: Node \(node) PXM \(m.domain) " + mem(m.range.start.value, m.range.end.value &- 1, digits: 8)
                       + (m.hotPluggable ? " hotplug" : "") + (m.nonVolatile ? " non-volatile" : "") + "\n")
        }
    }

    /// `NUMA: Initialized distance table, cnt=2`, printed once a SLIT was used.
    /// Linux: numa_alloc_distance()
    public static func writeDistanceTable<S: TextSink>(nodes: Int, to sink: inout S) {
        sink.write("NUMA: Initialized distance table, cnt=\(nodes)\n")
    }

    /// `NUMA: Node 0 [mem 0x00000000-0x0009ffff] + [mem 0x00100000-0x0fffffff] -> [mem 0x00000000-0x0fffffff]`
    /// Linux: numa_cleanup_meminfo()
    public static func writeMerges<S: TextSink>(_ info: NUMAMemInfo, to sink: inout S) {
        for m in info.merges {
            sink.write("NUMA: Node \(m.node) " + mem(m.first.start.value, m.first.end.value - 1, digits: 8) + " + "
                       + mem(m.second.start.value, m.second.end.value - 1, digits: 8) + " -> "
                       + mem(m.result.start.value, m.result.end.value - 1, digits: 8) + "\n")
        }
    }

    /// Each node's RAM in whole pages, then each node's span:
    /// `Early memory node ranges`, `  node   0: [mem 0x0000000000001000-0x000000000009efff]`,
    /// `Initmem setup node 0 [mem 0x0000000000001000-0x000000000fffffff]` (a node
    /// without memory shows `[mem 0x0000000000000000-0x0000000000000000]`).
    /// Linux: free_area_init() → free_area_init_node()
    public static func writeNodes<S: TextSink>(_ topology: NUMATopology, to sink: inout S) {
        sink.write("Early memory node ranges\n")
        var spans: [(first: UInt64, last: UInt64)?] = []
        for node in topology.nodes {
            var span: (first: UInt64, last: UInt64)?
            for r in node.memory {
                // Linux: for_each_mem_pfn_range() rounds each region inwards to whole pages.
                let start = r.start.alignedUp().value, end = r.end.alignedDown().value
                guard start < end else { continue }
                let id = node.id < 10 ? "  \(node.id)" : node.id < 100 ? " \(node.id)" : "\(node.id)"
                sink.write("  node " + id + ": " + mem(start, end - 1, digits: 16) + "\n")
                span = (span?.first ?? start, end - 1)
            }
            spans.append(span)
        }
        for (id, span) in spans.enumerated() {
            sink.write("Initmem setup node \(id) " + mem(span?.first ?? 0, span?.last ?? 0, digits: 16) + "\n")
        }
    }

    /// A machine without a usable SRAT: `No NUMA configuration found`,
    /// `Faking a node at [mem 0x0000000000000000-0x000000001ffdffff]`.
    /// Linux: dummy_numa_init()
    public static func writeFakeNode<S: TextSink>(endOfRAM: PhysAddr, to sink: inout S) {
        sink.write("No NUMA configuration found\n")
        sink.write("Faking a node at " + mem(0, endOfRAM.value &- 1, digits: 16) + "\n")
    }

    /// `[mem 0x…-0x…]` with at least `digits` hex digits each: printf "%#010Lx" or "%#018Lx".
    private static func mem(_ first: UInt64, _ last: UInt64, digits: Int) -> String {
        "[mem 0x" + Fmt.hex(first, digits: digits) + "-0x" + Fmt.hex(last, digits: digits) + "]"
    }
}
