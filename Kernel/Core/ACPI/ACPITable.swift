// Every ACPI table after the RSDP starts with the same 36-byte header: a
// signature, the table's total length and a checksum over all of it. A table
// is used only after both have been checked.

/// The common table header. Linux: struct acpi_table_header
public struct ACPITableHeader: Equatable, Sendable {
    public static let size = 36

    public let signature: ACPISignature
    /// Bytes in the whole table, this header included.
    public let length: UInt32
    public let revision: UInt8
    public let oemID: String
    public let oemTableID: String
    public let oemRevision: UInt32
    /// The tool that built the table. Linux: asl_compiler_id
    public let creatorID: String
    public let creatorRevision: UInt32

    /// Reads a header from at least `size` bytes.
    init(_ fields: LittleEndianBytes) {
        signature = ACPISignature(rawValue: fields.u32(0))
        length = fields.u32(4)
        revision = fields.u8(8)
        oemID = fields.text(10, count: 6)
        oemTableID = fields.text(16, count: 8)
        oemRevision = fields.u32(24)
        creatorID = fields.text(28, count: 4)
        creatorRevision = fields.u32(32)
    }
}

/// A table whose length and checksum have been verified, with all its bytes.
/// Linux: acpi_tb_verify_temp_table()
public struct ACPITable {
    /// Longer tables are treated as corrupt rather than mapped (Keel's limit:
    /// the MADT of 64 CPUs is under 1 KiB; only the AML tables, never read here, are large).
    public static let maxLength: UInt32 = 1 << 20

    public let address: PhysAddr
    public let header: ACPITableHeader
    /// The whole table, `header.length` bytes, header included.
    public let bytes: UnsafeRawBufferPointer

    /// Just the header at `address`, for walking the root table without reading every table.
    public static func header<M: ACPIMemory>(at address: PhysAddr, memory: M) throws(ACPIError) -> ACPITableHeader {
        guard let raw = memory.bytes(at: address, count: ACPITableHeader.size) else {
            throw .unreachable(address, count: ACPITableHeader.size)
        }
        return ACPITableHeader(LittleEndianBytes(bytes: raw))
    }

    /// Reads and verifies the table at `address`: its signature (when `expected` is
    /// given), a length from `minimumLength` to `maxLength`, and the checksum.
    public init<M: ACPIMemory>(at address: PhysAddr, memory: M, expected: ACPISignature? = nil,
                               minimumLength: Int = ACPITableHeader.size) throws(ACPIError) {
        let header = try Self.header(at: address, memory: memory)
        if let expected, header.signature != expected {
            throw .wrongSignature(expected: expected, found: header.signature, address: address)
        }
        guard header.length >= UInt32(max(minimumLength, ACPITableHeader.size)), header.length <= Self.maxLength else {
            throw .badTableLength(header.signature, address: address, length: header.length)
        }
        guard let raw = memory.bytes(at: address, count: Int(header.length)) else {
            throw .unreachable(address, count: Int(header.length))
        }
        guard LittleEndianBytes.checksum(raw) == 0 else { throw .badChecksum(header.signature, address: address) }
        self.address = address
        self.header = header
        bytes = raw
    }
}

/// A subtable that does not fit: its offset from the table's start, type and length byte.
public struct ACPIBadEntry: Error, Equatable {
    public let offset: Int
    public let type: UInt8
    public let length: UInt8
}

extension ACPITable {
    /// The offsets of the type-and-length entries that follow a table's fixed
    /// part (the MADT's and the SRAT's), in order. Every entry must fit in the
    /// table, have a length of at least 2 and of at least `minimumLength(type)`;
    /// the first that does not is thrown. Linux: acpi_parse_entries_array()
    public func entryOffsets(from start: Int, minimumLength: (UInt8) -> Int) throws(ACPIBadEntry) -> [Int] {
        let fields = LittleEndianBytes(bytes: bytes)
        var offsets: [Int] = []
        var offset = start
        while offset < bytes.count {
            guard offset + 2 <= bytes.count else { throw ACPIBadEntry(offset: offset, type: fields.u8(offset), length: 0) }
            let type = fields.u8(offset), length = fields.u8(offset + 1)
            guard length >= 2, offset + Int(length) <= bytes.count, Int(length) >= minimumLength(type) else {
                throw ACPIBadEntry(offset: offset, type: type, length: length)
            }
            offsets.append(offset)
            offset += Int(length)
        }
        return offsets
    }
}
