// The RSDT and XSDT: a header followed by the physical addresses of every other
// table, 4 bytes each in the RSDT (ACPI 1.0), 8 in the XSDT (ACPI 2.0+).
// Finding the MADT means reading each listed header until one says "APIC".

/// The root table the RSDP points at. Linux: acpi_tb_parse_root_table()
public struct RootTable {
    public let table: ACPITable
    /// True for the XSDT (64-bit entries), false for the RSDT (32-bit).
    public let isExtended: Bool
    /// The listed tables' addresses in table order, null entries dropped
    /// (Linux warns "Null entry in XSDT" and skips them too).
    public let entries: [PhysAddr]

    public init<M: ACPIMemory>(rsdp: RSDP, memory: M) throws(ACPIError) {
        let (address, extended) = rsdp.root
        table = try ACPITable(at: address, memory: memory, expected: extended ? .xsdt : .rsdt)
        isExtended = extended
        let fields = LittleEndianBytes(bytes: table.bytes)
        let entrySize = extended ? 8 : 4
        var entries: [PhysAddr] = []
        var offset = ACPITableHeader.size
        while offset + entrySize <= table.bytes.count {
            let value = extended ? fields.u64(offset) : UInt64(fields.u32(offset))
            if value != 0 { entries.append(PhysAddr(value)) }
            offset += entrySize
        }
        self.entries = entries
    }

    /// The headers of the listed tables that can be reached, in order, for the
    /// boot log. Linux: acpi_tb_print_table_header() for each installed table
    public func headers<M: ACPIMemory>(memory: M) -> [(address: PhysAddr, header: ACPITableHeader)] {
        var result: [(address: PhysAddr, header: ACPITableHeader)] = []
        for address in entries {
            if let header = try? ACPITable.header(at: address, memory: memory) { result.append((address, header)) }
        }
        return result
    }

    /// The first listed table with `signature`, verified. A listed table whose
    /// header cannot be read is passed over, as Linux skips what it cannot map.
    /// Linux: acpi_get_table()
    public func find<M: ACPIMemory>(_ signature: ACPISignature, memory: M,
                                    minimumLength: Int = ACPITableHeader.size) throws(ACPIError) -> ACPITable {
        for address in entries {
            guard let header = try? ACPITable.header(at: address, memory: memory), header.signature == signature else {
                continue
            }
            return try ACPITable(at: address, memory: memory, expected: signature, minimumLength: minimumLength)
        }
        throw .tableNotFound(signature)
    }
}
