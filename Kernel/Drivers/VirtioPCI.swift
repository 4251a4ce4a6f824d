// The virtio 1.x PCI transport ("modern" virtio-pci): how a virtio driver
// finds its device's register blocks through the vendor capabilities, resets
// and initialises it (status handshake, feature negotiation), sets up a
// virtqueue and rings its doorbell. The layout facts are
// Kernel/Core/Virtio/VirtioPCILayout.swift; the device type on top is
// Kernel/Drivers/VirtioBlk.swift. Virtio spec 1.2, sections 3.1 and 4.1.
// Linux: drivers/virtio/virtio_pci_modern.c, virtio_pci_modern_dev.c

/// Linux: struct virtio_pci_modern_device
final class VirtioPCIDevice {
    let pci: PCIDevice
    /// The common configuration block, the device-specific configuration and
    /// the notification (doorbell) area. Used during probe (boot CPU alone)
    /// and, for `notify`, under the driver's queue lock.
    private let common: MMIORegion
    let deviceConfig: MMIORegion
    private let notifyArea: MMIORegion
    private let notifyMultiplier: UInt32

    /// Maps the three blocks; nil (after saying why) when one is missing or unmappable.
    init?(_ pci: PCIDevice) {
        self.pci = pci
        let config = pci.config
        func map(_ kind: VirtioPCICapability.Kind, minimum: UInt64) -> (MMIORegion, VirtioPCICapability)? {
            guard let cap = VirtioPCICapability.find(kind, in: config, capabilities: pci.capabilities),
                  cap.length >= minimum,
                  let region = pci.mapBAR(cap.bar, offset: cap.offset, bytes: cap.length) else { return nil }
            return (region, cap)
        }
        guard let (common, _) = map(.common, minimum: UInt64(VirtioCommonConfig.size)),
              let (deviceConfig, _) = map(.device, minimum: 1),
              let (notifyArea, notifyCap) = map(.notify, minimum: 2) else {
            Log.warning("virtio-pci \(pci.address.name): not a usable virtio 1.x device (capabilities missing or unmappable)")
            return nil
        }
        self.common = common
        self.deviceConfig = deviceConfig
        self.notifyArea = notifyArea
        notifyMultiplier = notifyCap.notifyOffsetMultiplier
    }

    var status: UInt8 { common.read8(VirtioCommonConfig.deviceStatus) }

    /// Adds bits to the status the device shows. Linux: virtio_add_status()
    func addStatus(_ bits: UInt8) { common.write8(VirtioCommonConfig.deviceStatus, status | bits) }

    /// Writing 0 resets the device; it is done when it reads back 0. False if
    /// it never does. Linux: vp_reset()
    func reset() -> Bool {
        common.write8(VirtioCommonConfig.deviceStatus, 0)
        for _ in 0..<1_000_000 {
            if status == 0 { return true }
            CPU.relax()
        }
        return false
    }

    /// Reset, ACKNOWLEDGE, DRIVER, then the features both sides know, which
    /// must include VIRTIO_F_VERSION_1; nil if the device refuses
    /// (FEATURES_OK does not stick). Returns the negotiated set.
    /// Linux: virtio_dev_probe() → virtio_features_ok()
    func negotiate(wanted: UInt64) -> UInt64? {
        guard reset() else { return nil }
        addStatus(VirtioStatus.acknowledge)
        addStatus(VirtioStatus.driver)
        var offered: UInt64 = 0
        for half in 0..<2 {
            common.write32(VirtioCommonConfig.deviceFeatureSelect, UInt32(half))
            offered |= UInt64(common.read32(VirtioCommonConfig.deviceFeature)) << (32 * UInt64(half))
        }
        let accepted = offered & (wanted | VirtioFeature.version1)
        guard accepted & VirtioFeature.version1 != 0 else { return nil }
        for half in 0..<2 {
            common.write32(VirtioCommonConfig.driverFeatureSelect, UInt32(half))
            common.write32(VirtioCommonConfig.driverFeature, UInt32(truncatingIfNeeded: accepted >> (32 * UInt64(half))))
        }
        addStatus(VirtioStatus.featuresOK)
        guard status & VirtioStatus.featuresOK != 0 else { return nil }
        return accepted
    }

    /// Reads device configuration with `body`, again if the device changed it
    /// meanwhile (the generation counter moved). Linux: virtio_cread() retry loop
    func readConfig<T>(_ body: (MMIORegion) -> T) -> T {
        while true {
            let before = common.read8(VirtioCommonConfig.configGeneration)
            let value = body(deviceConfig)
            if common.read8(VirtioCommonConfig.configGeneration) == before { return value }
        }
    }

    /// The largest size the device allows for queue `index` (0: no such queue).
    func maximumQueueSize(_ index: UInt16) -> Int {
        common.write16(VirtioCommonConfig.queueSelect, index)
        return Int(common.read16(VirtioCommonConfig.queueSize))
    }

    /// Gives queue `index` its size, ring addresses and MSI-X table entry, and
    /// enables it; returns its doorbell offset, or nil if the device would not
    /// take the MSI-X entry. Linux: vp_modern_find_vqs() → setup_vq()
    func enableQueue(_ index: UInt16, size: Int, descriptors: PhysAddr, driver: PhysAddr, device: PhysAddr,
                     msixEntry: UInt16) -> Int? {
        // Configuration changes interrupt nobody: Keel does not resize disks.
        common.write16(VirtioCommonConfig.configMSIXVector, VirtioCommonConfig.noVector)
        common.write16(VirtioCommonConfig.queueSelect, index)
        common.write16(VirtioCommonConfig.queueSize, UInt16(size))
        common.write64(VirtioCommonConfig.queueDescriptors, descriptors.value)
        common.write64(VirtioCommonConfig.queueDriver, driver.value)
        common.write64(VirtioCommonConfig.queueDevice, device.value)
        common.write16(VirtioCommonConfig.queueMSIXVector, msixEntry)
        guard common.read16(VirtioCommonConfig.queueMSIXVector) == msixEntry else { return nil }
        let offset = Int(common.read16(VirtioCommonConfig.queueNotifyOffset)) * Int(notifyMultiplier)
        guard offset + 2 <= notifyArea.length else { return nil }
        common.write16(VirtioCommonConfig.queueEnable, 1)
        return offset
    }

    /// Rings queue `index`'s doorbell: there are new buffers in its avail ring.
    /// Linux: vp_notify()
    func notify(_ index: UInt16, doorbell: Int) { notifyArea.write16(doorbell, index) }
}
