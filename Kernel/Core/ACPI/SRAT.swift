// The System Resource Affinity Table ("SRAT"): which proximity domain (a NUMA
// node, in the firmware's numbering) each processor and each range of memory
// belongs to. After a 48-byte fixed part come variable-length entries, each
// starting with a type byte and a length byte, like the MADT's.
//
// Proximity domains are arbitrary 32-bit numbers; Linux numbers its nodes
// densely, in the order it first meets each domain: processor entries first
// (in table order), then memory entries. Keel numbers them the same way, so a
// node number means the same under both kernels.

/// A parsed, validated SRAT. Linux: struct acpi_table_srat, acpi_numa_init()'s walks
/// (acpi_parse_processor_affinity, acpi_parse_x2apic_affinity, acpi_parse_memory_affinity)
public struct SRAT {
    /// Header, table revision (always 1), 8 reserved bytes. Linux: sizeof(struct acpi_table_srat)
    public static let fixedSize = 48

    /// Entry types Keel reads. Linux: enum acpi_srat_type
    enum EntryType: UInt8 {
        case processorAffinity = 0, memoryAffinity = 1, x2APICAffinity = 2

        /// Linux: sizeof(struct acpi_srat_cpu_affinity) and friends; a shorter entry
        /// is "SRAT: Unexpected header length" and the whole table is dropped (bad_srat())
        var minimumLength: Int {
            switch self {
            case .processorAffinity: 16
            case .memoryAffinity: 40
            case .x2APICAffinity: 24
            }
        }
    }

    /// A processor's proximity domain (type 0, 8-bit APIC ids, or type 2, x2APIC).
    /// Linux: struct acpi_srat_cpu_affinity, struct acpi_srat_x2apic_cpu_affinity
    public struct Processor: Equatable {
        public let domain: UInt32
        public let apicID: UInt32
        /// Linux: ACPI_SRAT_CPU_ENABLED; a disabled entry is ignored.
        public let enabled: Bool
        public let isX2APIC: Bool
        public init(domain: UInt32, apicID: UInt32, enabled: Bool, isX2APIC: Bool) {
            self.domain = domain; self.apicID = apicID; self.enabled = enabled; self.isX2APIC = isX2APIC
        }
    }

    /// A range of physical memory's proximity domain (type 1). Linux: struct acpi_srat_mem_affinity
    public struct Memory: Equatable {
        public let domain: UInt32
        public let range: PhysRange
        /// Linux: ACPI_SRAT_MEM_ENABLED; a disabled entry is ignored (QEMU ends its
        /// table with an empty disabled one).
        public let enabled: Bool
        /// Linux: ACPI_SRAT_MEM_HOT_PLUGGABLE
        public let hotPluggable: Bool
        /// Linux: ACPI_SRAT_MEM_NON_VOLATILE
        public let nonVolatile: Bool
        public init(domain: UInt32, range: PhysRange, enabled: Bool, hotPluggable: Bool = false, nonVolatile: Bool = false) {
            self.domain = domain; self.range = range; self.enabled = enabled
            self.hotPluggable = hotPluggable; self.nonVolatile = nonVolatile
        }
    }

    /// The table header's revision: up to 1, only the low byte of a proximity
    /// domain counts (ACPI 2.0's 8-bit domains). Linux: acpi_srat_revision
    public let revision: UInt8
    /// Types 0 and 2, in table order, enabled or not.
    public private(set) var processors: [Processor] = []
    /// Type 1 entries, in table order, enabled or not.
    public private(set) var memory: [Memory] = []
    /// Well-formed entries of types Keel has no use for (GICC, generic initiators, …).
    public private(set) var otherEntries = 0

    /// Parses a verified "SRAT" table; every entry must fit in the table and be at
    /// least as long as its type's structure.
    public init(_ table: ACPITable) throws(ACPIError) {
        guard table.header.signature == .srat else {
            throw .wrongSignature(expected: .srat, found: table.header.signature, address: table.address)
        }
        guard table.bytes.count >= Self.fixedSize else {
            throw .badTableLength(.srat, address: table.address, length: table.header.length)
        }
        revision = table.header.revision
        let fields = LittleEndianBytes(bytes: table.bytes)
        let offsets: [Int]
        do { offsets = try table.entryOffsets(from: Self.fixedSize) { EntryType(rawValue: $0)?.minimumLength ?? 2 } } catch {
            throw .badSRATEntry(offset: error.offset, type: error.type, length: error.length)
        }
        for offset in offsets {
            if let known = EntryType(rawValue: fields.u8(offset)) { record(known, at: offset, fields) } else { otherEntries += 1 }
        }
    }

    private mutating func record(_ type: EntryType, at offset: Int, _ fields: LittleEndianBytes) {
        switch type {
        case .processorAffinity:
            // Since revision 2 the domain has three more bytes at offset 9.
            var domain = UInt32(fields.u8(offset + 2))
            if revision >= 2 {
                domain |= UInt32(fields.u8(offset + 9)) << 8 | UInt32(fields.u8(offset + 10)) << 16
                    | UInt32(fields.u8(offset + 11)) << 24
            }
            processors.append(Processor(domain: domain, apicID: UInt32(fields.u8(offset + 3)),
                                        enabled: fields.u32(offset + 4) & 1 != 0, isX2APIC: false))
        case .x2APICAffinity:
            processors.append(Processor(domain: fields.u32(offset + 4), apicID: fields.u32(offset + 8),
                                        enabled: fields.u32(offset + 12) & 1 != 0, isX2APIC: true))
        case .memoryAffinity:
            let domain = revision <= 1 ? fields.u32(offset + 2) & 0xff : fields.u32(offset + 2)
            let base = fields.u64(offset + 8), length = fields.u64(offset + 16), flags = fields.u32(offset + 28)
            // A range that wraps past 2^64 is kept with its end at the top; the
            // topology builder rejects it (Linux: numa_add_memblk()'s "invalid memblk").
            let (end, overflow) = base.addingReportingOverflow(length)
            memory.append(Memory(domain: domain, range: PhysRange(PhysAddr(base), PhysAddr(overflow ? .max : end)),
                                 enabled: flags & 1 != 0, hotPluggable: flags & 2 != 0, nonVolatile: flags & 4 != 0))
        }
    }

    /// The enabled entries' proximity domains in Linux's node order: processors
    /// first, then memory, each domain where it first appears. Node n is
    /// `domains[n]`. Linux: acpi_map_pxm_to_node() as acpi_numa_init() calls it
    public var domains: [UInt32] {
        var result: [UInt32] = []
        for p in processors where p.enabled && !result.contains(p.domain) { result.append(p.domain) }
        for m in memory where m.enabled && !m.range.isEmpty && !result.contains(m.domain) { result.append(m.domain) }
        return result
    }
}
