// Finding the devices on the PCI bus. Configuration space is reached through
// the two legacy ports (configuration mechanism #1): write the function's
// address and a register number to 0xCF8, read or write the register at 0xCFC.
// QEMU's q35 also offers PCI Express ECAM (a memory window found through the
// ACPI MCFG table), which reaches the extended space beyond 256 bytes; nothing
// Keel drives needs that, so the ports are enough. The decoding is
// Kernel/Core/PCI; this file does the port accesses, the bus scan and the boot
// lines, as Linux prints them.
// Linux: arch/x86/pci/direct.c (pci_conf1_read), drivers/pci/probe.c (pci_scan_child_bus)

/// One function's configuration space through ports 0xCF8/0xCFC. The
/// address and data ports are one shared register pair, so every access
/// holds `PCI.configLock`. Linux: pci_conf1_read() under pci_config_lock
struct PCIPortConfig: PCIConfigSpace {
    let address: PCIAddress

    private func select(_ offset: Int) {
        outl(0xcf8, 0x8000_0000 | UInt32(address.bus) << 16 | UInt32(address.device) << 11
                    | UInt32(address.function) << 8 | UInt32(offset & 0xfc))
    }

    func read32(_ offset: Int) -> UInt32 {
        PCI.configLock.withLock { select(offset); return inl(0xcfc) }
    }

    func write32(_ offset: Int, _ value: UInt32) {
        PCI.configLock.withLock { select(offset); outl(0xcfc, value) }
    }

    /// A 16-bit register on its own: the word next to it (often a status
    /// register whose bits clear when written as ones) is left alone.
    func write16(_ offset: Int, _ value: UInt16) {
        PCI.configLock.withLock { select(offset); outw(0xcfc + UInt16(offset & 2), value) }
    }
}

/// A function found by the scan: where it is, what it is, its BARs and capabilities.
/// Linux: struct pci_dev
final class PCIDevice {
    let address: PCIAddress
    let header: PCIHeader
    /// Indexed by BAR number; the upper half of a 64-bit BAR stays nil.
    let bars: [PCIBar?]
    let capabilities: [PCICapability]
    var config: PCIPortConfig { PCIPortConfig(address: address) }

    init(address: PCIAddress, header: PCIHeader, bars: [PCIBar?], capabilities: [PCICapability]) {
        self.address = address; self.header = header; self.bars = bars; self.capabilities = capabilities
    }

    /// The first capability with this id. Linux: pci_find_capability()
    func capability(_ id: UInt8) -> PCICapability? { capabilities.first { $0.id == id } }

    /// Turns on memory decoding and bus mastering (the device may DMA), and
    /// turns off the legacy INTx line: Keel uses message-signalled interrupts.
    /// Linux: pci_enable_device_mem() + pci_set_master() + pci_intx(dev, 0)
    func enableMemoryAndBusMaster() {
        let command = config.read16(PCIRegister.command)
        config.write16(PCIRegister.command, command | PCIRegister.commandMemory | PCIRegister.commandBusMaster
                                            | PCIRegister.commandINTxDisable)
    }

    /// `bytes` at `offset` of memory BAR `bar`, mapped uncached; nil if the BAR
    /// is not memory, the range lies outside it, or there is no virtual space.
    /// Linux: pci_iomap_range()
    func mapBAR(_ bar: Int, offset: UInt64, bytes: UInt64) -> MMIORegion? {
        guard bar < bars.count, let b = bars[bar], b.kind != .io, offset <= b.size, bytes <= b.size - offset,
              bytes > 0 else { return nil }
        return MMIORegion.map(PhysAddr(b.base + offset), bytes: Int(bytes))
    }
}

enum PCI {
    /// Serialises the 0xCF8/0xCFC pair. Taken alone, with interrupts off (a
    /// config access from an interrupt handler must not find it held). Linux: pci_config_lock
    static let configLock = SpinLock(LockClass("pci_config_lock"))

    /// Every function the boot scan found. Written once by `scan` on the boot
    /// CPU before any driver runs, read-only afterwards: no lock.
    nonisolated(unsafe) private(set) static var devices: [PCIDevice] = []

    /// Scans bus 0 and every bus behind a bridge on it, printing each
    /// function and its BARs. Linux: pci_scan_root_bus() → pci_scan_child_bus()
    static func scan() {
        var found: [PCIDevice] = []
        scanBus(0, into: &found, depth: 0)
        devices = found
        Log.info("PCI: \(found.count) functions on the bus")
    }

    private static func scanBus(_ bus: UInt8, into found: inout [PCIDevice], depth: Int) {
        for device in UInt8(0)..<32 {
            let first = PCIPortConfig(address: PCIAddress(bus: bus, device: device, function: 0))
            guard let header = PCIHeader(first) else { continue }
            let functions: UInt8 = header.multiFunction ? 8 : 1
            for function in UInt8(0)..<functions {
                let config = PCIPortConfig(address: PCIAddress(bus: bus, device: device, function: function))
                guard let header = PCIHeader(config) else { continue }
                let dev = PCIDevice(address: config.address, header: header, bars: readBARs(config, header: header),
                                    capabilities: PCICapability.list(config, header: header))
                report(dev)
                found.append(dev)
                // A bridge: the buses behind it (a bridge loop cannot recurse for ever).
                if header.headerType == 1 && depth < 8 {
                    let secondary = config.read8(PCIRegister.secondaryBus)
                    if secondary > bus { scanBus(secondary, into: &found, depth: depth + 1) }
                }
            }
        }
    }

    /// Sizes each BAR the standard way: write all ones, read back which bits
    /// stuck, restore. Decoding is off meanwhile, so the device does not
    /// answer at the half-written address. Linux: __pci_read_base()
    private static func readBARs(_ config: PCIPortConfig, header: PCIHeader) -> [PCIBar?] {
        var bars = [PCIBar?](repeating: nil, count: header.barCount)
        let command = config.read16(PCIRegister.command)
        config.write16(PCIRegister.command, command & ~(PCIRegister.commandIO | PCIRegister.commandMemory))
        var i = 0
        while i < header.barCount {
            let offset = PCIRegister.bar0 + 4 * i
            let low = config.read32(offset)
            let lowProbe = probe(config, offset, low)
            var high: UInt32 = 0, highProbe: UInt32 = 0
            let is64 = low & 1 == 0 && (low >> 1) & 3 == 2 && i + 1 < header.barCount
            if is64 {
                high = config.read32(offset + 4)
                highProbe = probe(config, offset + 4, high)
            }
            bars[i] = PCIBar(low: low, lowProbe: lowProbe, high: high, highProbe: highProbe)
            i += is64 ? 2 : 1
        }
        config.write16(PCIRegister.command, command)
        return bars
    }

    private static func probe(_ config: PCIPortConfig, _ offset: Int, _ value: UInt32) -> UInt32 {
        config.write32(offset, 0xffff_ffff)
        let answer = config.read32(offset)
        config.write32(offset, value)
        return answer
    }

    /// "pci 0000:00:02.0: [1af4:1042] type 00 class 0x010000" and a line per BAR.
    private static func report(_ dev: PCIDevice) {
        let prefix = "pci " + dev.address.name + ": "
        Log.info(prefix + dev.header.description)
        for (i, bar) in dev.bars.enumerated() {
            if let bar { Log.info(prefix + "BAR \(i) " + bar.description) }
        }
    }
}
