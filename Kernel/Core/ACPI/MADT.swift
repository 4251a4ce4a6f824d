// The Multiple APIC Description Table ("APIC"): where the local APICs' registers
// are, which processors exist (and may be started), the I/O APICs and the ISA
// interrupt overrides. After a 44-byte fixed part come variable-length entries,
// each starting with a type byte and a length byte.

/// A parsed, validated MADT. Linux: struct acpi_table_madt, acpi_parse_madt() and the
/// acpi_table_parse_madt() walks of acpi_parse_madt_lapic_entries()/_ioapic_entries()
public struct MADT: Sendable {
    /// Header, local APIC address, flags. Linux: sizeof(struct acpi_table_madt)
    public static let fixedSize = 44

    /// Entry types Keel reads. Linux: enum acpi_madt_type
    enum EntryType: UInt8 {
        case localAPIC = 0, ioAPIC = 1, interruptOverride = 2, localAPICNMI = 4, localAPICAddressOverride = 5
        case localX2APIC = 9

        /// Linux: sizeof(struct acpi_madt_local_apic) and friends, checked by BAD_MADT_ENTRY()
        var minimumLength: Int {
            switch self {
            case .localAPIC: 8
            case .ioAPIC: 12
            case .interruptOverride: 10
            case .localAPICNMI: 6
            case .localAPICAddressOverride: 12
            case .localX2APIC: 16
            }
        }
    }

    /// Physical address of every CPU's local APIC registers, after any type-5 override.
    public private(set) var localAPICAddress: PhysAddr
    /// The machine also has the two legacy 8259 PICs, to be masked. Linux: ACPI_MADT_PCAT_COMPAT
    public let hasLegacyPICs: Bool
    /// Type 0 and type 9 entries, in table order.
    public private(set) var processors: [MADTProcessor] = []
    public private(set) var ioAPICs: [MADTIOAPIC] = []
    public private(set) var interruptOverrides: [MADTInterruptOverride] = []
    public private(set) var localAPICNMIs: [MADTLocalAPICNMI] = []
    /// Well-formed entries of types Keel has no use for (NMI sources, x2APIC NMIs, GIC, …).
    public private(set) var otherEntries = 0

    /// Parses a verified "APIC" table; every entry must fit in the table and be at
    /// least as long as its type's structure.
    public init(_ table: ACPITable) throws(ACPIError) {
        guard table.header.signature == .madt else {
            throw .wrongSignature(expected: .madt, found: table.header.signature, address: table.address)
        }
        guard table.bytes.count >= Self.fixedSize else {
            throw .badTableLength(.madt, address: table.address, length: table.header.length)
        }
        let fields = LittleEndianBytes(bytes: table.bytes)
        localAPICAddress = PhysAddr(UInt64(fields.u32(36)))
        hasLegacyPICs = fields.u32(40) & 1 != 0
        let offsets: [Int]
        do { offsets = try table.entryOffsets(from: Self.fixedSize) { EntryType(rawValue: $0)?.minimumLength ?? 2 } } catch {
            throw .badMADTEntry(offset: error.offset, type: error.type, length: error.length)
        }
        for offset in offsets {
            if let known = EntryType(rawValue: fields.u8(offset)) { record(known, at: offset, fields) } else { otherEntries += 1 }
        }
    }

    private mutating func record(_ type: EntryType, at offset: Int, _ fields: LittleEndianBytes) {
        switch type {
        case .localAPIC:
            processors.append(MADTProcessor(apicID: UInt32(fields.u8(offset + 3)), processorUID: UInt32(fields.u8(offset + 2)),
                                            flags: LocalAPICFlags(rawValue: fields.u32(offset + 4)), isX2APIC: false))
        case .localX2APIC:
            processors.append(MADTProcessor(apicID: fields.u32(offset + 4), processorUID: fields.u32(offset + 12),
                                            flags: LocalAPICFlags(rawValue: fields.u32(offset + 8)), isX2APIC: true))
        case .ioAPIC:
            ioAPICs.append(MADTIOAPIC(id: fields.u8(offset + 2), address: PhysAddr(UInt64(fields.u32(offset + 4))),
                                      gsiBase: fields.u32(offset + 8)))
        case .interruptOverride:
            interruptOverrides.append(MADTInterruptOverride(bus: fields.u8(offset + 2), sourceIRQ: fields.u8(offset + 3),
                                                            gsi: fields.u32(offset + 4),
                                                            flags: MPSINTIFlags(rawValue: fields.u16(offset + 8))))
        case .localAPICNMI:
            localAPICNMIs.append(MADTLocalAPICNMI(processorUID: fields.u8(offset + 2),
                                                  flags: MPSINTIFlags(rawValue: fields.u16(offset + 3)),
                                                  lint: fields.u8(offset + 5)))
        case .localAPICAddressOverride:
            // Linux: acpi_parse_lapic_addr_ovr()
            localAPICAddress = PhysAddr(fields.u64(offset + 4))
        }
    }
}
