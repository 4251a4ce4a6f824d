// Physical memory regions as the firmware reports them. Multiboot2's memory-map
// tag passes the BIOS e820 entries through unchanged, so Keel uses Linux's e820
// vocabulary for them (arch/x86/include/asm/e820/types.h).

/// What a physical memory region may be used for. Linux: enum e820_type
public enum E820Type: Equatable {
    /// RAM the kernel may allocate. Linux: E820_TYPE_RAM
    case usable
    /// Firmware or device memory; never touch. Linux: E820_TYPE_RESERVED
    case reserved
    /// ACPI tables; RAM once they have been read. Linux: E820_TYPE_ACPI
    case acpiReclaimable
    /// ACPI non-volatile storage, kept across sleep states. Linux: E820_TYPE_NVS
    case acpiNVS
    /// Defective RAM. Linux: E820_TYPE_UNUSABLE
    case badRAM
    /// Any other type number (for example 7, persistent memory); treated as reserved.
    case other(UInt32)

    /// Decodes the type field of a memory-map entry.
    public init(rawValue: UInt32) {
        switch rawValue {
        case 1: self = .usable
        case 2: self = .reserved
        case 3: self = .acpiReclaimable
        case 4: self = .acpiNVS
        case 5: self = .badRAM
        default: self = .other(rawValue)
        }
    }

    /// The type field as the firmware encodes it.
    public var rawValue: UInt32 {
        switch self {
        case .usable: 1
        case .reserved: 2
        case .acpiReclaimable: 3
        case .acpiNVS: 4
        case .badRAM: 5
        case .other(let n): n
        }
    }
}

/// One region of the physical memory map. Linux: struct e820_entry
public struct E820Entry: Equatable {
    /// First byte of the region. Linux: e820_entry.addr
    public var base: PhysAddr
    /// Length in bytes. Linux: e820_entry.size
    public var length: UInt64
    public var type: E820Type

    public init(base: PhysAddr, length: UInt64, type: E820Type) {
        self.base = base
        self.length = length
        self.type = type
    }

    /// First byte after the region (wraps like Linux's unsigned arithmetic).
    public var end: PhysAddr { PhysAddr(base.value &+ length) }
    /// Last byte of the region: the inclusive end e820 tables print.
    public var last: PhysAddr { PhysAddr(base.value &+ length &- 1) }
}

extension Sequence where Element == E820Entry {
    /// Total bytes in `.usable` regions, saturating at UInt64.max because the
    /// lengths come from firmware. Regions are assumed not to overlap, as GRUB
    /// reports them; Linux would sanitize first (e820__update_table()).
    public var usableBytes: UInt64 {
        var total: UInt64 = 0
        for entry in self where entry.type == .usable {
            total = entry.length > UInt64.max - total ? UInt64.max : total + entry.length
        }
        return total
    }
}
