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
        }
    }
}
