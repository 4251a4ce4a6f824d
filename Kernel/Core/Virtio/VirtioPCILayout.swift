// The layout facts of virtio 1.x over PCI ("modern" virtio-pci): which vendor
// capabilities point at which register blocks, and the offsets inside the
// common configuration block. The driver that uses them is
// Kernel/Drivers/VirtioPCI.swift. Virtio spec 1.2, section 4.1.
// Linux: include/uapi/linux/virtio_pci.h, drivers/virtio/virtio_pci_modern_dev.c

/// A vendor-specific capability (id 0x09) of a virtio function: one register
/// block, `length` bytes at `offset` in BAR `bar`. Linux: struct virtio_pci_cap
public struct VirtioPCICapability: Equatable, Sendable {
    /// cfg_type. Linux: VIRTIO_PCI_CAP_*_CFG
    public enum Kind: UInt8, Sendable { case common = 1, notify = 2, isr = 3, device = 4, pciConfig = 5 }
    public var kind: Kind
    public var bar: Int
    public var offset: UInt64
    public var length: UInt64
    /// Notify capability only: queue_notify_off × this = the queue's doorbell offset.
    public var notifyOffsetMultiplier: UInt32

    /// Nil for a capability of a kind this driver does not know, or too short.
    public init?(_ config: some PCIConfigSpace, at offset: Int) {
        let capLength = config.read8(offset + 2)
        guard capLength >= 16, let kind = Kind(rawValue: config.read8(offset + 3)) else { return nil }
        self.kind = kind
        bar = Int(config.read8(offset + 4))
        self.offset = UInt64(config.read32(offset + 8))
        length = UInt64(config.read32(offset + 12))
        notifyOffsetMultiplier = kind == .notify && capLength >= 20 ? config.read32(offset + 16) : 0
        guard bar < 6 else { return nil }
    }

    /// The first capability of each kind, as the spec asks drivers to use.
    public static func find(_ kind: Kind, in config: some PCIConfigSpace,
                            capabilities: [PCICapability]) -> VirtioPCICapability? {
        for c in capabilities where c.id == PCICapability.vendorSpecific {
            if let v = VirtioPCICapability(config, at: c.offset), v.kind == kind { return v }
        }
        return nil
    }
}

/// Offsets in the common configuration block. Linux: struct virtio_pci_common_cfg
public enum VirtioCommonConfig {
    public static let deviceFeatureSelect = 0, deviceFeature = 4, driverFeatureSelect = 8, driverFeature = 12
    public static let configMSIXVector = 16, numQueues = 18, deviceStatus = 20, configGeneration = 21
    public static let queueSelect = 22, queueSize = 24, queueMSIXVector = 26, queueEnable = 28
    public static let queueNotifyOffset = 30, queueDescriptors = 32, queueDriver = 40, queueDevice = 48
    /// The block is at least this long.
    public static let size = 56
    /// "No MSI-X vector": what the device answers when it cannot use the one given.
    public static let noVector: UInt16 = 0xffff
}

/// Device status bits. Linux: include/uapi/linux/virtio_config.h
public enum VirtioStatus {
    public static let acknowledge: UInt8 = 1, driver: UInt8 = 2, driverOK: UInt8 = 4, featuresOK: UInt8 = 8
    public static let needsReset: UInt8 = 64, failed: UInt8 = 128
}

/// Feature bits shared by all devices. Linux: VIRTIO_F_*
public enum VirtioFeature {
    /// A virtio 1.x device (little-endian, modern layout). Linux: VIRTIO_F_VERSION_1
    public static let version1: UInt64 = 1 << 32
}
