// getdents64 fills the caller's buffer with variable-length records:
//   u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, the name and its NUL,
// each record padded to 8 bytes so the next one is aligned.

/// Packs `struct linux_dirent64` records into a buffer. Linux: filldir64() (fs/readdir.c)
public struct DirentWriter {
    public let buffer: UnsafeMutableRawBufferPointer
    /// Bytes filled so far: what getdents64 returns.
    public private(set) var used = 0

    /// Offset of d_name in a record. Linux: offsetof(struct linux_dirent64, d_name)
    public static let nameOffset = 19

    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// The size of a record for a name of `nameLength` bytes: header, name, NUL,
    /// rounded up to 8. Linux: ALIGN(offsetof(struct linux_dirent64, d_name) + namlen + 1, sizeof(u64))
    public static func recordLength(nameLength: Int) -> Int { (nameOffset + nameLength + 1 + 7) & ~7 }

    /// Appends one record; false (and nothing written) when it does not fit.
    /// `nextOffset` is the position a later getdents64 resumes from (d_off).
    public mutating func append(name: String, ino: UInt64, type: FileType, nextOffset: Int64) -> Bool {
        let length = Self.recordLength(nameLength: name.utf8.count)
        guard buffer.count - used >= length, let base = buffer.baseAddress else { return false }
        let record = base + used
        record.initializeMemory(as: UInt8.self, repeating: 0, count: length)
        record.storeBytes(of: ino.littleEndian, toByteOffset: 0, as: UInt64.self)
        record.storeBytes(of: nextOffset.littleEndian, toByteOffset: 8, as: Int64.self)
        record.storeBytes(of: UInt16(length).littleEndian, toByteOffset: 16, as: UInt16.self)
        record.storeBytes(of: type.direntType, toByteOffset: 18, as: UInt8.self)
        var offset = Self.nameOffset
        for byte in name.utf8 {
            record.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
        used += length
        return true
    }
}
