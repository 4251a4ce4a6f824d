// Interrupts from devices. A PCI Express device signals an interrupt by writing
// a message (MSI-X): a 32-bit value to an address in the 0xFEExxxxx window,
// which the chipset turns into that vector at the local APIC the address names.
// No I/O APIC is involved. Keel hands drivers vectors 0x40-0x4f and aims every
// message at the boot CPU. Linux: arch/x86/kernel/apic/msi.c,
// drivers/pci/msi/msi.c (msix_setup_msi_descs, pci_msix_write_vector_ctrl)

enum DeviceInterrupts {
    static let firstVector: UInt8 = 0x40
    static let vectorCount = 16

    /// The handler of each vector. Filled by drivers' probes on the boot CPU
    /// before their devices may interrupt, read-only afterwards: no lock.
    /// A handler runs with interrupts off and must not allocate or sleep.
    nonisolated(unsafe) private static var handlers: [(() -> Void)?] = Array(repeating: nil, count: vectorCount)
    /// Interrupts taken per vector (for /proc/interrupts one day); bumped by
    /// the interrupted CPU, read racily.
    nonisolated(unsafe) private(set) static var counts = [UInt64](repeating: 0, count: vectorCount)

    /// A free vector for `handler`; nil when all are taken. Linux: request_irq()
    static func allocate(_ handler: @escaping () -> Void) -> UInt8? {
        guard let slot = handlers.firstIndex(where: { $0 == nil }) else { return nil }
        handlers[slot] = handler
        counts[slot] = 0            // a global comes to life on first use: here, not in the handler
        return firstVector + UInt8(slot)
    }

    static func contains(_ vector: UInt64) -> Bool {
        vector >= UInt64(firstVector) && vector < UInt64(firstVector) + UInt64(vectorCount)
    }

    /// From keel_interrupt, interrupts off: the vector's handler.
    static func handle(_ vector: UInt64) {
        let slot = Int(vector - UInt64(firstVector))
        counts[slot] &+= 1
        handlers[slot]?()
    }

    /// Points MSI-X table entry `entry` of `device` at `vector` on the boot
    /// CPU, unmasks it and turns MSI-X on. False (after saying why) if the
    /// device has no MSI-X or its table cannot be mapped.
    /// Linux: pci_alloc_irq_vectors(dev, 1, n, PCI_IRQ_MSIX)
    static func enableMSIX(_ device: PCIDevice, entry: Int, vector: UInt8) -> Bool {
        guard let cap = device.capability(PCICapability.msix) else {
            Log.warning("pci \(device.address.name): no MSI-X capability")
            return false
        }
        let config = device.config
        let msix = MSIXCapability(config, at: cap.offset)
        guard entry < msix.tableSize,
              let table = device.mapBAR(msix.tableBAR, offset: msix.tableOffset,
                                        bytes: UInt64(msix.tableSize * MSIXCapability.entrySize)) else {
            Log.warning("pci \(device.address.name): MSI-X table entry \(entry) unusable")
            return false
        }
        let control = config.read16(cap.offset + 2)
        // Masked as a whole while the entry is written: no message from a half-written entry.
        config.write16(cap.offset + 2, control | MSIXCapability.enable | MSIXCapability.functionMask)
        let e = entry * MSIXCapability.entrySize
        // Address: the APIC window, destination APIC ID in bits 12-19, physical
        // destination mode, no redirection. Data: fixed delivery, edge, the vector.
        table.write32(e, 0xfee0_0000 | (LocalAPIC.id & 0xff) << 12)
        table.write32(e + 4, 0)
        table.write32(e + 8, UInt32(vector))
        table.write32(e + 12, 0)                                // vector control: unmasked
        config.write16(cap.offset + 2, (control | MSIXCapability.enable) & ~MSIXCapability.functionMask)
        return true
    }
}
