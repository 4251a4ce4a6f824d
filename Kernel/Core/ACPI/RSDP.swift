// The Root System Description Pointer: the firmware's signpost to every other
// ACPI table. ACPI 1.0 defines 20 bytes pointing at the RSDT (32-bit table
// addresses); ACPI 2.0 extends it to 36 bytes with the XSDT (64-bit addresses).
// GRUB hands Keel a copy (MultibootRSDP); under QEMU's own Multiboot (v1) loader,
// which does not, Keel scans the BIOS area for it as Linux does (`scan`).

/// A validated RSDP. Linux: struct acpi_table_rsdp, acpi_tb_validate_rsdp()
public struct RSDP: Equatable, Sendable {
    /// Bytes of the ACPI 1.0 structure, covered by the checksum. Linux: ACPI_RSDP_CHECKSUM_LENGTH
    public static let v1Length = 20
    /// Bytes of the ACPI 2.0+ structure, covered by the extended checksum. Linux: ACPI_RSDP_XCHECKSUM_LENGTH
    public static let v2Length = 36

    public let oemID: String
    /// 0 for ACPI 1.0, 2 for ACPI 2.0 and later.
    public let revision: UInt8
    public let rsdtAddress: PhysAddr
    /// The XSDT (ACPI 2.0+), nil on ACPI 1.0 or when the firmware left it zero.
    public let xsdtAddress: PhysAddr?
    /// The structure's size: 20 for ACPI 1.0, the length field for 2.0+.
    public let length: Int

    /// The offset in `area` (a BIOS memory region: the first KiB of the EBDA,
    /// or 0xE0000-0xFFFFF) of the first 16-byte-aligned "RSD PTR " whose ACPI 1.0
    /// checksum holds. Allocates nothing: it runs before the heap exists.
    /// Linux: acpi_tb_scan_memory_for_rsdp()
    public static func scan(_ area: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        while offset + v1Length <= area.count {
            let candidate = UnsafeRawBufferPointer(rebasing: area[offset..<offset + v1Length])
            if candidate.starts(with: "RSD PTR ".utf8) && LittleEndianBytes.checksum(candidate) == 0 {
                return offset
            }
            offset += 16
        }
        return nil
    }

    public init(bytes: UnsafeRawBufferPointer) throws(ACPIError) {
        guard bytes.count >= Self.v1Length else { throw .truncatedRSDP(length: bytes.count, needed: Self.v1Length) }
        guard bytes.starts(with: "RSD PTR ".utf8) else { throw .badRSDPSignature }
        guard LittleEndianBytes.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<Self.v1Length])) == 0 else {
            throw .badRSDPChecksum(extended: false)
        }
        let fields = LittleEndianBytes(bytes: bytes)
        oemID = fields.text(9, count: 6)
        revision = fields.u8(15)
        rsdtAddress = PhysAddr(UInt64(fields.u32(16)))
        guard revision >= 2 else {
            xsdtAddress = nil
            length = Self.v1Length
            return
        }
        guard bytes.count >= Self.v2Length else { throw .truncatedRSDP(length: bytes.count, needed: Self.v2Length) }
        guard LittleEndianBytes.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<Self.v2Length])) == 0 else {
            throw .badRSDPChecksum(extended: true)
        }
        length = Int(fields.u32(20))
        let xsdt = fields.u64(24)
        xsdtAddress = xsdt == 0 ? nil : PhysAddr(xsdt)
    }

    /// The root table to walk: the XSDT when there is one, else the RSDT.
    /// Linux: acpi_tb_parse_root_table()
    public var root: (address: PhysAddr, isExtended: Bool) {
        if let xsdtAddress { return (xsdtAddress, true) }
        return (rsdtAddress, false)
    }
}
