// Where the boot loader left its copy of the ACPI Root System Description Pointer.
// GRUB copies the firmware's RSDP into the boot information (tag 14 for ACPI 1.0,
// tag 15 for ACPI 2.0+), so the kernel need not scan the BIOS area for "RSD PTR ".

/// The RSDP copy inside the boot information; decoding it is the ACPI code's job.
public struct MultibootRSDP {
    /// True for the ACPI 2.0+ RSDP (tag 15, with the XSDT address), false for ACPI 1.0 (tag 14).
    public let isNew: Bool
    /// Offset of the RSDP's first byte in the boot-information block.
    public let offset: Int
    /// The RSDP's bytes (at least 20 for the old, 36 for the new structure).
    public let bytes: UnsafeRawBufferPointer
    /// Physical address of the copy (the block's address plus `offset`).
    public let physicalAddress: PhysAddr

    public var length: Int { bytes.count }

    /// Tag layout: type, size, then the RSDP structure copied verbatim.
    init(_ tag: MultibootTag, blockAddress: PhysAddr) throws(MultibootError) {
        isNew = tag.type == MultibootTagType.acpiNewRSDP
        try tag.require(size: 8 + (isNew ? 36 : 20))
        offset = tag.offset + 8
        bytes = tag.bytes(from: 8)
        physicalAddress = blockAddress + UInt64(offset)
    }
}
