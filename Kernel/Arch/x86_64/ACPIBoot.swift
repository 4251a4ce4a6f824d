// Reading the firmware's ACPI tables at boot, for the one thing Keel needs from
// them so far: the MADT's list of processors. The parsing is Kernel/Core/ACPI;
// this file supplies the memory access and the boot log.
// Linux: arch/x86/kernel/acpi/boot.c (acpi_boot_table_init, acpi_process_madt)

/// ACPI tables seen through the direct map, or through an uncached mapping of
/// their own when they lie beyond it (never under QEMU, whose tables sit just
/// below the end of RAM). Linux: acpi_os_map_memory()
struct KernelACPIMemory: ACPIMemory {
    /// Physical addresses are 52 bits wide at most; a corrupt table pointer beyond is unreachable.
    private static let physicalLimit: UInt64 = 1 << 52

    func bytes(at address: PhysAddr, count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0 else { return nil }
        let (end, overflow) = address.value.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= Self.physicalLimit else { return nil }
        if end <= PhysicalMemoryMap.directMapEnd {
            return UnsafeRawBufferPointer(start: DirectMap.pointer(address, as: UInt8.self), count: count)
        }
        guard let mapped = Vmalloc.ioremap(address, bytes: Int(address.value % pageSize) + count) else { return nil }
        return UnsafeRawBufferPointer(start: mapped, count: count)
    }
}

enum ACPIBoot {
    /// The MADT, found from the RSDP copy the boot loader passed; nil (after
    /// saying why) when there is none or the tables are malformed. Prints the
    /// table list as Linux does, and the MADT's entries at loglevel=8.
    static func findMADT() -> MADT? {
        guard let copy = Boot.info.rsdp else {
            Log.warning("ACPI: the boot loader passed no RSDP")
            return nil
        }
        let memory = KernelACPIMemory()
        var sink = ConsoleSink()
        do throws(ACPIError) {
            let rsdp = try RSDP(bytes: copy.bytes)
            let root = try RootTable(rsdp: rsdp, memory: memory)
            if Log.shows(.info) {
                // Linux prints the firmware's RSDP address; Keel reads the boot loader's copy.
                ACPILog.writeRSDP(rsdp, at: copy.physicalAddress, to: &sink)
                ACPILog.writeTable(root.table.header, at: root.table.address, to: &sink)
                for (address, header) in root.headers(memory: memory) { ACPILog.writeTable(header, at: address, to: &sink) }
            }
            let madt = try MADT(root.find(.madt, memory: memory, minimumLength: MADT.fixedSize))
            if Log.shows(.debug) { ACPILog.writeMADT(madt, to: &sink) }
            return madt
        } catch {
            Log.error("ACPI: " + error.message)
            return nil
        }
    }
}
