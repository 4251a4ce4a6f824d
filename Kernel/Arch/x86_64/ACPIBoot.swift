// Reading the firmware's ACPI tables at boot: the SRAT and SLIT (the NUMA
// layout, before the page allocator exists) and the MADT's list of processors.
// The parsing is Kernel/Core/ACPI; this file supplies the memory access and
// the boot log.
// Linux: arch/x86/kernel/acpi/boot.c (acpi_boot_table_init, acpi_process_madt),
// arch/x86/mm/numa.c (x86_acpi_numa_init, dummy_numa_init)

/// ACPI tables seen through the direct map, or through an uncached mapping of
/// their own when they lie beyond it (never under QEMU, whose tables sit just
/// below the end of RAM). Linux: acpi_os_map_memory()
struct KernelACPIMemory: ACPIMemory {
    /// Physical addresses are 52 bits wide at most; a corrupt table pointer beyond is unreachable.
    private static let physicalLimit: UInt64 = 1 << 52
    /// Before the page allocator and the kernel's page tables exist there is no
    /// ioremap: only the boot direct map reaches (Linux: early_memremap()).
    var early = false

    func bytes(at address: PhysAddr, count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0 else { return nil }
        let (end, overflow) = address.value.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= Self.physicalLimit else { return nil }
        if end <= PhysicalMemoryMap.directMapEnd {
            return UnsafeRawBufferPointer(start: DirectMap.pointer(address, as: UInt8.self), count: count)
        }
        guard !early, let mapped = Vmalloc.ioremap(address, bytes: Int(address.value % pageSize) + count) else { return nil }
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

    /// The NUMA layout from the SRAT (and the SLIT, when there is a valid one),
    /// with `ram` (memblock's memory) divided among the nodes. MemorySetup asks
    /// before the page allocator exists, so the tables are read through the
    /// boot direct map only. Without a SRAT, or with one that cannot be used
    /// (said why), the machine is one node holding all of `ram`. Prints Linux's
    /// lines: the SRAT's entries, "NUMA: Node 0 [mem ...] + ...", "Initmem setup
    /// node 1 [mem ...]", or "No NUMA configuration found".
    /// Linux: x86_numa_init() → numa_init(x86_acpi_numa_init), else dummy_numa_init()
    static func findNUMATopology(memory ram: [PhysRange]) -> NUMATopology {
        let memory = KernelACPIMemory(early: true)
        var sink = ConsoleSink()
        let loud = Log.shows(.info)
        if let copy = Boot.info.rsdp {
            do throws(ACPIError) {
                let root = try RootTable(rsdp: RSDP(bytes: copy.bytes), memory: memory)
                let srat = try SRAT(root.find(.srat, memory: memory, minimumLength: SRAT.fixedSize))
                let info = try NUMAMemInfo(srat: srat, ram: ram)
                if loud { NUMALog.writeSRAT(srat, domains: info.domains, to: &sink) }
                let distances = slitDistances(root, memory: memory, domains: info.domains)
                if loud && distances != nil { NUMALog.writeDistanceTable(nodes: info.domains.count, to: &sink) }
                let topology = try NUMATopology(memInfo: info, srat: srat, distances: distances, memory: ram)
                if loud {
                    NUMALog.writeMerges(info, to: &sink)
                    NUMALog.writeNodes(topology, to: &sink)
                }
                return topology
            } catch {
                // A machine without a SRAT is the ordinary case, not an error.
                if case .tableNotFound = error {} else { Log.error("ACPI: " + error.message) }
            }
        }
        let single = NUMATopology.single(memory: ram, apicIDs: [])
        if loud {
            NUMALog.writeFakeNode(endOfRAM: ram.last?.end ?? PhysAddr(0), to: &sink)
            NUMALog.writeNodes(single, to: &sink)
        }
        return single
    }

    /// The node distances from the SLIT, if there is one that covers every
    /// domain; nil (after saying why, as Linux's "SLIT table looks invalid. Not
    /// used.") otherwise, and they are then 10 locally and 20 everywhere else.
    /// Linux: acpi_parse_slit()
    private static func slitDistances(_ root: RootTable, memory: KernelACPIMemory, domains: [UInt32]) -> [Int]? {
        do throws(ACPIError) {
            return try SLIT(root.find(.slit, memory: memory, minimumLength: SLIT.fixedSize)).nodeDistances(domains: domains)
        } catch {
            if case .tableNotFound = error {} else { Log.error("ACPI: " + error.message) }
            return nil
        }
    }
}
