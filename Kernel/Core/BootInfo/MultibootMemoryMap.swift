// The memory-map tag (type 6) read in place: entries are decoded on access, so the
// kernel can walk the map to build its first allocator before any heap exists.

/// The firmware memory map from the boot information, as a collection of e820 entries.
/// Tag layout: type, size, entry_size u32, entry_version u32, then entries of
/// base u64, length u64, type u32, reserved u32 (entry_size may grow; extra bytes are skipped).
public struct MultibootMemoryMap: RandomAccessCollection {
    /// Offset of the first entry inside the tag.
    static let entriesOffset = 16
    /// base, length, type and reserved: the fields every entry version has.
    static let minimumEntrySize = 24

    private let tag: MultibootTag
    /// Bytes per entry, at least 24.
    public let entrySize: Int
    /// The entry_version field (0 in the current specification).
    public let entryVersion: UInt32
    public let count: Int

    init(_ tag: MultibootTag) throws(MultibootError) {
        try tag.require(size: Self.entriesOffset)
        let entrySize = tag.u32(at: 8)
        if entrySize < Self.minimumEntrySize {
            throw .memoryMapEntryTooSmall(offset: tag.offset, entrySize: entrySize)
        }
        let entryBytes = tag.size - Self.entriesOffset
        if entryBytes % Int(entrySize) != 0 {
            throw .memoryMapSizeMismatch(offset: tag.offset, size: UInt32(tag.size), entrySize: entrySize)
        }
        self.tag = tag
        self.entrySize = Int(entrySize)
        self.entryVersion = tag.u32(at: 12)
        self.count = entryBytes / Int(entrySize)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(index: Int) -> E820Entry {
        precondition(index >= 0 && index < count, "memory map index out of range")
        let field = Self.entriesOffset + index * entrySize
        return E820Entry(base: PhysAddr(tag.u64(at: field)),
                         length: tag.u64(at: field + 8),
                         type: E820Type(rawValue: tag.u32(at: field + 16)))
    }
}
