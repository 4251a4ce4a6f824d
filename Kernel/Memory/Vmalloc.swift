// vmalloc: memory that is contiguous in the kernel's virtual address space but
// built from scattered physical frames, mapped page by page in the vmalloc area
// (docs/ARCHITECTURE.md, "Memory layout"). Each area has an unmapped guard page just below it, and the next
// area's guard lies just above it, so running off either end faults.
// `Vmalloc.lock` protects the list of areas and the kernel page table's
// vmalloc part; it is held across a whole allocation or free (frames, page
// tables, the TLB shootdown of a free: it leaves interrupts on for that).
// Linux: mm/vmalloc.c (vmalloc, vfree, struct vmap_area, vmap_area_lock)

/// One vmalloc allocation, kept in an address-sorted list whose nodes come from
/// the "vmap_area" slab cache. Linux: struct vmap_area (in an rbtree there)
struct VmArea {
    /// First mapped byte; the guard page is the page before it.
    var start: UInt64
    var pages: Int
    /// Kernel stacks are tracked so a fault on their guard page is reported as
    /// a stack overflow.
    var isStack: Bool
    /// ioremap areas map device registers, not frames of ours: vfree keeps the frames.
    var isIO: Bool
    var next: UnsafeMutablePointer<VmArea>?

    var end: UInt64 { start + UInt64(pages) * pageSize }
    var guardPage: UInt64 { start - pageSize }
}

enum Vmalloc {
    /// Protected by `lock` (and read without it only by a panic report).
    nonisolated(unsafe) private static var areas: UnsafeMutablePointer<VmArea>? = nil
    nonisolated(unsafe) private static var areaCache: KmemCacheRef? = nil
    /// Pages mapped by live areas (the vmalloc line of /proc/meminfo).
    nonisolated(unsafe) private(set) static var mappedPages = 0
    /// Linux: vmap_area_lock
    static let lock = SpinLock(LockClass("vmap_area_lock"), disablesInterrupts: false)

    /// Maps `bytes` (rounded up to pages) of fresh, zeroed frames. Linux: vmalloc()
    static func allocate(bytes: Int, isStack: Bool = false) -> UnsafeMutableRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        let pages = (bytes + Int(pageSize) - 1) / Int(pageSize)
        guard pages > 0, let (previous, start) = findGap(pages: pages), let node = newNode() else { return nil }
        let flags = KernelPageTable.kernelFlags(writable: true, executable: false)
        var frames = KernelFrameAllocator()
        for i in 0..<pages {
            let va = VirtAddr(start + UInt64(i) * pageSize)
            guard let frame = PageAllocator.allocate(flags: .zero) else {
                return abandon(node, start: start, mapped: i, freeFrames: true)
            }
            do {
                try KernelPageTable.table.map(va, to: frame, size: .size4K, flags: flags, allocator: &frames)
            } catch {
                PageAllocator.free(frame)
                return abandon(node, start: start, mapped: i, freeFrames: true)
            }
        }
        link(node, VmArea(start: start, pages: pages, isStack: isStack, isIO: false, next: nil), after: previous)
        return UnsafeMutableRawPointer(bitPattern: UInt(start))
    }

    /// Maps device registers at `phys` uncached into the vmalloc area. Linux: ioremap()
    static func ioremap(_ phys: PhysAddr, bytes: Int) -> UnsafeMutableRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        let pages = (bytes + Int(pageSize) - 1) / Int(pageSize)
        guard pages > 0, let (previous, start) = findGap(pages: pages), let node = newNode() else { return nil }
        var flags = KernelPageTable.kernelFlags(writable: true, executable: false)
        flags.formUnion([.cacheDisable, .writeThrough])
        var frames = KernelFrameAllocator()
        for i in 0..<pages {
            let offset = UInt64(i) * pageSize
            do {
                try KernelPageTable.table.map(VirtAddr(start + offset), to: phys.alignedDown() + offset, size: .size4K,
                                              flags: flags, allocator: &frames)
            } catch {
                // No memory for a page table: undo what is mapped (the device's
                // pages are not ours to free) and give the node back.
                return abandon(node, start: start, mapped: i, freeFrames: false)
            }
        }
        link(node, VmArea(start: start, pages: pages, isStack: false, isIO: true, next: nil), after: previous)
        return UnsafeMutableRawPointer(bitPattern: UInt(start + phys.value % pageSize))
    }

    private static func link(_ node: UnsafeMutablePointer<VmArea>, _ area: VmArea, after previous: UnsafeMutablePointer<VmArea>?) {
        node.initialize(to: area)
        if let previous {
            node.pointee.next = previous.pointee.next
            previous.pointee.next = node
        } else {
            node.pointee.next = areas
            areas = node
        }
        mappedPages += area.pages
    }

    /// Unmaps an area and frees its frames. Linux: vfree()
    static func free(_ pointer: UnsafeMutableRawPointer) {
        lock.lock()
        defer { lock.unlock() }
        let start = UInt64(UInt(bitPattern: pointer))
        var previous: UnsafeMutablePointer<VmArea>? = nil
        var node = areas
        while let area = node, area.pointee.start != start {
            previous = area
            node = area.pointee.next
        }
        guard let area = node else { Panic.now("vfree: 0x\(Fmt.hex(start)) is not a vmalloc area") }
        if let previous { previous.pointee.next = area.pointee.next } else { areas = area.pointee.next }
        unmapPages(start: area.pointee.start, count: area.pointee.pages, freeFrames: !area.pointee.isIO)
        mappedPages -= area.pointee.pages
        freeNode(area)
    }

    /// Pages of kernel stacks whose frames belong to node `node`, for
    /// nodeN/meminfo's KernelStack: each stack page is looked up in the
    /// kernel page table, under `lock`. Linux: NR_KERNEL_STACK_KB, which
    /// account_kernel_stack() adds to the node of each stack page
    static func stackPages(node: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        var count = 0
        var next = areas
        while let area = next {
            if area.pointee.isStack {
                for page in 0..<area.pointee.pages {
                    let virt = VirtAddr(area.pointee.start + UInt64(page) * pageSize)
                    if let mapped = KernelPageTable.table.translate(virt), NUMA.nodeOf(frame: mapped.phys) == node {
                        count += 1
                    }
                }
            }
            next = area.pointee.next
        }
        return count
    }

    // The two questions a panic report asks (where the stacks are): answered
    // without the lock, which the panicking CPU may hold.

    static func isStackAddress(_ address: UInt64) -> Bool {
        find { $0.isStack && address >= $0.start && address < $0.end }
    }

    static func isStackGuard(_ address: UInt64) -> Bool {
        find { $0.isStack && address >= $0.guardPage && address < $0.start }
    }

    private static func find(_ predicate: (VmArea) -> Bool) -> Bool {
        var node = areas
        while let area = node {
            if predicate(area.pointee) { return true }
            node = area.pointee.next
        }
        return false
    }

    /// The lowest address where `pages` plus a guard page fit, and the area it
    /// goes after (nil: at the head of the list).
    private static func findGap(pages: Int) -> (previous: UnsafeMutablePointer<VmArea>?, start: UInt64)? {
        let bytes = UInt64(pages) * pageSize
        var candidate = KernelLayout.vmallocStart + pageSize
        var previous: UnsafeMutablePointer<VmArea>? = nil
        var node = areas
        while let area = node {
            if candidate + bytes <= area.pointee.guardPage { return (previous, candidate) }
            candidate = area.pointee.end + pageSize
            previous = area
            node = area.pointee.next
        }
        guard candidate + bytes <= KernelLayout.vmallocEnd else { return nil }
        return (previous, candidate)
    }

    private static func newNode() -> UnsafeMutablePointer<VmArea>? {
        if areaCache == nil {
            areaCache = Slab.createCache("vmap_area", size: MemoryLayout<VmArea>.stride,
                                         align: MemoryLayout<VmArea>.alignment)
        }
        guard let cache = areaCache, let raw = Slab.alloc(cache) else { return nil }
        return raw.bindMemory(to: VmArea.self, capacity: 1)
    }

    private static func freeNode(_ node: UnsafeMutablePointer<VmArea>) {
        Slab.free(areaCache!, UnsafeMutableRawPointer(node))
    }

    /// Undoes a half-built area: its first `mapped` pages and its list node.
    private static func abandon(_ node: UnsafeMutablePointer<VmArea>, start: UInt64, mapped: Int,
                                freeFrames: Bool) -> UnsafeMutableRawPointer? {
        unmapPages(start: start, count: mapped, freeFrames: freeFrames)
        freeNode(node)
        return nil
    }

    private static func unmapPages(start: UInt64, count: Int, freeFrames: Bool) {
        // Emptied page tables wait with the data frames: a CPU's paging-structure
        // cache may still hold them until the flush below. Linux: the kernel
        // side of mmu_gather (tlb_remove_table)
        var later = DeferredFrees()
        for i in 0..<count {
            let va = VirtAddr(start + UInt64(i) * pageSize)
            do {
                let leaf = try KernelPageTable.table.unmap(va, freeEmptyTables: true, allocator: &later)
                if freeFrames { later.frames.append(leaf.entry.frame) }
            } catch {
                Panic.now("vunmap: page \(Fmt.hex(va.value)) of a live area is not mapped: \(error)")
            }
        }
        // Every CPU may cache these kernel translations (they are global): all
        // must forget them before the frames are reused.
        if count > 0 { TLB.flushRange(VirtAddr(start), VirtAddr(start + UInt64(count) * pageSize), on: SMP.online) }
        for frame in later.frames { PageAllocator.free(frame) }
    }
}

/// Frames an unmap gives back, freed by the caller after its TLB flush.
private struct DeferredFrees: FrameAllocator {
    var frames: [PhysAddr] = []
    /// An unmap never allocates.
    mutating func allocateFrame() -> PhysAddr? { nil }
    mutating func freeFrame(_ frame: PhysAddr) { frames.append(frame) }
}
