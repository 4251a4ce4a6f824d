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
        PageAllocator.install(BuddyAllocator(memMap: memMap, memory: DirectMap()))
        LRU.setUp(memMap: memMap)
        Workingset.setUp()
        for range in memblock.freeRanges() { PageAllocator.buddy.pointee.addFreeRange(range.start, range.end) }
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

    /// Linux prints the same "Zone ranges:" block from free_area_init().
    private static func reportZones() {
        Log.info("Zone ranges:")
        for type in ZoneType.allCases {
            let zone = PageAllocator.buddy.pointee.zone(type)
            guard zone.isPopulated else { continue }
            Log.info("  " + Fmt.padRight(zone.type.name, 8) + "[mem 0x" + Fmt.hex(zone.startPFN << pageShift, digits: 16)
                     + "-0x" + Fmt.hex((zone.endPFN << pageShift) &- 1, digits: 16) + "] \(zone.managedPages) pages")
        }
        if Log.shows(.info) {
            var sink = ConsoleSink()
            PageAllocator.buddy.pointee.writeBuddyInfo(to: &sink)
        }
    }
}
