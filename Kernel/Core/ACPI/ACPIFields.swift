// ACPI's own field formats on top of the little-endian reads every packed
// structure shares (Kernel/Core/Base/LittleEndianBytes.swift).

/// Linux: the ACPICA table-field helpers
extension LittleEndianBytes {
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
