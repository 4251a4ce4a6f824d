// Field reads from an ELF file image. ELF structures sit at arbitrary file
// offsets, so reads are unaligned; the parser proves every range is inside the
// file before it reads, which is why these accessors do not check again.

/// Unaligned little-endian reads at byte offsets of an in-memory file.
struct ELFBytes {
    let bytes: UnsafeRawBufferPointer

    func u8(_ offset: Int) -> UInt8 { bytes[offset] }
    func u16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    func u64(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
