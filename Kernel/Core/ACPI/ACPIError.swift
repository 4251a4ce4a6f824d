// Why the ACPI tables could not be used. Firmware tables are input like any
// other: a bad checksum or a length that runs past the end is reported, never
// trusted, so a broken BIOS costs the extra CPUs, not the boot.

/// A malformed or missing ACPI structure. Linux: the AE_BAD_SIGNATURE, AE_BAD_CHECKSUM,
/// AE_INVALID_TABLE_LENGTH, AE_NOT_FOUND statuses and acpi_parse_entries_array()'s -EINVAL
public enum ACPIError: Error, Equatable, Sendable {
    /// The RSDP does not start with "RSD PTR ".
    case badRSDPSignature
    /// Fewer RSDP bytes than its revision defines (20, or 36 for ACPI 2.0+).
    case truncatedRSDP(length: Int, needed: Int)
    /// The RSDP's checksum (first 20 bytes) or extended checksum (all 36) is not zero.
    case badRSDPChecksum(extended: Bool)
    /// The memory accessor cannot reach these bytes.
    case unreachable(PhysAddr, count: Int)
    /// A table's length is shorter than its header (or its type's fixed part) or implausibly long.
    case badTableLength(ACPISignature, address: PhysAddr, length: UInt32)
    /// A table's bytes do not sum to zero.
    case badChecksum(ACPISignature, address: PhysAddr)
    /// The root table points somewhere that holds a different table.
    case wrongSignature(expected: ACPISignature, found: ACPISignature, address: PhysAddr)
    /// No table with this signature is listed.
    case tableNotFound(ACPISignature)
    /// A MADT entry runs past the table's end, has a length below 2, or is shorter
    /// than its type's structure. `offset` is from the start of the MADT.
    case badMADTEntry(offset: Int, type: UInt8, length: UInt8)
    /// The same for an SRAT entry. Linux: "SRAT: Unexpected header length", bad_srat()
    case badSRATEntry(offset: Int, type: UInt8, length: UInt8)
    /// The SRAT names more proximity domains than Keel has node numbers.
    /// Linux: "SRAT: Too many proximity domains"
    case tooManyProximityDomains(count: Int)
    /// An enabled SRAT memory range that wraps past the top of the address space.
    /// Linux: numa_add_memblk()'s "Warning: invalid memblk node"
    case badSRATMemory(domain: UInt32, start: PhysAddr)
    /// Memory ranges of two nodes overlap (each given by its node and start).
    /// Linux: numa_cleanup_meminfo()'s "NUMA: node %d [mem ...] overlaps with node %d"
    case overlappingNodes(Int, PhysAddr, Int, PhysAddr)
    /// The SRAT gives no enabled memory range. Linux: numa_init() failing, then dummy_numa_init()
    case noSRATMemory
    /// The nodes leave more than 1 MiB of RAM without a node.
    /// Linux: numa_meminfo_cover_memory()
    case nodesMissRAM(coveredMiB: UInt64, totalMiB: UInt64)
    /// The SLIT's matrix is longer than the table. Linux: acpi_table_parse()'s length check
    case badSLITLength(localities: UInt64, length: UInt32)
    /// A SLIT distance that is not 10 on the diagonal or not above 10 elsewhere.
    /// Linux: slit_valid()
    case invalidSLIT(from: Int, to: Int, distance: UInt8)
    /// The SLIT has no row for one of the SRAT's proximity domains.
    case slitMissesDomain(UInt32, localities: UInt64)

    /// One line for the kernel log.
    public var message: String {
        switch self {
        case .badRSDPSignature:
            return "RSDP signature is not \"RSD PTR \""
        case .truncatedRSDP(let length, let needed):
            return "RSDP is \(length) bytes, its revision needs \(needed)"
        case .badRSDPChecksum(let extended):
            return extended ? "RSDP extended checksum is wrong" : "RSDP checksum is wrong"
        case .unreachable(let address, let count):
            return "cannot reach \(count) bytes at 0x\(Fmt.hex(address.value))"
        case .badTableLength(let signature, let address, let length):
            return "\(signature.name) at 0x\(Fmt.hex(address.value)) has invalid length \(length)"
        case .badChecksum(let signature, let address):
            return "\(signature.name) at 0x\(Fmt.hex(address.value)) has a bad checksum"
        case .wrongSignature(let expected, let found, let address):
            return "expected \(expected.name) at 0x\(Fmt.hex(address.value)), found \(found.name)"
        case .tableNotFound(let signature):
            return "no \(signature.name) table"
        case .badMADTEntry(let offset, let type, let length):
            return "[APIC:0x\(Fmt.hex(type, digits: 2))] invalid entry at offset \(offset), length \(length)"
        case .badSRATEntry(let offset, let type, let length):
            return "[SRAT:0x\(Fmt.hex(type, digits: 2))] invalid entry at offset \(offset), length \(length)"
        case .tooManyProximityDomains(let count):
            return "SRAT: Too many proximity domains (\(count), at most \(NodeMask.capacity))"
        case .badSRATMemory(let domain, let start):
            return "SRAT: PXM \(domain) memory at 0x\(Fmt.hex(start.value)) wraps past the address space"
        case .overlappingNodes(let a, let aStart, let b, let bStart):
            return "NUMA: node \(a) [mem 0x\(Fmt.hex(aStart.value, digits: 8))...] overlaps with node \(b) [mem 0x\(Fmt.hex(bStart.value, digits: 8))...]"
        case .noSRATMemory:
            return "SRAT: no enabled memory affinity"
        case .nodesMissRAM(let covered, let total):
            return "NUMA: nodes only cover \(covered)MB of your \(total)MB e820 RAM. Not used."
        case .badSLITLength(let localities, let length):
            return "SLIT: \(localities) localities do not fit in \(length) bytes"
        case .invalidSLIT(let from, let to, let distance):
            return "SLIT table looks invalid. Not used. (distance \(distance) from locality \(from) to \(to))"
        case .slitMissesDomain(let domain, let localities):
            return "SLIT: PXM \(domain) is beyond its \(localities) localities. Not used."
        }
    }
}
