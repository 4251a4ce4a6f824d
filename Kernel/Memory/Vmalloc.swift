// vmalloc: memory that is contiguous in the kernel's virtual address space but
// built from scattered physical frames, mapped page by page in the vmalloc area
// (DESIGN §3). Each area has an unmapped guard page just below it, and the next
// area's guard lies just above it, so running off either end faults.
// Linux: mm/vmalloc.c (vmalloc, vfree, struct vm_struct)

/// One vmalloc allocation. Linux: struct vm_struct
struct VmArea {
    /// First mapped byte; the guard page is the page before it.
    var start: UInt64
    var pages: Int
    /// Kernel stacks are tracked so a fault on their guard page is reported as
    /// a stack overflow.
    var isStack: Bool

    var end: UInt64 { start + UInt64(pages) * pageSize }
    var guardPage: UInt64 { start - pageSize }
}

enum Vmalloc {
    /// Live areas, sorted by address. Linux keeps them in an rbtree (vmap_area_root).
    nonisolated(unsafe) private static var areas: [VmArea] = []

    /// Maps `bytes` (rounded up to pages) of fresh frames. Linux: vmalloc()
    static func allocate(bytes: Int, isStack: Bool = false) -> UnsafeMutableRawPointer? {
        let pages = (bytes + Int(pageSize) - 1) / Int(pageSize)
        guard pages > 0, let (index, start) = findGap(pages: pages) else { return nil }
        let area = VmArea(start: start, pages: pages, isStack: isStack)
        let flags = KernelPageTable.kernelFlags(writable: true, executable: false)
        var frames = KernelFrameAllocator()
        for i in 0..<pages {
            guard let frame = PageAllocator.allocate(flags: .zero) else {
                unmapPages(of: VmArea(start: start, pages: i, isStack: isStack))
                return nil
            }
            do {
                try KernelPageTable.table.map(VirtAddr(start + UInt64(i) * pageSize), to: frame, size: .size4K,
                                              flags: flags, allocator: &frames)
            } catch {
                PageAllocator.free(frame)
                unmapPages(of: VmArea(start: start, pages: i, isStack: isStack))
                return nil
            }
        }
        areas.insert(area, at: index)
        return UnsafeMutableRawPointer(bitPattern: UInt(start))
    }

    /// Unmaps an area and frees its frames. Linux: vfree()
    static func free(_ pointer: UnsafeMutableRawPointer) {
        let start = UInt64(UInt(bitPattern: pointer))
        guard let index = areas.firstIndex(where: { $0.start == start }) else {
            Panic.now("vfree: 0x\(Fmt.hex(start)) is not a vmalloc area")
        }
        unmapPages(of: areas[index])
        areas.remove(at: index)
    }

    static func isStackAddress(_ address: UInt64) -> Bool {
        areas.contains { $0.isStack && address >= $0.start && address < $0.end }
    }

    static func isStackGuard(_ address: UInt64) -> Bool {
        areas.contains { $0.isStack && address >= $0.guardPage && address < $0.start }
    }

    static var mappedPages: Int { areas.reduce(0) { $0 + $1.pages } }

    /// The lowest address where `pages` plus a guard page fit between areas.
    private static func findGap(pages: Int) -> (index: Int, start: UInt64)? {
        var candidate = KernelLayout.vmallocStart + pageSize
        for (i, area) in areas.enumerated() {
            if candidate + UInt64(pages) * pageSize <= area.guardPage { return (i, candidate) }
            candidate = area.end + pageSize
        }
        guard candidate + UInt64(pages) * pageSize <= KernelLayout.vmallocEnd else { return nil }
        return (areas.count, candidate)
    }

    private static func unmapPages(of area: VmArea) {
        var frames = KernelFrameAllocator()
        for i in 0..<area.pages {
            let va = area.start + UInt64(i) * pageSize
            guard let leaf = try? KernelPageTable.table.unmap(VirtAddr(va), freeEmptyTables: true, allocator: &frames) else {
                continue
            }
            invlpg(va)
            PageAllocator.free(leaf.entry.frame)
        }
    }
}
