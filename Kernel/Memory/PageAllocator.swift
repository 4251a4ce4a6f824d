// The kernel's page allocator: the Core buddy allocator over the real mem_map,
// zeroing through the direct map. Every physical frame after boot comes from
// here. The free lists belong to `zoneLock`: every allocation and free holds it
// (system calls and faults on every CPU allocate; interrupt handlers never do,
// so it leaves interrupts on). Linux: alloc_pages() / __free_pages() in
// mm/page_alloc.c, zone->lock

enum PageAllocator {
    /// The allocator lives at a fixed address and is always used in place: a
    /// global Optional of this large struct would be copied on every access.
    nonisolated(unsafe) private static var storage: UnsafeMutablePointer<BuddyAllocator<DirectMap>>? = nil
    /// mem_map on its own: a small value for the hot paths (faults, fork) that
    /// only need a page descriptor.
    nonisolated(unsafe) private static var memMap: MemMap? = nil

    /// Hands the boot-time allocator over; called once by MemorySetup.
    static func install(_ allocator: BuddyAllocator<DirectMap>) {
        let slot = UnsafeMutablePointer<BuddyAllocator<DirectMap>>.allocate(capacity: 1)
        slot.initialize(to: allocator)
        storage = slot
        memMap = allocator.memMap
    }

    /// The free lists and counters of every zone. Keel has one node and
    /// takes the zones' locks as one. Linux: zone->lock
    static let zoneLock = SpinLock(LockClass("&zone->lock"), disablesInterrupts: false)

    /// The allocator itself: boot code (one CPU, before any user task) and
    /// readers of its counters. Everything else goes through allocate and free.
    static var buddy: UnsafeMutablePointer<BuddyAllocator<DirectMap>> { storage.unsafelyUnwrapped }

    /// Each CPU's list of free single frames; nil until `enablePerCPULists`.
    nonisolated(unsafe) private static var perCPU: UnsafeMutablePointer<PerCPUPages>? = nil

    /// Gives every CPU its list of free single frames (after the slab is up).
    /// Linux: setup_per_cpu_pageset()
    static func enablePerCPULists() {
        let lists = UnsafeMutablePointer<PerCPUPages>.allocate(capacity: SMP.maxCPUs)
        for cpu in 0..<SMP.maxCPUs { (lists + cpu).initialize(to: PerCPUPages()) }
        perCPU = lists
    }

    /// 2^order contiguous frames, or nil when the zones are exhausted. A
    /// single frame of the normal zones comes from this CPU's list when it can.
    /// Linux: alloc_pages() → rmqueue() (rmqueue_pcplist() for order 0)
    static func allocate(order: Int = 0, flags: GFP = .kernel) -> PhysAddr? {
        var block: PhysAddr? = nil
        if order == 0 && flags.subtracting(.zero) == .kernel, let lists = perCPU {
            block = lists[PerCPU.cpu].take()
        } else {
            block = allocateFromZones(order: order, flags: flags.subtracting(.zero))
        }
        if block == nil, let lists = perCPU {
            // Frames may sit on this CPU's list: give them back and try once more.
            lists[PerCPU.cpu].drain()
            block = allocateFromZones(order: order, flags: flags.subtracting(.zero))
        }
        Trace.pageAlloc(block, order: order, flags: flags)
        guard let block else { return nil }
        // Zeroing a block needs no lock: nobody else can see it yet.
        if flags.contains(.zero) {
            for i in 0..<(1 << order) { DirectMap().zeroFrame(block + UInt64(i) * pageSize) }
        }
        return block
    }

    /// Linux: rmqueue_buddy()
    fileprivate static func allocateFromZones(order: Int, flags: GFP) -> PhysAddr? {
        zoneLock.lock()
        let block = buddy.pointee.allocate(order: order, flags: flags)
        zoneLock.unlock()
        return block
    }

    /// Returns a block. A double free or wrong order is a kernel bug: panic,
    /// naming the frame and order. A single frame goes to this CPU's list.
    /// Linux: __free_pages() (free_unref_page() for order 0) with CONFIG_DEBUG_VM
    /// (Never inlined: a bad free's call trace should show this frame.)
    @inline(never)
    static func free(_ block: PhysAddr, order: Int = 0) {
        Trace.pageFree(block, order: order)
        if memMap.unsafelyUnwrapped.contains(pfn: block.pfn) {
            let flags = page(block).pointee.flags
            if flags.contains(.anon) { VMStat.add(.anonPages, -1) }    // (an anonymous page is always a single frame)
            if flags.contains(.lru) { LRU.deleteFreed(block) }
        }
        if order == 0, let lists = perCPU, isAllocatedSingleFrame(block) {
            lists[PerCPU.cpu].give(block)
            return
        }
        freeToZones(block, order: order)
    }

    /// Linux: __free_one_page() under zone->lock
    fileprivate static func freeToZones(_ block: PhysAddr, order: Int) {
        zoneLock.lock()
        do {
            try buddy.pointee.free(block, order: order)
        } catch {
            Panic.now("page allocator: " + error.message)
        }
        zoneLock.unlock()
    }

    /// True for the first frame of an allocated order-0 block. Anything else
    /// (a double free, a wrong order) goes to the buddy allocator's checks.
    private static func isAllocatedSingleFrame(_ frame: PhysAddr) -> Bool {
        guard frame.isPageAligned, memMap.unsafelyUnwrapped.contains(pfn: frame.pfn) else { return false }
        let descriptor = page(frame).pointee
        return descriptor.flags.contains(.head) && descriptor.private == 0
    }

    /// This CPU's list goes back to the zones. Linux: drain_local_pages()
    static func drainThisCPUList() {
        perCPU?[PerCPU.cpu].drain()
    }

    /// Records what a freshly allocated block (or a page changing hands, under
    /// its owner's locks) is used for; a free clears it. Nobody else writes the
    /// descriptor of an allocated block; /proc/kpageflags reads it racily.
    /// A page that becomes anonymous here counts in /proc/meminfo's AnonPages
    /// until `free` counts it out: the one place each happens, whichever path
    /// (a zero-filled page, a copy on write, a private file page written in
    /// place) made it. Linux: __folio_set_anon() with the NR_ANON_MAPPED count
    /// of folio_add_new_anon_rmap(), __SetPageSlab(), pagetable_ctor()
    static func mark(_ block: PhysAddr, _ use: PageFlags) {
        let descriptor = page(block)
        if use.contains(.anon) && !descriptor.pointee.flags.contains(.anon) { VMStat.add(.anonPages, 1) }
        descriptor.pointee.flags.formUnion(use)
    }

    /// The descriptor of a frame. Linux: pfn_to_page()
    static func page(_ frame: PhysAddr) -> UnsafeMutablePointer<Page> { memMap.unsafelyUnwrapped.page(at: frame) }

    /// Free frames: the zones' and the per-CPU lists' (Linux leaves the lists
    /// out of MemFree; Keel counts them, so memory given back shows at once).
    /// A snapshot, read without the locks.
    static var freePages: Int {
        var sum = buddy.pointee.freePages
        if let lists = perCPU { for cpu in 0..<SMP.maxCPUs { sum += lists[cpu].count } }
        return sum
    }
    static var managedPages: Int { buddy.pointee.managedPages }

    /// Each CPU's frames on its list that belong to zone `zone`, for
    /// /proc/zoneinfo's pagesets; a snapshot read without the owners' help.
    static func perCPUCounts(in zone: ZoneType) -> [Int] {
        var counts: [Int] = []
        guard let lists = perCPU else { return counts }
        for cpu in 0..<SMP.onlineCount { counts.append(lists[cpu].count(in: zone)) }
        return counts
    }
}

/// The page allocator as a FrameAllocator, for page-table pages.
struct KernelFrameAllocator: FrameAllocator {
    /// Where the frames may come from: `.dma32` (below 4 GiB) while the kernel
    /// builds its own tables, because until they are loaded only the boot
    /// tables' direct map of the first 4 GiB reaches a new table's bytes.
    var flags: GFP = .kernel

    mutating func allocateFrame() -> PhysAddr? {
        guard let frame = PageAllocator.allocate(flags: flags) else { return nil }
        PageAllocator.mark(frame, .pageTable)
        return frame
    }
    mutating func freeFrame(_ frame: PhysAddr) { PageAllocator.free(frame) }
}

/// One CPU's free single frames: most order-0 allocations and frees stop here
/// and never touch the zone lock. Filled and emptied `batch` frames at a time
/// under it; never longer than `high`.
///
/// Only its own CPU touches it, and needs no lock for that: the kernel is not
/// preemptible, and no interrupt handler allocates or frees. (Other CPUs read
/// `count` for MemFree, a snapshot.) The price: when memory runs out a CPU can
/// give back only its own list, so up to `high` frames per other CPU stay
/// parked; Linux drains them all with an IPI (drain_all_pages()), which Keel
/// leaves out. Linux: struct per_cpu_pages (pcp->count, high, batch; Linux
/// also takes pcp->lock, for remote drains)
struct PerCPUPages {
    static let high = 32
    static let batch = 8
    private var frames = InlineArray<32, PhysAddr>(repeating: PhysAddr(0))     // `high` of them
    private(set) var count = 0

    /// A frame from the list, refilled from the zones when empty; nil when they
    /// have none above the watermark either. Linux: rmqueue_pcplist()
    mutating func take() -> PhysAddr? {
        if count == 0 {
            PageAllocator.zoneLock.lock()
            while count < Self.batch, let frame = PageAllocator.buddy.pointee.allocate(order: 0) {
                frames[count] = frame
                count += 1
            }
            PageAllocator.zoneLock.unlock()
            guard count > 0 else { return nil }
        }
        count -= 1
        let frame = frames[count]
        let descriptor = PageAllocator.page(frame)
        descriptor.pointee.flags = .head                        // allocated again, as prep_new_page() leaves it
        return frame
    }

    /// Keeps a freed single frame; a full list first gives a batch back.
    /// Linux: free_unref_page() → free_pcppages_bulk()
    mutating func give(_ frame: PhysAddr) {
        if count == Self.high { giveBack(Self.batch) }
        let descriptor = PageAllocator.page(frame)
        descriptor.pointee = Page(flags: .perCPUList)          // a second free is caught as double
        frames[count] = frame
        count += 1
    }

    /// Frames on the list from `zone` (read by other CPUs: a snapshot).
    func count(in zone: ZoneType) -> Int {
        var n = 0
        for i in 0..<min(count, Self.high) where ZoneType(pfn: frames[i].pfn) == zone { n += 1 }
        return n
    }

    /// Everything goes back to the zones. Linux: drain_pages_zone()
    mutating func drain() {
        giveBack(count)
    }

    /// The `n` most recently freed frames back to the zones.
    private mutating func giveBack(_ n: Int) {
        PageAllocator.zoneLock.lock()
        for _ in 0..<n {
            count -= 1
            let frame = frames[count]
            let descriptor = PageAllocator.page(frame)
            descriptor.pointee.flags = .head                      // as the buddy allocator handed it out
            descriptor.pointee.private = 0
            do {
                try PageAllocator.buddy.pointee.free(frame, order: 0)
            } catch {
                Panic.now("page allocator: " + error.message)
            }
        }
        PageAllocator.zoneLock.unlock()
    }
}
