// Field reads from packed little-endian structures: ELF headers, ACPI tables.
// Such structures sit at arbitrary offsets, so reads are unaligned. The parsers
// prove every range lies inside the buffer before reading, which is why these
// accessors do not check again.

/// Unaligned little-endian reads at byte offsets of a buffer.
public struct LittleEndianBytes {
    public let bytes: UnsafeRawBufferPointer

    @inlinable public init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inlinable public func u8(_ offset: Int) -> UInt8 { bytes[offset] }
    @inlinable public func u16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inlinable public func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inlinable public func u64(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// Unaligned little-endian writes at byte offsets of a buffer (on-disk
/// structures such as ext2's). As with `LittleEndianBytes`, the caller has
/// checked that every offset lies inside the buffer.
public struct LittleEndianMutableBytes {
    public let bytes: UnsafeMutableRawBufferPointer

    @inlinable public init(bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    @inlinable public func setU8(_ offset: Int, _ value: UInt8) { bytes[offset] = value }
    @inlinable public func setU16(_ offset: Int, _ value: UInt16) {
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self)
    }
    @inlinable public func setU32(_ offset: Int, _ value: UInt32) {
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
}
