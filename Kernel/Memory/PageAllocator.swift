// The kernel's page allocator: one Core buddy allocator per NUMA node (each a
// pg_data_t with its own zones and free lists) over the real mem_map, zeroing
// through the direct map. Every physical frame after boot comes from here.
//
// Where a page comes from: the caller's NodeChoice (a memory policy's), or by
// default the node of the CPU asking. Nodes are tried nearest first (each
// node's zonelist); in a first pass only nodes above their low watermark
// serve, so a node that runs short passes requests on to its neighbour
// (waking its kswapd) before anything dips into its reserve; the second pass
// goes down to the min watermark. Each allocation counts numa_hit or
// numa_miss/numa_foreign, numa_local or numa_other (NUMA.swift).
//
// Locking: each node's free lists belong to its `lock(n)`, taken for every
// allocation and free of its frames (system calls and faults on every CPU
// allocate; interrupt handlers never do, so it leaves interrupts on). No
// code holds two nodes' locks at once.
// Linux: alloc_pages() / __free_pages() in mm/page_alloc.c, zone->lock,
// build_zonelists()

enum PageAllocator {
    /// Each node's allocator, at a fixed address and always used in place (a
    /// global array of these large structs would be copied on every access).
    /// Index = node id. Linux: NODE_DATA(nid)
    nonisolated(unsafe) private static var nodes: UnsafeMutablePointer<BuddyAllocator<DirectMap>>? = nil
    /// Each node's lock, same index. Linux: zone->lock (Keel: one per node, for all its zones)
    nonisolated(unsafe) private static var locks: UnsafeMutablePointer<SpinLock>? = nil
    /// How many nodes `nodes` holds. Written once at boot.
    nonisolated(unsafe) private(set) static var nodeCount = 0
    /// The whole machine's mem_map (each node's is a view of it): a small
    /// value for the hot paths (faults, fork) that only need a descriptor.
    nonisolated(unsafe) private static var memMap: MemMap? = nil
    /// For each node, the nodes with memory nearest first: where its
    /// allocations go. Written once at boot. Linux: pgdat->node_zonelists
    nonisolated(unsafe) private static var zonelists: [[Int]] = []

    /// Hands the boot-time allocators over, one per node (index = node id);
    /// called once by MemorySetup, before their memory is added.
    static func install(_ allocators: [BuddyAllocator<DirectMap>], memMap machine: MemMap) {
        let slots = UnsafeMutablePointer<BuddyAllocator<DirectMap>>.allocate(capacity: allocators.count)
        let lockSlots = UnsafeMutablePointer<SpinLock>.allocate(capacity: allocators.count)
        for (n, allocator) in allocators.enumerated() {
            precondition(allocator.nodeID == n, "node allocators out of order")
            (slots + n).initialize(to: allocator)
            (lockSlots + n).initialize(to: SpinLock(LockClass("&zone->lock"), disablesInterrupts: false))
        }
        nodes = slots
        locks = lockSlots
        nodeCount = allocators.count
        memMap = machine
    }

    /// Orders each node's fallback list by distance, once every node's
    /// memory is in (a node without memory is in nobody's list).
    /// Linux: build_all_zonelists()
    static func buildZonelists(_ topology: NUMATopology) {
        zonelists = (0..<nodeCount).map { n in
            topology.fallbackOrder(from: n).filter { $0 < nodeCount && node($0).pointee.managedPages > 0 }
        }
    }

    /// The nodes `n`'s allocations fall back to, nearest first (itself first
    /// when it has memory). Linux: the node order of pgdat->node_zonelists
    static func zonelist(from n: Int) -> [Int] { n < zonelists.count ? zonelists[n] : zonelists.first ?? [] }

    /// Node `n`'s allocator: boot code (one CPU, before any user task) and
    /// readers of its counters. Everything else goes through allocate and free.
    static func node(_ n: Int) -> UnsafeMutablePointer<BuddyAllocator<DirectMap>> {
        precondition(n >= 0 && n < nodeCount, "no node \(n)")
        return nodes.unsafelyUnwrapped + n
    }

    /// The lock of node `n`'s free lists and counters. Linux: zone->lock
    static func lock(_ n: Int) -> SpinLock { locks.unsafelyUnwrapped[n] }

    /// Each CPU's list of free single frames of its own node; nil until
    /// `enablePerCPULists`.
    nonisolated(unsafe) private static var perCPU: UnsafeMutablePointer<PerCPUPages>? = nil

    /// Gives every CPU its list of free single frames (after the slab is up).
    /// Linux: setup_per_cpu_pageset()
    static func enablePerCPULists() {
        let lists = UnsafeMutablePointer<PerCPUPages>.allocate(capacity: SMP.maxCPUs)
        for cpu in 0..<SMP.maxCPUs { (lists + cpu).initialize(to: PerCPUPages()) }
        perCPU = lists
    }

    /// 2^order contiguous frames, or nil when every node `choice` allows is
    /// exhausted. `choice` nil: the node of this CPU first, then the others
    /// nearest first. A single frame of the local node comes from this CPU's
    /// list when it can. Linux: alloc_pages() / __alloc_pages(gfp, order,
    /// preferred_nid, nodemask) → rmqueue() (rmqueue_pcplist() for order 0)
    static func allocate(order: Int = 0, flags: GFP = .kernel, on choice: NodeChoice? = nil) -> PhysAddr? {
        let local = NUMA.localNode
        let choice = choice ?? NodeChoice(preferred: local)
        var block: PhysAddr? = nil
        if order == 0 && flags.subtracting([.zero, .directReclaim]) == .kernel && choice.preferred == local
            && choice.allowed?.contains(local) != false, let lists = perCPU {
            block = lists[PerCPU.cpu].take(node: local)
            if block != nil { NUMA.countAllocation(on: local, choice) }
        }
        if block == nil {
            block = allocateFromNodes(order: order, flags: flags.subtracting(.zero), choice)
        }
        if block == nil, let lists = perCPU {
            // Frames may sit on this CPU's list: give them back and try once more.
            lists[PerCPU.cpu].drain()
            block = allocateFromNodes(order: order, flags: flags.subtracting(.zero), choice)
        }
        if block == nil && order > 0 && flags.contains(.directReclaim) {
            block = Compaction.allocateAfterCompacting(order: order, flags: flags.subtracting(.zero), choice)
        }
        Trace.pageAlloc(block, order: order, flags: flags)
        guard let block else { return nil }
        // Zeroing a block needs no lock: nobody else can see it yet.
        if flags.contains(.zero) {
            for i in 0..<(1 << order) { DirectMap().zeroFrame(block + UInt64(i) * pageSize) }
        }
        return block
    }

    /// The nodes `choice` allows, nearest its preferred node first: above the
    /// low watermark in a first pass, down to the min one in a second.
    /// Linux: get_page_from_freelist() over the zonelist, twice
    static func allocateFromNodes(order: Int, flags: GFP, _ choice: NodeChoice) -> PhysAddr? {
        let from = choice.preferred < zonelists.count ? choice.preferred : 0
        for pass in 0..<2 {
            let aboveLow = pass == 0
            for n in zonelists[from] where choice.allowed?.contains(n) != false {
                if let block = allocate(order: order, flags: flags, fromNode: n, aboveLow: aboveLow) {
                    NUMA.countAllocation(on: n, choice)
                    return block
                }
            }
        }
        return nil
    }

    /// One node's free lists; wakes its kswapd when they fall below low.
    /// Linux: rmqueue_buddy()
    static func allocate(order: Int, flags: GFP, fromNode n: Int, aboveLow: Bool = false) -> PhysAddr? {
        let nodeLock = lock(n)
        nodeLock.lock()
        let allocator = node(n)
        let block = allocator.pointee.allocate(order: order, flags: flags, aboveLow: aboveLow)
        let low = allocator.pointee.freePages < allocator.pointee.lowWatermarkPages
        nodeLock.unlock()
        if low { Kswapd.wake(node: n) }
        return block
    }

    /// Returns a block. A double free or wrong order is a kernel bug: panic,
    /// naming the frame and order. A single frame of this CPU's node goes to
    /// this CPU's list. Linux: __free_pages() (free_unref_page() for order 0)
    /// with CONFIG_DEBUG_VM
    /// (Never inlined: a bad free's call trace should show this frame.)
    @inline(never)
    static func free(_ block: PhysAddr, order: Int = 0) {
        Trace.pageFree(block, order: order)
        if memMap.unsafelyUnwrapped.contains(pfn: block.pfn) {
            let flags = page(block).pointee.flags
            if flags.contains(.anon) { VMStat.add(.anonPages, -1) }    // (an anonymous page is always a single frame)
            if flags.contains(.lru) { LRU.deleteFreed(block) }
        }
        if order == 0, let lists = perCPU, isAllocatedSingleFrame(block), NUMA.nodeOf(frame: block) == NUMA.localNode {
            lists[PerCPU.cpu].give(block)
            return
        }
        freeToZones(block, order: order)
    }

    /// Linux: __free_one_page() under zone->lock
    static func freeToZones(_ block: PhysAddr, order: Int) {
        let n = NUMA.nodeOf(frame: block)
        let nodeLock = lock(n)
        nodeLock.lock()
        do {
            try node(n).pointee.free(block, order: order)
        } catch {
            Panic.now("page allocator: " + error.message)
        }
        nodeLock.unlock()
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

    /// The machine's mem_map, for walks over every frame (/proc/kpageflags).
    static var machineMemMap: MemMap { memMap.unsafelyUnwrapped }

    /// Free frames: the zones' and the per-CPU lists' (Linux leaves the lists
    /// out of MemFree; Keel counts them, so memory given back shows at once).
    /// A snapshot, read without the locks.
    static var freePages: Int {
        var sum = 0
        for n in 0..<nodeCount { sum += freePages(node: n) }
        return sum
    }

    /// Node `n`'s free frames, with the lists of its CPUs. A snapshot.
    static func freePages(node n: Int) -> Int {
        var sum = node(n).pointee.freePages
        if let lists = perCPU {
            for cpu in 0..<SMP.maxCPUs where NUMA.node(ofCPU: cpu) == n { sum += lists[cpu].count }
        }
        return sum
    }

    /// Every node's sum of `value`, or only the nodes of `nodes`.
    private static func sum(_ nodes: NodeMask? = nil, _ value: (UnsafeMutablePointer<BuddyAllocator<DirectMap>>) -> Int) -> Int {
        var total = 0
        for n in 0..<nodeCount where nodes?.contains(n) ?? true { total += value(node(n)) }
        return total
    }

    /// Free frames, and the low and high watermarks, of the nodes in `nodes`
    /// (nil: the machine): what the OOM killer weighs for an allocation a
    /// memory policy binds to some nodes.
    static func freePages(on nodes: NodeMask?) -> Int {
        var total = 0
        for n in 0..<nodeCount where nodes?.contains(n) ?? true { total += freePages(node: n) }
        return total
    }
    static func lowWatermarkPages(on nodes: NodeMask?) -> Int { sum(nodes) { $0.pointee.lowWatermarkPages } }
    static func highWatermarkPages(on nodes: NodeMask?) -> Int { sum(nodes) { $0.pointee.highWatermarkPages } }
    static var managedPages: Int { sum { $0.pointee.managedPages } }
    /// The machine's low and high watermarks (every node's zones), for the
    /// OOM killer's look at whether reclaim got anywhere.
    static var lowWatermarkPages: Int { sum { $0.pointee.lowWatermarkPages } }
    static var highWatermarkPages: Int { sum { $0.pointee.highWatermarkPages } }

    /// Each CPU's frames on its list that belong to zone `zone` of node `n`,
    /// for /proc/zoneinfo's pagesets; a snapshot read without the owners' help.
    static func perCPUCounts(in zone: ZoneType, node n: Int) -> [Int] {
        var counts: [Int] = []
        guard let lists = perCPU else { return counts }
        for cpu in 0..<SMP.onlineCount { counts.append(NUMA.node(ofCPU: cpu) == n ? lists[cpu].count(in: zone) : 0) }
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

/// One CPU's free single frames, all of its own node: most order-0
/// allocations and frees stop here and never touch the node's lock. Filled
/// and emptied `batch` frames at a time under it; never longer than `high`.
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

    /// A frame from the list, refilled from node `node` (this CPU's) when
    /// empty; nil when the node is below its low watermark, for the caller
    /// to try the other nodes first. Linux: rmqueue_pcplist()
    mutating func take(node: Int) -> PhysAddr? {
        if count == 0 {
            let nodeLock = PageAllocator.lock(node)
            nodeLock.lock()
            let allocator = PageAllocator.node(node)
            while count < Self.batch, let frame = allocator.pointee.allocate(order: 0, aboveLow: true) {
                frames[count] = frame
                count += 1
            }
            let low = allocator.pointee.freePages < allocator.pointee.lowWatermarkPages
            nodeLock.unlock()
            // Free memory below the low watermark: kswapd reclaims in the
            // background before allocations fail. Linux: wakeup_kswapd() from
            // the allocator's slow path
            if low { Kswapd.wake(node: node) }
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

    /// The `n` most recently freed frames back to the zones of this CPU's
    /// node (a frame of another node here would be refused by it: a bug).
    private mutating func giveBack(_ n: Int) {
        let node = NUMA.localNode
        PageAllocator.lock(node).lock()
        for _ in 0..<n {
            count -= 1
            let frame = frames[count]
            let descriptor = PageAllocator.page(frame)
            descriptor.pointee.flags = .head                      // as the buddy allocator handed it out
            descriptor.pointee.private = 0
            do {
                try PageAllocator.node(node).pointee.free(frame, order: 0)
            } catch {
                Panic.now("page allocator: " + error.message)
            }
        }
        PageAllocator.lock(node).unlock()
    }
}
