// Boot-time memory bring-up: from GRUB's map to a running page allocator.
// Linux: setup_arch() → e820__memblock_setup(), then mem_init() → memblock_free_all()

enum MemorySetup {
    /// The boot-time view of RAM; frozen once the buddy allocator owns it.
    nonisolated(unsafe) static var memblock = Memblock()

    static func run() {
        collectRAM()
        NUMA.install(ACPIBoot.findNUMATopology(memory: memblock.memory))
        let frames = Int(memblock.endOfRAM.alignedUp().pfn)
        let bytes = UInt64(MemMap.bytesNeeded(frames: frames))
        // mem_map must be reachable through the boot tables' direct map (first 4 GiB).
        guard let memMapPhys = memblock.allocate(size: bytes, minimum: PhysAddr(1 << 20)),
              memMapPhys.value + bytes <= PhysicalMemoryMap.directMapEnd else {
            Panic.now("no room for mem_map (\(bytes) bytes) below 4 GiB")
        }
        let memMap = MemMap(storage: DirectMap.pointer(memMapPhys, as: Page.self), basePFN: 0, frames: frames)
        PageAllocator.install(nodeAllocators(memMap), memMap: memMap)
        addFreeMemory()
        PageAllocator.buildZonelists(NUMA.topology)
        LRU.setUp()
        Compaction.setUp()
        Workingset.setUp()
        let minFree = BuddyAllocator<DirectMap>.defaultMinFreeKilobytes(managedPages: PageAllocator.managedPages)
        VMSysctl.setMinFreeKilobytes(minFree)
        Log.info("min_free_kbytes: \(minFree) (the reserve below every zone's min watermark)")

        Log.notice("mem_map: \(frames) frames x \(MemoryLayout<Page>.stride) bytes = \((bytes + 1023) / 1024) KiB at 0x\(Fmt.hex(memMapPhys.value))")
        reportZones()
        // Linux: mem_init_print_info(): free / physical RAM, the rest reserved (holes not counted)
        let free = PageAllocator.freePages, total = PageAllocator.managedPages
        let ramPages = Int(memblock.memory.reduce(0) { $0 + $1.size } >> pageShift)
        Log.notice("Memory: \(free * 4)K/\(ramPages * 4)K available (\((ramPages - total) * 4)K reserved)")
    }

    /// One buddy allocator per node, each over its part of mem_map: from its
    /// first to its last frame of RAM (holes inside stay reserved). Keel's
    /// mem_map is one array (Linux's FLATMEM), and each node's is a view of
    /// it; Linux on x86-64 places each node's descriptors in that node's
    /// memory (SPARSEMEM_VMEMMAP), which matters for speed, not for meaning.
    /// Linux: alloc_node_data() + free_area_init_node()
    private static func nodeAllocators(_ memMap: MemMap) -> [BuddyAllocator<DirectMap>] {
        NUMA.topology.nodes.map { node in
            var start = memMap.endPFN, end = memMap.basePFN
            for range in node.memory {
                start = min(start, max(range.start.alignedUp().pfn, memMap.basePFN))
                end = max(end, min(range.end.pfn, memMap.endPFN))
            }
            if start >= end { start = memMap.basePFN; end = start }       // a node without memory
            return BuddyAllocator(memMap: memMap.view(start, end), memory: DirectMap(), node: node.id)
        }
    }

    /// Hands memblock's free memory to the node each part of it belongs to.
    /// RAM no node claims would be lost: the topology's nodes cover all of
    /// it (the SRAT parser checks), so this only says so if they do not.
    /// Linux: memblock_free_all()
    private static func addFreeMemory() {
        var unclaimed: UInt64 = 0
        for range in memblock.freeRanges() {
            var claimed: UInt64 = 0
            for node in NUMA.topology.nodes {
                for part in node.memory {
                    let start = max(range.start, part.start), end = min(range.end, part.end)
                    guard start < end else { continue }
                    PageAllocator.node(node.id).pointee.addFreeRange(start, end)
                    claimed += end - start
                }
            }
            unclaimed += range.size - claimed
        }
        if unclaimed > 0 { Log.warning("NUMA: \(unclaimed >> 10) KiB of free RAM in no node, not used") }
    }
    /// Usable RAM from the multiboot2 map, minus what is already in use.
    private static func collectRAM() {
        guard let map = Boot.info.memoryMap else { Panic.now("the boot loader gave no memory map") }
        for entry in map where entry.type == .usable {
            memblock.addMemory(PhysRange(entry.base, entry.base + entry.length))
        }
        // The first MiB: real-mode IVT, BIOS data, EBDA, VGA memory; Linux reserves it too.
        memblock.reserve(PhysRange(PhysAddr(0), PhysAddr(1 << 20)))
        memblock.reserve(KernelImage.physicalRange)
        let info = Boot.info!
        memblock.reserve(PhysRange(info.physicalAddress, info.physicalAddress + UInt64(info.block.count)))
        for module in info.modules { memblock.reserve(PhysRange(module.start, module.end)) }
    }

    /// Linux prints the same "Zone ranges:" block from free_area_init(): each
    /// zone's span over all nodes; then each node's zones' free lists.
    private static func reportZones() {
        Log.info("Zone ranges:")
        for type in ZoneType.allCases {
            var start = UInt64.max, end: UInt64 = 0, managed = 0
            for node in 0..<PageAllocator.nodeCount {
                let zone = PageAllocator.node(node).pointee.zone(type)
                guard zone.isPopulated else { continue }
                start = min(start, zone.startPFN)
                end = max(end, zone.endPFN)
                managed += zone.managedPages
            }
            guard managed > 0 else { continue }
            Log.info("  " + Fmt.padRight(type.name, 8) + "[mem 0x" + Fmt.hex(start << pageShift, digits: 16)
                     + "-0x" + Fmt.hex((end << pageShift) &- 1, digits: 16) + "] \(managed) pages")
        }
        if Log.shows(.info) {
            var sink = ConsoleSink()
            for node in 0..<PageAllocator.nodeCount { PageAllocator.node(node).pointee.writeBuddyInfo(to: &sink) }
        }
    }
}
