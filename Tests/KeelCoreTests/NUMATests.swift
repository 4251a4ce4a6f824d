import XCTest
@testable import KeelCore

/// The SRAT and SLIT parsers on QEMU's real tables and on forged ones, the
/// topology they make, the boot log against Linux 6.1's, NodeMask, and the
/// fallback order.
final class NUMATests: XCTestCase {
    private let ram = ACPIRAM()
    private var nextAddress: UInt64 = 0x1000_0000

    /// `bytes` placed at an address of their own and verified as a table.
    private func table(_ bytes: [UInt8]) throws(ACPIError) -> ACPITable {
        let address = PhysAddr(nextAddress)
        nextAddress += 0x1_0000
        ram.place(bytes, at: address)
        return try ACPITable(at: address, memory: ram)
    }

    /// Where `table` placed the last table.
    private var lastAddress: PhysAddr { PhysAddr(nextAddress - 0x1_0000) }

    private func srat(_ bytes: [UInt8]) throws(ACPIError) -> SRAT { try SRAT(table(bytes)) }
    private func slit(_ bytes: [UInt8]) throws(ACPIError) -> SLIT { try SLIT(table(bytes)) }

    private func error(_ body: () throws(ACPIError) -> Void) -> ACPIError? {
        do { try body(); return nil } catch { return error }
    }

    // ---- building forged tables ----

    private typealias B = ACPIBuilder
    private func cpu(pxm: UInt8, apic: UInt8, flags: UInt32 = 1, pxmHigh: [UInt8] = [0, 0, 0]) -> [UInt8] {
        [0, 16, pxm, apic] + B.le32(flags) + [0] + pxmHigh + B.le32(0)
    }
    private func x2apic(pxm: UInt32, apic: UInt32, flags: UInt32 = 1) -> [UInt8] {
        [2, 24, 0, 0] + B.le32(pxm) + B.le32(apic) + B.le32(flags) + B.le32(0) + B.le32(0)
    }
    private func memory(pxm: UInt32, base: UInt64, length: UInt64, flags: UInt32 = 1) -> [UInt8] {
        [1, 40] + B.le32(pxm) + [0, 0] + B.le64(base) + B.le64(length) + B.le32(0) + B.le32(flags) + B.le64(0)
    }
    private func sratBytes(revision: UInt8 = 3, _ entries: [[UInt8]]) -> [UInt8] {
        B.table("SRAT", revision: revision, body: B.le32(1) + B.le64(0) + entries.flatMap { $0 })
    }
    private func slitBytes(_ count: UInt64, _ entries: [UInt8]) -> [UInt8] {
        B.table("SLIT", body: B.le64(count) + entries)
    }
    private func range(_ start: UInt64, _ end: UInt64) -> PhysRange { PhysRange(PhysAddr(start), PhysAddr(end)) }

    // ---- QEMU's two nodes ----

    func testQEMUTwoNodeSRAT() throws {
        let s = try srat(NUMATables.sratTwoNodes)
        XCTAssertEqual(s.revision, 1)
        XCTAssertEqual(s.processors, [SRAT.Processor(domain: 0, apicID: 0, enabled: true, isX2APIC: false),
                                      SRAT.Processor(domain: 1, apicID: 1, enabled: true, isX2APIC: false)])
        XCTAssertEqual(s.memory, [SRAT.Memory(domain: 0, range: range(0, 0xa_0000), enabled: true),
                                  SRAT.Memory(domain: 0, range: range(0x10_0000, 0x1000_0000), enabled: true),
                                  SRAT.Memory(domain: 1, range: range(0x1000_0000, 0x2000_0000), enabled: true),
                                  SRAT.Memory(domain: 0, range: range(0, 0), enabled: false)],
                       "QEMU ends with an empty, disabled entry")
        XCTAssertEqual(s.otherEntries, 0)
        XCTAssertEqual(s.domains, [0, 1])
    }

    func testQEMUTwoNodeSLIT() throws {
        let d = try slit(NUMATables.slitTwoNodes)
        XCTAssertEqual(d.localityCount, 2)
        XCTAssertEqual(d.entries, [10, 20, 20, 10])
        XCTAssertEqual(try d.nodeDistances(domains: [0, 1]), [10, 20, 20, 10])
        XCTAssertEqual(try d.nodeDistances(domains: [1, 0]), [10, 20, 20, 10])
    }

    func testQEMUTwoNodeTopology() throws {
        let s = try srat(NUMATables.sratTwoNodes)
        let info = try NUMAMemInfo(srat: s, ram: NUMATables.ramTwoNodes)
        XCTAssertEqual(info.blocks, [NUMAMemInfo.Block(node: 0, range: range(0, 0x1000_0000)),
                                     NUMAMemInfo.Block(node: 1, range: range(0x1000_0000, 0x1ffd_f000))],
                       "node 0's two ranges join over the hole; node 1's ends with RAM")
        let t = try NUMATopology(memInfo: info, srat: s, distances: try slit(NUMATables.slitTwoNodes).nodeDistances(domains: info.domains),
                                 memory: NUMATables.ramTwoNodes)
        XCTAssertEqual(t.nodeCount, 2)
        XCTAssertEqual(t.nodes[0], NUMATopology.Node(id: 0, memory: [range(0x1000, 0x9f000), range(0x10_0000, 0x1000_0000)], apicIDs: [0]))
        XCTAssertEqual(t.nodes[1], NUMATopology.Node(id: 1, memory: [range(0x1000_0000, 0x1ffd_f000)], apicIDs: [1]))
        XCTAssertEqual(t.distances, [10, 20, 20, 10])
        XCTAssertEqual(t.online, NodeMask(rawValue: 0b11))
        XCTAssertEqual(t.node(ofAPIC: 1), 1)
        XCTAssertEqual(t.node(ofAPIC: 7), 0, "a CPU the SRAT does not name goes to node 0")
        XCTAssertEqual(t.node(ofPFN: 0x9e), 0)
        XCTAssertNil(t.node(ofPFN: 0xa0), "the legacy hole is no node's memory")
        XCTAssertEqual(t.node(ofPFN: 0xffff), 0)
        XCTAssertEqual(t.node(ofPFN: 0x1_0000), 1)
        XCTAssertNil(t.node(ofPFN: 0x1ffdf))
        XCTAssertEqual(try NUMATopology(srat: s, slit: nil, memory: NUMATables.ramTwoNodes), t,
                       "QEMU's SLIT says what Linux assumes without one")
    }

    /// Linux 6.1's dmesg on the same machine (timestamps cut off).
    func testTwoNodeBootLogMatchesLinux() throws {
        let s = try srat(NUMATables.sratTwoNodes)
        let info = try NUMAMemInfo(srat: s, ram: NUMATables.ramTwoNodes)
        let t = try NUMATopology(memInfo: info, srat: s, distances: try slit(NUMATables.slitTwoNodes).nodeDistances(domains: info.domains),
                                 memory: NUMATables.ramTwoNodes)
        var log = ""
        NUMALog.writeSRAT(s, domains: info.domains, to: &log)
        NUMALog.writeDistanceTable(nodes: t.nodeCount, to: &log)
        NUMALog.writeMerges(info, to: &log)
        NUMALog.writeNodes(t, to: &log)
        XCTAssertEqual(log.split(separator: "\n").map(String.init), [
            "SRAT: PXM 0 -> APIC 0x00 -> Node 0",
            "SRAT: PXM 1 -> APIC 0x01 -> Node 1",
            "ACPI: SRAT: Node 0 PXM 0 [mem 0x00000000-0x0009ffff]",
            "ACPI: SRAT: Node 0 PXM 0 [mem 0x00100000-0x0fffffff]",
            "ACPI: SRAT: Node 1 PXM 1 [mem 0x10000000-0x1fffffff]",
            "NUMA: Initialized distance table, cnt=2",
            "NUMA: Node 0 [mem 0x00000000-0x0009ffff] + [mem 0x00100000-0x0fffffff] -> [mem 0x00000000-0x0fffffff]",
            "Early memory node ranges",
            "  node   0: [mem 0x0000000000001000-0x000000000009efff]",
            "  node   0: [mem 0x0000000000100000-0x000000000fffffff]",
            "  node   1: [mem 0x0000000010000000-0x000000001ffdefff]",
            "Initmem setup node 0 [mem 0x0000000000001000-0x000000000fffffff]",
            "Initmem setup node 1 [mem 0x0000000010000000-0x000000001ffdefff]",
        ])
    }

    // ---- QEMU's four nodes in a line ----

    func testQEMUFourNodes() throws {
        let s = try srat(NUMATables.sratFourNodes)
        let t = try NUMATopology(srat: s, slit: try slit(NUMATables.slitFourNodes), memory: NUMATables.ramFourNodes)
        XCTAssertEqual(t.nodeCount, 4)
        XCTAssertEqual(t.nodes.map { $0.apicIDs }, [[0], [1], [2], [3]])
        XCTAssertEqual(t.nodes.map { $0.memory.last!.end.value }, [0x1000_0000, 0x2000_0000, 0x3000_0000, 0x3ffd_f000])
        XCTAssertEqual(t.distances, [10, 20, 30, 40,
                                     20, 10, 20, 30,
                                     30, 20, 10, 20,
                                     40, 30, 20, 10])
        XCTAssertEqual(t.distance(3, 0), 40)
        var log = ""
        NUMALog.writeNodes(t, to: &log)
        XCTAssertTrue(log.hasSuffix("""
            Initmem setup node 0 [mem 0x0000000000001000-0x000000000fffffff]
            Initmem setup node 1 [mem 0x0000000010000000-0x000000001fffffff]
            Initmem setup node 2 [mem 0x0000000020000000-0x000000002fffffff]
            Initmem setup node 3 [mem 0x0000000030000000-0x000000003ffdefff]

            """), log)
    }

    /// Linux 6.1 on the four nodes: "Fallback order for Node 0: 0 1 2 3",
    /// "Node 1: 1 2 0 3", "Node 2: 2 3 1 0", "Node 3: 3 2 1 0".
    func testFallbackOrderMatchesLinuxOnFourNodes() throws {
        let t = try NUMATopology(srat: try srat(NUMATables.sratFourNodes), slit: try slit(NUMATables.slitFourNodes),
                                 memory: NUMATables.ramFourNodes)
        XCTAssertEqual((0..<4).map { t.fallbackOrder(from: $0) }, [[0, 1, 2, 3], [1, 2, 0, 3], [2, 3, 1, 0], [3, 2, 1, 0]])
    }

    func testFallbackOrderWithDefaultDistances() {
        let node = { (id: Int) in NUMATopology.Node(id: id, memory: [], apicIDs: []) }
        let t = NUMATopology(nodes: (0..<4).map(node))
        XCTAssertEqual(t.distance(0, 0), NUMATopology.localDistance)
        XCTAssertEqual(t.distance(2, 1), NUMATopology.remoteDistance)
        XCTAssertEqual((0..<4).map { t.fallbackOrder(from: $0) }, [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]],
                       "equally far: the nodes above first, as Linux")
        XCTAssertEqual(NUMATopology.single(memory: [], apicIDs: [0]).fallbackOrder(from: 0), [0])
        let ring = NUMATopology(nodes: (0..<3).map(node), distances: [10, 15, 30, 15, 10, 30, 30, 30, 10])
        XCTAssertEqual(ring.fallbackOrder(from: 2), [2, 0, 1], "distance first, whatever the number")
    }

    // ---- numbering and entry kinds ----

    func testNodesAreNumberedByFirstAppearanceProcessorsFirst() throws {
        let s = try srat(sratBytes([
            memory(pxm: 9, base: 0, length: 0x100_0000),
            cpu(pxm: 7, apic: 0),
            cpu(pxm: 5, apic: 1, flags: 0),                  // disabled: maps no domain
            memory(pxm: 7, base: 0x100_0000, length: 0x100_0000),
            cpu(pxm: 9, apic: 2),
            memory(pxm: 4, base: 0x200_0000, length: 0x100_0000),
        ]))
        XCTAssertEqual(s.domains, [7, 9, 4])
        let t = try NUMATopology(srat: s, slit: nil, memory: [range(0, 0x300_0000)])
        XCTAssertEqual(t.nodes.map { $0.apicIDs }, [[0], [2], []])
        XCTAssertEqual(t.nodes.map { $0.memory }, [[range(0x100_0000, 0x200_0000)], [range(0, 0x100_0000)], [range(0x200_0000, 0x300_0000)]])
        XCTAssertEqual(t.node(ofAPIC: 1), 0, "the disabled CPU's domain was never a node")
    }

    func testX2APICEntriesAndWideDomains() throws {
        let s = try srat(sratBytes(revision: 2, [
            cpu(pxm: 0x01, apic: 3, pxmHigh: [0x02, 0, 0]),
            x2apic(pxm: 0x1_0000, apic: 0x1234),
            x2apic(pxm: 0x201, apic: 0x99, flags: 0),
            memory(pxm: 0x201, base: 0, length: 0x100_0000),
            memory(pxm: 0x1_0000, base: 0x100_0000, length: 0x100_0000),
        ]))
        XCTAssertEqual(s.processors[0], SRAT.Processor(domain: 0x201, apicID: 3, enabled: true, isX2APIC: false))
        XCTAssertEqual(s.processors[1], SRAT.Processor(domain: 0x1_0000, apicID: 0x1234, enabled: true, isX2APIC: true))
        XCTAssertEqual(s.domains, [0x201, 0x1_0000])
        var log = ""
        NUMALog.writeSRAT(s, domains: s.domains, to: &log)
        XCTAssertTrue(log.hasPrefix("SRAT: PXM 513 -> APIC 0x03 -> Node 0\nSRAT: PXM 65536 -> APIC 0x1234 -> Node 1\n"), log)

        // Revision 1 (ACPI 2.0): only the low byte of a domain counts.
        let old = try srat(sratBytes(revision: 1, [cpu(pxm: 1, apic: 0, pxmHigh: [0x02, 0, 0]),
                                                   memory(pxm: 0x301, base: 0, length: 0x100_0000)]))
        XCTAssertEqual(old.processors[0].domain, 1)
        XCTAssertEqual(old.memory[0].domain, 1)
        XCTAssertEqual(old.domains, [1])
    }

    func testHotPluggableAndRAMlessRangesAndUnknownEntries() throws {
        let s = try srat(sratBytes([
            cpu(pxm: 0, apic: 0),
            [0xfe, 6, 0, 0, 0, 0],                                       // a type Keel does not read
            memory(pxm: 0, base: 0, length: 0x800_0000),
            memory(pxm: 0, base: 0x1_0000_0000, length: 0x4000_0000, flags: 3),   // hot-pluggable, above RAM
            memory(pxm: 1, base: 0x800_0000, length: 0x800_0000, flags: 5),       // non-volatile
        ]))
        XCTAssertEqual(s.otherEntries, 1)
        var log = ""
        NUMALog.writeSRAT(s, domains: s.domains, to: &log)
        XCTAssertTrue(log.contains("ACPI: SRAT: Node 0 PXM 0 [mem 0x100000000-0x13fffffff] hotplug\n"), log)
        XCTAssertTrue(log.contains("ACPI: SRAT: Node 1 PXM 1 [mem 0x08000000-0x0fffffff] non-volatile\n"), log)
        let info = try NUMAMemInfo(srat: s, ram: [range(0, 0x1000_0000)])
        XCTAssertEqual(info.blocks.map { $0.range }, [range(0, 0x800_0000), range(0x800_0000, 0x1000_0000)],
                       "the range without RAM is set aside")
        XCTAssertTrue(info.merges.isEmpty)
    }

    func testBlocksDoNotMergeOverAnotherNodesMemory() throws {
        let s = try srat(sratBytes([
            memory(pxm: 0, base: 0, length: 0x100_0000),
            memory(pxm: 1, base: 0x100_0000, length: 0x100_0000),
            memory(pxm: 0, base: 0x200_0000, length: 0x100_0000),
        ]))
        let info = try NUMAMemInfo(srat: s, ram: [range(0, 0x300_0000)])
        XCTAssertTrue(info.merges.isEmpty)
        let t = try NUMATopology(memInfo: info, srat: s, distances: nil, memory: [range(0, 0x300_0000)])
        XCTAssertEqual(t.nodes[0].memory, [range(0, 0x100_0000), range(0x200_0000, 0x300_0000)])
        XCTAssertEqual(t.node(ofPFN: 0x1000), 1)
    }

    func testSmallUncoveredRAMJoinsTheNodeBelowLargeIsAnError() throws {
        let s = try srat(sratBytes([memory(pxm: 0, base: 0x10_0000, length: 0x100_0000),
                                    memory(pxm: 1, base: 0x110_0000, length: 0x100_0000)]))
        // 64 KiB below node 0 and 512 KiB above node 1: under 1 MiB in all.
        let t = try NUMATopology(srat: s, slit: nil, memory: [range(0xf_0000, 0x218_0000)])
        XCTAssertEqual(t.nodes[0].memory, [range(0xf_0000, 0x110_0000)], "the piece at the bottom goes to the node above it")
        XCTAssertEqual(t.nodes[1].memory, [range(0x110_0000, 0x218_0000)], "the piece on top goes to the node below it")
        XCTAssertEqual(error { () throws(ACPIError) in _ = try NUMATopology(srat: s, slit: nil, memory: [range(0, 0x220_0000)]) },
                       .nodesMissRAM(coveredMiB: 32, totalMiB: 34))
        XCTAssertEqual(ACPIError.nodesMissRAM(coveredMiB: 32, totalMiB: 34).message,
                       "NUMA: nodes only cover 32MB of your 34MB e820 RAM. Not used.")
    }

    // ---- malformed tables: errors, never traps ----

    func testMalformedSRATs() throws {
        XCTAssertEqual(error { () throws(ACPIError) in _ = try srat(B.table("SRAT", body: B.le32(1))) },
                       .badTableLength(.srat, address: PhysAddr(0x1000_0000), length: 40))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try srat(sratBytes([[0, 0]])) }, .badSRATEntry(offset: 48, type: 0, length: 0))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try srat(sratBytes([cpu(pxm: 0, apic: 0), [1]])) }, .badSRATEntry(offset: 64, type: 1, length: 0),
                       "one byte left: no room for a length")
        XCTAssertEqual(error { () throws(ACPIError) in _ = try srat(sratBytes([Array(memory(pxm: 0, base: 0, length: 1).prefix(32))])) },
                       .badSRATEntry(offset: 48, type: 1, length: 40),
                       "an entry that runs past the end")
        var short = cpu(pxm: 0, apic: 0)
        short[1] = 8
        XCTAssertEqual(error { () throws(ACPIError) in _ = try srat(sratBytes([Array(short.prefix(8))])) }, .badSRATEntry(offset: 48, type: 0, length: 8),
                       "a processor entry shorter than its structure")
        var x2 = x2apic(pxm: 0, apic: 0)
        x2[1] = 16
        XCTAssertEqual(error { () throws(ACPIError) in _ = try srat(sratBytes([Array(x2.prefix(16))])) }, .badSRATEntry(offset: 48, type: 2, length: 16))

        var badSum = NUMATables.sratTwoNodes
        badSum[60] ^= 1
        XCTAssertEqual(error { () throws(ACPIError) in _ = try srat(badSum) }, .badChecksum(.srat, address: lastAddress))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try SRAT(table(NUMATables.slitTwoNodes)) },
                       .wrongSignature(expected: .srat, found: .slit, address: lastAddress))

        XCTAssertEqual(error { () throws(ACPIError) in _ = try NUMAMemInfo(srat: srat(sratBytes([cpu(pxm: 0, apic: 0)])), ram: [range(0, 0x1000)]) },
                       .noSRATMemory)
        XCTAssertEqual(error { () throws(ACPIError) in _ = try NUMAMemInfo(srat: srat(sratBytes([memory(pxm: 0, base: 0, length: 0x100_0000),
                                                                          memory(pxm: 1, base: 0x80_0000, length: 0x100_0000)])),
                                                   ram: [range(0, 0x200_0000)]) },
                       .overlappingNodes(0, PhysAddr(0), 1, PhysAddr(0x80_0000)))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try NUMAMemInfo(srat: srat(sratBytes([memory(pxm: 0, base: 0x1000, length: .max)])),
                                                   ram: [range(0, 0x1000)]) },
                       .badSRATMemory(domain: 0, start: PhysAddr(0x1000)))
        let many = try srat(sratBytes((0..<65).map { memory(pxm: UInt32($0), base: UInt64($0) << 20, length: 1 << 20) }))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try NUMAMemInfo(srat: many, ram: [range(0, 65 << 20)]) }, .tooManyProximityDomains(count: 65))
        let most = try srat(sratBytes((0..<64).map { memory(pxm: UInt32($0), base: UInt64($0) << 20, length: 1 << 20) }))
        XCTAssertEqual(try NUMATopology(srat: most, slit: nil, memory: [range(0, 64 << 20)]).nodeCount, 64)
    }

    func testMalformedSLITs() throws {
        XCTAssertEqual(error { () throws(ACPIError) in _ = try slit(B.table("SLIT", body: [2, 0, 0, 0])) },
                       .badTableLength(.slit, address: PhysAddr(0x1000_0000), length: 40))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try slit(slitBytes(3, [10, 20, 20, 10])) }, .badSLITLength(localities: 3, length: 48))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try slit(slitBytes(.max, [10])) }, .badSLITLength(localities: .max, length: 45))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try slit(slitBytes(1 << 32, [10])) }, .badSLITLength(localities: 1 << 32, length: 45),
                       "a count whose square overflows 64 bits")
        XCTAssertEqual(error { () throws(ACPIError) in _ = try slit(slitBytes(2, [10, 20, 20, 11])) }, .invalidSLIT(from: 1, to: 1, distance: 11))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try slit(slitBytes(2, [10, 10, 20, 10])) }, .invalidSLIT(from: 0, to: 1, distance: 10))
        XCTAssertEqual(ACPIError.invalidSLIT(from: 0, to: 1, distance: 10).message,
                       "SLIT table looks invalid. Not used. (distance 10 from locality 0 to 1)")

        // QEMU's two-node SLIT against the four-node SRAT: domains 2 and 3 have no row.
        let four = try srat(NUMATables.sratFourNodes)
        let two = try slit(NUMATables.slitTwoNodes)
        XCTAssertEqual(error { () throws(ACPIError) in _ = try two.nodeDistances(domains: four.domains) }, .slitMissesDomain(2, localities: 2))
        XCTAssertEqual(error { () throws(ACPIError) in _ = try NUMATopology(srat: four, slit: two, memory: NUMATables.ramFourNodes) },
                       .slitMissesDomain(2, localities: 2))
        // A larger SLIT is fine: rows of domains without a node are not used.
        let t = try NUMATopology(srat: try srat(NUMATables.sratTwoNodes), slit: try slit(NUMATables.slitFourNodes),
                                 memory: NUMATables.ramTwoNodes)
        XCTAssertEqual(t.distances, [10, 20, 20, 10])
    }

    /// Random corruption of QEMU's tables (checksums fixed up) is parsed or
    /// rejected, never trusted into a trap, through to the topology.
    func testRandomlyCorruptedSRATsAndSLITsNeverTrap() {
        var random = SplitMix64(seed: 0x5ea7)
        var built = 0, rejected = 0
        for round in 0..<3000 {
            var bytes = round % 2 == 0 ? NUMATables.sratFourNodes : NUMATables.sratTwoNodes
            var distances = round % 3 == 0 ? NUMATables.slitTwoNodes : NUMATables.slitFourNodes
            for _ in 0..<random.below(4) + 1 {
                bytes[SRAT.fixedSize + random.below(bytes.count - SRAT.fixedSize)] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.below(4) == 0 {
                distances[36 + random.below(distances.count - 36)] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.below(4) == 0 {
                bytes.removeLast(random.below(bytes.count - SRAT.fixedSize))
                bytes.replaceSubrange(4..<8, with: ACPIBuilder.le32(UInt32(bytes.count)))
            }
            ACPIBuilder.fixChecksum(&bytes, at: 9, over: 0..<bytes.count)
            ACPIBuilder.fixChecksum(&distances, at: 9, over: 0..<distances.count)
            do {
                let t = try NUMATopology(srat: srat(bytes), slit: slit(distances), memory: NUMATables.ramFourNodes)
                XCTAssertEqual(t.nodes.reduce(0) { $0 + $1.memory.reduce(0) { $0 + $1.size } },
                               NUMATables.ramFourNodes.reduce(0) { $0 + $1.size }, "all RAM in exactly one node")
                built += 1
            } catch {
                switch error {
                case .badSRATEntry, .badSLITLength, .invalidSLIT, .slitMissesDomain, .noSRATMemory, .nodesMissRAM,
                     .overlappingNodes, .badSRATMemory, .tooManyProximityDomains: rejected += 1
                default: XCTFail("unexpected \(error)")
                }
            }
        }
        XCTAssertGreaterThan(built, 100)
        XCTAssertGreaterThan(rejected, 100)
    }

    func testFakeNodeLog() {
        var log = ""
        NUMALog.writeFakeNode(endOfRAM: PhysAddr(0x1ffd_f000), to: &log)
        XCTAssertEqual(log, "No NUMA configuration found\nFaking a node at [mem 0x0000000000000000-0x000000001ffdefff]\n")
    }

    // ---- NodeMask ----

    func testNodeMaskSetOperations() {
        var m = NodeMask.none
        XCTAssertTrue(m.isEmpty)
        XCTAssertNil(m.first)
        XCTAssertNil(m.next(after: 0))
        XCTAssertEqual(m.listText, "")
        m.insert(3); m.insert(0); m.insert(1); m.insert(63)
        XCTAssertEqual(m.count, 4)
        XCTAssertEqual(m.nodes, [0, 1, 3, 63])
        XCTAssertTrue(m.contains(63))
        XCTAssertFalse(m.contains(64))
        XCTAssertFalse(m.contains(-1))
        XCTAssertEqual(m.first, 0)
        XCTAssertEqual(m.listText, "0-1,3,63")
        m.remove(1)
        XCTAssertEqual(m.listText, "0,3,63")
        m.remove(1)
        XCTAssertEqual(m.count, 3, "removing an absent node changes nothing")
        XCTAssertEqual(NodeMask.first(0), .none)
        XCTAssertEqual(NodeMask.first(3).listText, "0-2")
        XCTAssertEqual(NodeMask.first(64).rawValue, .max)
        XCTAssertEqual(NodeMask.first(64).listText, "0-63")
        XCTAssertEqual(NodeMask.node(5).rawValue, 32)
        let a = NodeMask.first(4), b = NodeMask(rawValue: 0b1100_1000)
        XCTAssertEqual(a.union(b).listText, "0-3,6-7")
        XCTAssertEqual(a.intersection(b).listText, "3")
        XCTAssertTrue(NodeMask.node(2).isSubset(of: a))
        XCTAssertFalse(b.isSubset(of: a))
        XCTAssertTrue(NodeMask.none.isSubset(of: .none))
    }

    func testNodeMaskNextWrapsRound() {
        let m = NodeMask(rawValue: 0b1010_0100)      // 2, 5, 7
        XCTAssertEqual(m.next(after: 2), 5)
        XCTAssertEqual(m.next(after: 5), 7)
        XCTAssertEqual(m.next(after: 7), 2, "past the last: back to the first")
        XCTAssertEqual(m.next(after: 3), 5)
        XCTAssertEqual(m.next(after: 63), 2)
        XCTAssertEqual(NodeMask.node(63).next(after: 62), 63)
        XCTAssertEqual(NodeMask.node(63).next(after: 63), 63)
        XCTAssertEqual(NodeMask.node(0).next(after: 0), 0)
        // Interleaving over nodes 0-1 alternates.
        var node = 1, seen: [Int] = []
        for _ in 0..<4 { node = NodeMask.first(2).next(after: node)!; seen.append(node) }
        XCTAssertEqual(seen, [0, 1, 0, 1])
    }
}
