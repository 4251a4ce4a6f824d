// The System Locality Information Table ("SLIT"): how far apart the proximity
// domains are, as an N×N matrix of one-byte relative distances, 10 meaning
// local. Row i is domain i's view; the SRAT says which domains exist and the
// topology maps both through the same domain-to-node numbering.

/// A parsed SLIT. Linux: struct acpi_table_slit, acpi_parse_slit()
public struct SLIT: Sendable {
    /// Header and the 8-byte locality count. Linux: offsetof(struct acpi_table_slit, entry)
    public static let fixedSize = 44

    /// N: the matrix is N×N.
    public let localityCount: Int
    /// Row-major, localityCount² entries.
    public let entries: [UInt8]

    /// Parses a verified "SLIT" table, whose matrix must fit in it and hold 10 on
    /// the diagonal and more than 10 elsewhere (Linux ignores such a table:
    /// "SLIT table looks invalid. Not used."). Linux: slit_valid()
    public init(_ table: ACPITable) throws(ACPIError) {
        guard table.header.signature == .slit else {
            throw .wrongSignature(expected: .slit, found: table.header.signature, address: table.address)
        }
        guard table.bytes.count >= Self.fixedSize else {
            throw .badTableLength(.slit, address: table.address, length: table.header.length)
        }
        let fields = LittleEndianBytes(bytes: table.bytes)
        let count = fields.u64(36)
        // ACPITable.maxLength bounds the table, so a count that fits is small.
        let room = UInt64(table.bytes.count - Self.fixedSize)
        guard count <= room, count * count <= room else { throw .badSLITLength(localities: count, length: table.header.length) }
        let n = Int(count)
        var entries = [UInt8](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let d = fields.u8(Self.fixedSize + i * n + j)
                guard i == j ? d == UInt8(NUMATopology.localDistance) : d > UInt8(NUMATopology.localDistance) else {
                    throw .invalidSLIT(from: i, to: j, distance: d)
                }
                entries[i * n + j] = d
            }
        }
        localityCount = n
        self.entries = entries
    }

    /// The distance from domain `from` to domain `to`; both must be below `localityCount`.
    public func distance(_ from: Int, _ to: Int) -> Int { Int(entries[from * localityCount + to]) }

    /// The node-to-node matrix (row-major) for nodes numbered as `domains`
    /// (node n is domain domains[n], SRAT.domains). Every domain must have a
    /// row: a SLIT that leaves one out disagrees with the SRAT and is not used.
    /// Linux: acpi_numa_slit_init() → numa_set_distance()
    public func nodeDistances(domains: [UInt32]) throws(ACPIError) -> [Int] {
        for domain in domains where UInt64(domain) >= UInt64(localityCount) {
            throw .slitMissesDomain(domain, localities: UInt64(localityCount))
        }
        var result: [Int] = []
        result.reserveCapacity(domains.count * domains.count)
        for from in domains {
            for to in domains { result.append(distance(Int(from), Int(to))) }
        }
        return result
    }
}
