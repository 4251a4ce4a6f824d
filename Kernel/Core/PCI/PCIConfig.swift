// PCI configuration space, decoded: what a function is (vendor, device, class),
// where its registers are (base address registers) and what optional features
// it has (the capability list). The kernel reads the bytes through port I/O
// (Kernel/Arch/x86_64/PCI.swift); the host tests through an array.
// Linux: drivers/pci/probe.c (pci_setup_device, __pci_read_base), drivers/pci/pci.c
// (pci_find_capability)

/// One function's 256 bytes of configuration space. Linux: pci_read_config_dword()
public protocol PCIConfigSpace {
    /// The aligned 32-bit word at `offset` (a multiple of 4 below 256).
    func read32(_ offset: Int) -> UInt32
}

extension PCIConfigSpace {
    public func read16(_ offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: read32(offset & ~3) >> (UInt32(offset & 2) * 8)) }
    public func read8(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: read32(offset & ~3) >> (UInt32(offset & 3) * 8)) }
}

/// Register offsets of the type 0 and type 1 headers. Linux: include/uapi/linux/pci_regs.h
public enum PCIRegister {
    public static let vendorID = 0x00, deviceID = 0x02, command = 0x04, status = 0x06
    public static let classRevision = 0x08, headerType = 0x0e, bar0 = 0x10
    public static let secondaryBus = 0x19                   // type 1 (bridge) headers
    public static let capabilityPointer = 0x34
    /// Command bits: respond to I/O and memory accesses, master DMA, no legacy INTx.
    public static let commandIO: UInt16 = 1 << 0, commandMemory: UInt16 = 1 << 1
    public static let commandBusMaster: UInt16 = 1 << 2, commandINTxDisable: UInt16 = 1 << 10
    /// Status bit: the capability pointer is valid. Linux: PCI_STATUS_CAP_LIST
    public static let statusCapabilityList: UInt16 = 1 << 4
}

/// A function's place on the bus: segment 0, bus, device (slot), function.
/// Linux: pci_dev->bus->number and devfn
public struct PCIAddress: Equatable, Sendable {
    public var bus: UInt8, device: UInt8, function: UInt8
    public init(bus: UInt8, device: UInt8, function: UInt8) {
        self.bus = bus; self.device = device; self.function = function
    }
    /// "0000:00:02.0", as Linux's pci_name().
    public var name: String {
        "0000:" + Fmt.hex(bus, digits: 2) + ":" + Fmt.hex(device, digits: 2) + "." + String(function)
    }
}

/// The identifying fields every function has. Linux: the fields pci_setup_device() fills
public struct PCIHeader: Equatable, Sendable {
    public var vendorID: UInt16, deviceID: UInt16
    /// Class, subclass and programming interface (0x010000: mass storage, SCSI).
    public var classCode: UInt32
    public var revision: UInt8
    /// 0 for an endpoint, 1 for a PCI-to-PCI bridge. Linux: pci_dev->hdr_type
    public var headerType: UInt8
    public var multiFunction: Bool
    public var hasCapabilities: Bool

    /// Nil when no function answers there (the bus returns all ones).
    public init?(_ config: some PCIConfigSpace) {
        let id = config.read32(PCIRegister.vendorID)
        guard id & 0xffff != 0xffff, id & 0xffff != 0 else { return nil }
        vendorID = UInt16(truncatingIfNeeded: id)
        deviceID = UInt16(truncatingIfNeeded: id >> 16)
        let classRevision = config.read32(PCIRegister.classRevision)
        classCode = classRevision >> 8
        revision = UInt8(truncatingIfNeeded: classRevision)
        let type = config.read8(PCIRegister.headerType)
        headerType = type & 0x7f
        multiFunction = type & 0x80 != 0
        hasCapabilities = config.read16(PCIRegister.status) & PCIRegister.statusCapabilityList != 0
    }

    /// "[1af4:1042] type 00 class 0x010000", as Linux's pci_setup_device() prints it.
    public var description: String {
        "[" + Fmt.hex(vendorID, digits: 4) + ":" + Fmt.hex(deviceID, digits: 4) + "] type "
            + Fmt.hex(headerType, digits: 2) + " class 0x" + Fmt.hex(classCode, digits: 6)
    }

    /// A bridge has two BARs, an endpoint six.
    public var barCount: Int { headerType == 1 ? 2 : headerType == 0 ? 6 : 0 }
}

/// A decoded base address register: where the function's registers are.
/// Linux: struct resource as __pci_read_base() fills it
public struct PCIBar: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case io, memory32, memory64 }
    public var kind: Kind
    public var base: UInt64
    public var size: UInt64
    public var prefetchable: Bool

    /// Decodes a BAR from its value and the value read back after writing all
    /// ones (the size probe); `high`/`highProbe` are the next BAR's, used when
    /// this is a 64-bit memory BAR. Nil when the BAR is not implemented.
    public init?(low: UInt32, lowProbe: UInt32, high: UInt32 = 0, highProbe: UInt32 = 0) {
        if low & 1 != 0 {
            kind = .io
            base = UInt64(low & ~3)
            let mask = lowProbe & ~3 & 0xffff
            guard mask != 0 else { return nil }
            size = UInt64((~mask &+ 1) & 0xffff)
            prefetchable = false
            return
        }
        prefetchable = low & 8 != 0
        if (low >> 1) & 3 == 2 {
            kind = .memory64
            base = UInt64(high) << 32 | UInt64(low & ~0xf)
            let mask = UInt64(highProbe) << 32 | UInt64(lowProbe & ~0xf)
            guard mask != 0 else { return nil }
            size = ~mask &+ 1
        } else {
            kind = .memory32
            base = UInt64(low & ~0xf)
            let mask = lowProbe & ~0xf
            guard mask != 0 else { return nil }
            size = UInt64(~mask &+ 1)
        }
    }

    public init(kind: Kind, base: UInt64, size: UInt64, prefetchable: Bool) {
        self.kind = kind; self.base = base; self.size = size; self.prefetchable = prefetchable
    }

    /// A 64-bit BAR takes two slots.
    public var slots: Int { kind == .memory64 ? 2 : 1 }

    /// "[mem 0xfe000000-0xfe003fff 64bit pref]", as Linux's %pR prints it.
    public var description: String {
        let end = base &+ size &- 1
        switch kind {
        case .io: return "[io  0x" + Fmt.hex(base, digits: 4) + "-0x" + Fmt.hex(end, digits: 4) + "]"
        case .memory32, .memory64:
            return "[mem 0x" + Fmt.hex(base, digits: 8) + "-0x" + Fmt.hex(end, digits: 8)
                + (kind == .memory64 ? " 64bit" : "") + (prefetchable ? " pref" : "") + "]"
        }
    }
}

/// One entry of the capability list. Linux: PCI_CAP_ID_*
public struct PCICapability: Equatable, Sendable {
    public var id: UInt8
    /// Where the capability's registers start in configuration space.
    public var offset: Int
    public init(id: UInt8, offset: Int) { self.id = id; self.offset = offset }

    public static let msi: UInt8 = 0x05, vendorSpecific: UInt8 = 0x09, pciExpress: UInt8 = 0x10, msix: UInt8 = 0x11

    /// Walks the list from the capability pointer. A pointer outside the
    /// device-specific area (0x40...0xfc) ends it, and so does a loop: a list
    /// has at most 48 entries. Linux: __pci_find_next_cap_ttl()
    public static func list(_ config: some PCIConfigSpace, header: PCIHeader) -> [PCICapability] {
        guard header.hasCapabilities else { return [] }
        var result: [PCICapability] = []
        var offset = Int(config.read8(PCIRegister.capabilityPointer) & 0xfc)
        while offset >= 0x40 && result.count < 48 {
            let word = config.read16(offset)
            result.append(PCICapability(id: UInt8(truncatingIfNeeded: word), offset: offset))
            offset = Int(UInt8(truncatingIfNeeded: word >> 8) & 0xfc)
        }
        return result
    }
}

/// The MSI-X capability: a table of (address, data) messages in one of the
/// function's BARs. Linux: msix_capability_init()
public struct MSIXCapability: Equatable, Sendable {
    public var offset: Int
    /// Entries in the table.
    public var tableSize: Int
    /// Which BAR holds the table, and where in it.
    public var tableBAR: Int, tableOffset: UInt64

    public init(_ config: some PCIConfigSpace, at offset: Int) {
        self.offset = offset
        tableSize = Int(config.read16(offset + 2) & 0x7ff) + 1
        let table = config.read32(offset + 4)
        tableBAR = Int(table & 7)
        tableOffset = UInt64(table & ~7)
    }

    /// Message control: enable, and mask all (function mask). Linux: PCI_MSIX_FLAGS_*
    public static let enable: UInt16 = 1 << 15, functionMask: UInt16 = 1 << 14
    /// Bytes per table entry: address low, address high, data, vector control.
    public static let entrySize = 16
}
