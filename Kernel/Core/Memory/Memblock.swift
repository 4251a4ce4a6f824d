// Boot-time bookkeeping of physical memory, before the buddy allocator exists:
// the usable RAM from the firmware map and the ranges carved out of it (the
// kernel image, the boot information, initramfs modules, mem_map itself).
// What is usable and not reserved becomes the buddy allocator's free memory.

/// A half-open range of physical addresses [start, end).
public struct PhysRange: Equatable {
    public var start: PhysAddr
    public var end: PhysAddr
    public init(_ start: PhysAddr, _ end: PhysAddr) { self.start = start; self.end = end }
    public var size: UInt64 { end - start }
    public var isEmpty: Bool { end <= start }
}

/// Usable and reserved physical ranges, each kept sorted and merged. Linux: struct memblock
public struct Memblock {
    /// RAM the firmware says is usable. Linux: memblock.memory
    public private(set) var memory: [PhysRange] = []
    /// Parts of that RAM already in use. Linux: memblock.reserved
    public private(set) var reserved: [PhysRange] = []

    public init() {}

    /// Linux: memblock_add()
    public mutating func addMemory(_ range: PhysRange) { Self.insert(range, into: &memory) }

    /// Linux: memblock_reserve()
    public mutating func reserve(_ range: PhysRange) { Self.insert(range, into: &reserved) }

    /// One past the highest usable byte. Linux: memblock_end_of_DRAM()
    public var endOfRAM: PhysAddr { memory.last?.end ?? PhysAddr(0) }

    /// Usable minus reserved, trimmed to whole pages. Linux: for_each_free_mem_range()
    public func freeRanges() -> [PhysRange] {
        var result: [PhysRange] = []
        for region in memory {
            var cursor = region.start
            for hole in reserved where hole.end > cursor && hole.start < region.end {
                appendPages(PhysRange(cursor, hole.start), to: &result)
                cursor = max(cursor, hole.end)
            }
            appendPages(PhysRange(cursor, region.end), to: &result)
        }
        return result
    }

    /// Finds, reserves and returns `size` free bytes aligned to `alignment` at or
    /// above `minimum`, lowest first, or nil. Linux: memblock_phys_alloc_range()
    public mutating func allocate(size: UInt64, alignment: UInt64 = pageSize, minimum: PhysAddr = PhysAddr(0)) -> PhysAddr? {
        for free in freeRanges() {
            let start = max(free.start, minimum).alignedUp(alignment)
            if start < free.end && free.end - start >= size {
                reserve(PhysRange(start, start + size))
                return start
            }
        }
        return nil
    }

    private func appendPages(_ range: PhysRange, to list: inout [PhysRange]) {
        let r = PhysRange(range.start.alignedUp(), range.end.alignedDown())
        if !r.isEmpty { list.append(r) }
    }

    /// Inserts keeping the list sorted, merging overlapping and touching ranges.
    private static func insert(_ range: PhysRange, into list: inout [PhysRange]) {
        guard !range.isEmpty else { return }
        var merged = range
        var out: [PhysRange] = []
        var placed = false
        for r in list {
            if r.end < merged.start {
                out.append(r)
            } else if merged.end < r.start {
                if !placed { out.append(merged); placed = true }
                out.append(r)
            } else {
                merged = PhysRange(min(r.start, merged.start), max(r.end, merged.end))
            }
        }
        if !placed { out.append(merged) }
        list = out
    }
}
