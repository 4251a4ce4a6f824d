// Everything that can be wrong with a Multiboot2 boot-information block. The
// parser runs before anything else in the kernel, so a malformed block must be
// reported precisely (offset and tag) instead of trapping with no console to say why.

/// Why a Multiboot2 boot-information block was rejected. Offsets are byte
/// offsets from the start of the block; `type` is the tag type field.
public enum MultibootError: Error, Equatable {
    /// Fewer bytes than the 8-byte fixed part (total_size, reserved).
    case truncatedHeader(available: Int)
    /// total_size is smaller than the fixed part or larger than the bytes given.
    case badTotalSize(totalSize: UInt32, available: Int)
    /// A tag header (type, size) starts less than 8 bytes before total_size.
    case truncatedTagHeader(offset: Int)
    /// A tag's size is smaller than its fixed fields (or than its own 8-byte header).
    case tagTooSmall(offset: Int, type: UInt32, size: UInt32)
    /// A tag's size reaches past total_size.
    case tagOverrun(offset: Int, type: UInt32, size: UInt32)
    /// The tags reach total_size without an end tag (type 0).
    case missingEndTag
    /// A string field has no NUL before the end of its tag.
    case unterminatedString(offset: Int, type: UInt32)
    /// A module's mod_end lies below its mod_start.
    case badModuleRange(offset: Int, start: UInt32, end: UInt32)
    /// A memory-map entry_size is below the 24 bytes of base, length, type, reserved.
    case memoryMapEntryTooSmall(offset: Int, entrySize: UInt32)
    /// The memory-map entries do not fill the tag in whole entries.
    case memoryMapSizeMismatch(offset: Int, size: UInt32, entrySize: UInt32)
    /// A Multiboot (v1) field points at memory that cannot be read (`field` is
    /// its offset in the v1 structure), or names an absurd count or length.
    case version1Unreadable(field: Int)
    /// The v1 information does not fit the buffer it is rewritten into.
    case version1TooLarge(capacity: Int)
}

extension MultibootError {
    /// One line for the kernel log.
    public var message: String {
        switch self {
        case .truncatedHeader(let available): "header needs 8 bytes, \(available) available"
        case .badTotalSize(let total, let available): "total_size \(total) with \(available) bytes available"
        case .truncatedTagHeader(let offset): "tag header cut short at offset \(offset)"
        case .tagTooSmall(let offset, let type, let size): "tag type \(type) at offset \(offset) too small (\(size) bytes)"
        case .tagOverrun(let offset, let type, let size): "tag type \(type) at offset \(offset) (\(size) bytes) runs past total_size"
        case .missingEndTag: "no end tag"
        case .unterminatedString(let offset, let type): "string in tag type \(type) at offset \(offset) has no NUL"
        case .badModuleRange(let offset, let start, let end): "module at offset \(offset) ends (0x\(Fmt.hex(end))) before it starts (0x\(Fmt.hex(start)))"
        case .memoryMapEntryTooSmall(let offset, let entrySize): "memory map at offset \(offset): entry_size \(entrySize) < 24"
        case .memoryMapSizeMismatch(let offset, let size, let entrySize): "memory map at offset \(offset): \(size) bytes is not whole entries of \(entrySize)"
        case .version1Unreadable(let field): "multiboot v1 field at offset \(field) points at unreadable memory"
        case .version1TooLarge(let capacity): "multiboot v1 information does not fit \(capacity) bytes"
        }
    }
}
