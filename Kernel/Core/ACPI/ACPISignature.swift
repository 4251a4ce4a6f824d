// Every ACPI table begins with four ASCII characters naming its type.

/// A table's four-character signature; the MADT's is "APIC". Linux: ACPI_SIG_MADT and friends
public struct ACPISignature: Hashable, Sendable {
    /// The four bytes as they lie in memory, read as a little-endian word.
    public let rawValue: UInt32

    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// From the four characters, as in `ACPISignature("APIC")`.
    public init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount == 4, "an ACPI signature has four characters")
        var value: UInt32 = 0
        text.withUTF8Buffer { for (i, byte) in $0.enumerated() { value |= UInt32(byte) << (8 * UInt32(i)) } }
        rawValue = value
    }

    /// Root System Description Table (32-bit entries). Linux: ACPI_SIG_RSDT
    public static var rsdt: ACPISignature { ACPISignature("RSDT") }
    /// Extended System Description Table (64-bit entries). Linux: ACPI_SIG_XSDT
    public static var xsdt: ACPISignature { ACPISignature("XSDT") }
    /// Multiple APIC Description Table. Linux: ACPI_SIG_MADT
    public static var madt: ACPISignature { ACPISignature("APIC") }
    /// System Resource Affinity Table. Linux: ACPI_SIG_SRAT
    public static var srat: ACPISignature { ACPISignature("SRAT") }
    /// System Locality Information Table. Linux: ACPI_SIG_SLIT
    public static var slit: ACPISignature { ACPISignature("SLIT") }

    /// The four characters, unprintable ones as "?".
    public var name: String {
        withUnsafeBytes(of: rawValue.littleEndian) { raw in
            String(decoding: raw.map { (0x20..<0x7f).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        }
    }
}
