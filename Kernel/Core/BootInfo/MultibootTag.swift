// Tag-level access to a Multiboot2 boot-information block: walking the tag list
// with bounds checks, and little-endian reads inside one tag. Everything above
// this file reads the block only through a MultibootTag, so every byte access is
// checked against a tag whose bounds were validated first.

/// Tag types Keel reads (Multiboot2 spec §3.6). Others, such as the framebuffer (8), are skipped.
enum MultibootTagType {
    static let end: UInt32 = 0
    static let commandLine: UInt32 = 1
    static let bootLoaderName: UInt32 = 2
    static let module: UInt32 = 3
    static let basicMemoryInfo: UInt32 = 4
    static let memoryMap: UInt32 = 6
    static let acpiOldRSDP: UInt32 = 14
    static let acpiNewRSDP: UInt32 = 15
}

/// One tag: its 8-byte header (type, size) and body, all inside the block.
struct MultibootTag {
    /// Size of the type and size fields that start every tag.
    static let headerSize = 8

    /// The whole block, so fields can be located by their offset in it.
    let block: UnsafeRawBufferPointer
    /// Offset of the tag's first byte in the block.
    let offset: Int
    let type: UInt32
    /// The tag's size field: header plus body, without the padding to 8 bytes.
    let size: Int

    /// Reads a little-endian u32 at `field` bytes from the start of the tag.
    func u32(at field: Int) -> UInt32 {
        UInt32(littleEndian: block.loadUnaligned(fromByteOffset: offset + field, as: UInt32.self))
    }

    /// Reads a little-endian u64 at `field` bytes from the start of the tag.
    func u64(at field: Int) -> UInt64 {
        UInt64(littleEndian: block.loadUnaligned(fromByteOffset: offset + field, as: UInt64.self))
    }

    /// Bytes `field..<size` of the tag.
    func bytes(from field: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: block[(offset + field)..<(offset + size)])
    }

    /// Fails unless the tag holds at least `minimum` bytes (header included).
    func require(size minimum: Int) throws(MultibootError) {
        if size < minimum { throw .tagTooSmall(offset: offset, type: type, size: UInt32(size)) }
    }

    /// The NUL-terminated string starting `field` bytes into the tag.
    func string(at field: Int) throws(MultibootError) -> MultibootString {
        let tail = bytes(from: field)
        guard let nul = tail.firstIndex(of: 0) else {
            throw .unterminatedString(offset: offset, type: type)
        }
        return MultibootString(bytes: UnsafeRawBufferPointer(rebasing: tail[..<nul]))
    }
}

/// Iterates over the tags of a block, checking each header before handing it out.
/// Tags start 8-byte aligned; the end tag (type 0) stops the walk.
struct MultibootTagWalker {
    let block: UnsafeRawBufferPointer
    /// total_size: tags must end at or before it.
    let limit: Int
    private var offset = 8

    init(block: UnsafeRawBufferPointer, limit: Int) {
        self.block = block
        self.limit = limit
    }

    /// The next tag, or nil at the end tag.
    mutating func next() throws(MultibootError) -> MultibootTag? {
        if offset >= limit { throw .missingEndTag }
        if limit - offset < MultibootTag.headerSize { throw .truncatedTagHeader(offset: offset) }
        let type = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        let size = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        if size < MultibootTag.headerSize { throw .tagTooSmall(offset: offset, type: type, size: size) }
        if UInt64(size) > UInt64(limit - offset) { throw .tagOverrun(offset: offset, type: type, size: size) }
        if type == MultibootTagType.end { return nil }
        let tag = MultibootTag(block: block, offset: offset, type: type, size: Int(size))
        // Padding after a tag may run past total_size only if no tag follows;
        // the check at the top of the next call turns that into missingEndTag.
        offset += (Int(size) + 7) & ~7
        return tag
    }
}
