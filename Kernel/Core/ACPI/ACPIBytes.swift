// Field reads from ACPI structures. Firmware packs its tables with no padding,
// so reads are unaligned and little-endian. The parsers prove every range lies
// inside the structure before reading, which is why these accessors do not.

/// Unaligned little-endian reads at byte offsets of an ACPI structure.
struct ACPIBytes {
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

    /// A fixed-width ASCII field such as an OEM ID, cut at the first NUL, with
    /// unprintable bytes shown as "?". Linux: acpi_tb_fix_string()
    func text(_ offset: Int, count: Int) -> String {
        var characters: [UInt8] = []
        for byte in bytes[offset..<offset + count] {
            if byte == 0 { break }
            characters.append((0x20..<0x7f).contains(byte) ? byte : UInt8(ascii: "?"))
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// The sum of all bytes modulo 256; a valid ACPI structure sums to zero.
    /// Linux: acpi_ut_checksum()
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt8 {
        var sum: UInt8 = 0
        for byte in bytes { sum &+= byte }
        return sum
    }
}
