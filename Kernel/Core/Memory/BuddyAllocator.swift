// The buddy allocator: Keel's physical page allocator, in one file.
//
// Memory is handed out in blocks of 2^order contiguous frames (order 0 is one
// 4 KiB page, order 10 is 4 MiB). Each zone keeps one free list per order.
// A block of order k always starts at a frame number divisible by 2^k, so its
// "buddy" (the other half of the order-(k+1) block containing it) is found by
// flipping one bit: buddy = pfn XOR 2^k.
//
//   allocate(order)  take a free block of that order; if there is none, take
//                    the smallest larger one and split it, putting each unused
//                    upper half on the free list one order down
//   free(block)      while the buddy is a free block of the same order, take it
//                    off its list and merge; put the result on its list
//
// So free memory stays in the largest blocks it can form, and allocation and
// free are O(maxOrder). The free lists are threaded through the page
// descriptors of mem_map (no memory of their own), and a zone keeps its free
// page count so the watermark check is O(1). Boot code creates the allocator
// with every frame reserved, then hands in the usable RAM; from then on frames
// move only through allocate and free.
// Linux: mm/page_alloc.c, include/linux/mmzone.h (struct free_area)

// MARK: - the allocator

/// Zoned buddy allocator of 2^order contiguous frames. Linux: mm/page_alloc.c
///
/// `Memory` is only used to zero frames for `GFP.zero`: the direct map in the
/// kernel, a buffer in tests.
public struct BuddyAllocator<Memory: PhysicalMemory> {
    /// The frames of this node (a view of the machine's mem_map on a NUMA
    /// machine). Linux: pgdat->node_mem_map
    public let memMap: MemMap
    @usableFromInline let memory: Memory
    /// The NUMA node this allocator is: one per node, each with its own
    /// zones. Linux: pgdat->node_id
    public let nodeID: Int
    /// Indexed by `ZoneType.rawValue`. Linux: pglist_data->node_zones
    @usableFromInline var zones: InlineArray<3, Zone>

    /// An allocator with no free memory yet; every frame of `memMap` is reserved.
    public init(memMap: MemMap, memory: Memory, node: Int = 0) {
        self.memMap = memMap
        self.memory = memory
        nodeID = node
        zones = InlineArray { Zone(type: ZoneType(rawValue: $0)!) }
    }

    /// Hands the whole frames inside [start, end) to the allocator, as the
    /// largest naturally aligned blocks that fit. Frames outside mem_map are
    /// skipped; ranges must not overlap earlier ones.
    /// Linux: memblock_free_all() → __free_pages_memory()
    public mutating func addFreeRange(_ start: PhysAddr, _ end: PhysAddr) {
        var pfn = max(start.alignedUp().pfn, memMap.basePFN)
        let endPFN = min(end.pfn, memMap.endPFN)
        while pfn < endPFN {
            var order = min(Zone.maxOrder, pfn.trailingZeroBitCount)
            while pfn + (1 << UInt64(order)) > endPFN { order -= 1 }
            releaseBootBlock(pfn, order: order)
            pfn += 1 << UInt64(order)
        }
    }

    /// Clears the reserved marks of one block and frees it. Linux: __free_pages_core()
    private mutating func releaseBootBlock(_ pfn: UInt64, order: Int) {
        let frames = 1 << order
        let first = memMap.page(pfn)
        for i in 0..<frames {
            precondition(first[i].flags == .reserved, "free range overlaps an earlier one")
            first[i] = Page()
        }
        let zone = ZoneType(pfn: pfn).rawValue
        zones[zone].manage(pfn, frames: frames)
        zones[zone].freeOneBlock(pfn, order: order, memMap: memMap)
    }

    /// A snapshot of one zone's counters and free-list lengths.
    public func zone(_ type: ZoneType) -> Zone { zones[type.rawValue] }

    /// Frames handed to the allocator (MemTotal). Linux: totalram_pages()
    public var managedPages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].managedPages }
        return sum
    }

    /// Frames on the free lists (MemFree). Linux: global_zone_page_state(NR_FREE_PAGES)
    public var freePages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].freePages }
        return sum
    }

    /// Linux's default min_free_kbytes: sqrt(16 x lowmem in KiB), kept within
    /// [128 KiB, 256 MiB]. Linux: calculate_min_free_kbytes()
    public static func defaultMinFreeKilobytes(managedPages: Int) -> Int {
        let kilobytes = managedPages * Int(pageSize / 1024)
        var root = 0                       // integer square root, no floating point in the kernel
        while (root + 1) * (root + 1) <= kilobytes * 16 { root += 1 }
        return min(max(root, 128), 262_144)
    }

    /// Splits min_free_kbytes over the zones in proportion to their size: each
    /// zone's min watermark. `totalManaged` is every node's managed frames
    /// (the reserve is the machine's, shared by all nodes' zones); by
    /// default this node's. Linux: __setup_per_zone_wmarks()
    public mutating func setMinFreeKilobytes(_ kilobytes: Int, totalManaged: Int? = nil) {
        let reservePages = kilobytes / Int(pageSize / 1024)
        let total = totalManaged ?? managedPages
        guard total > 0 else { return }
        for type in ZoneType.allCases {
            let min = reservePages * zones[type.rawValue].managedPages / total
            let marks = ZoneInfo.watermarks(min: min, managed: zones[type.rawValue].managedPages)
            zones[type.rawValue].watermarkMin = min
            zones[type.rawValue].watermarkLow = marks.low
            zones[type.rawValue].watermarkHigh = marks.high
        }
    }

    /// The sums of the zones' low and high watermarks, in frames: this node's
    /// kswapd wakes below the first and sleeps at the second (Keel balances a
    /// node's zones together). Linux: the per-zone checks of wakeup_kswapd()
    /// and pgdat_balanced()
    public var lowWatermarkPages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].watermarkLow }
        return sum
    }
    public var highWatermarkPages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].watermarkHigh }
        return sum
    }

    /// The sum of the zones' min watermarks, in frames.
    public var reservePages: Int {
        var sum = 0
        for type in ZoneType.allCases { sum += zones[type.rawValue].watermarkMin }
        return sum
    }
}

// MARK: - allocation
//
// The allocation fast path: walk the zonelist from the highest zone the flags
// allow down to DMA, take the first zone that has a large enough block.

extension BuddyAllocator {
    /// Allocates 2^order contiguous frames, or returns nil when no allowed zone
    /// has a free block that large above its min watermark (below it, only
    /// `GFP.memalloc` requests are served), or above its low watermark when
    /// `aboveLow` (the first pass over a NUMA machine's nodes: a node below
    /// low is passed over for the next one before any dips into its reserve).
    /// The first frame's descriptor has count 0: its owner sets it (MapCount)
    /// when the page gets its first user.
    /// Linux: alloc_pages() → get_page_from_freelist() (ALLOC_WMARK_LOW in
    /// the fast path, ALLOC_WMARK_MIN in the slow path) → rmqueue()
    @inlinable public mutating func allocate(order: Int, flags: GFP = .kernel, aboveLow: Bool = false) -> PhysAddr? {
        guard order >= 0 && order <= Zone.maxOrder else { return nil }
        var zone = flags.highestZone.rawValue
        while true {
            if zones[zone].watermarkOK(order: order, flags: flags, aboveLow: aboveLow),
               let pfn = zones[zone].takeSmallest(order: order, memMap: memMap) {
                prepareNewBlock(pfn, order: order, flags: flags)
                return PhysAddr(pfn: pfn)
            }
            if zone == 0 { return nil }
            zone &-= 1
        }
    }

    /// Marks the block allocated (recording its order for the check in `free`)
    /// and zeroes it on request. Linux: prep_new_page()
    @inlinable mutating func prepareNewBlock(_ pfn: UInt64, order: Int, flags: GFP) {
        let page = memMap.uncheckedPage(pfn)
        page.pointee.flags = .head
        page.pointee.private = UInt32(truncatingIfNeeded: order)
        if flags.contains(.zero) {
            for frame in pfn..<(pfn &+ (1 &<< UInt64(order))) {
                memory.zeroFrame(PhysAddr(pfn: frame))
            }
        }
    }
}

// MARK: - the buddy algorithm inside one zone
//
// The buddy algorithm inside one zone: split a larger block when no block of
// the requested size is free, merge a freed block with its buddy while the
// buddy is free too. A block of order k starts at a frame number divisible by
// 2^k; its buddy is the other half of the enclosing order-(k+1) block.

extension Zone {
    /// Takes a block of `order`, splitting the smallest larger free block if needed.
    /// Linux: __rmqueue_smallest()
    @inlinable mutating func takeSmallest(order: Int, memMap: MemMap) -> UInt64? {
        var current = order
        while current <= Zone.maxOrder {
            if let pfn = freeArea[current].removeFirst(in: memMap) {
                freePageCount &-= 1 &<< order
                expand(pfn, low: order, high: current, memMap: memMap)
                return pfn
            }
            current &+= 1
        }
        return nil
    }

    /// Splits the order-`high` block at `pfn` down to order `low`, keeping the
    /// lower half each time and putting the upper half on its free list.
    /// Linux: expand()
    @inlinable mutating func expand(_ pfn: UInt64, low: Int, high: Int, memMap: MemMap) {
        var high = high
        while high > low {
            high &-= 1
            freeArea[high].add(pfn | (1 &<< UInt64(high)), order: high, in: memMap)
        }
    }

    /// Returns the block at `pfn` to the free lists, merging it with its buddy
    /// for as long as the buddy is a free block of the same order. Linux checks
    /// that the buddy is in the same zone; here that always holds because zone
    /// boundaries are multiples of the largest block. Linux: __free_one_page()
    @inlinable mutating func freeOneBlock(_ pfn: UInt64, order: Int, memMap: MemMap) {
        freePageCount &+= 1 &<< order
        var pfn = pfn
        var order = order
        while order < Zone.maxOrder {
            let buddy = pfn ^ (1 &<< UInt64(order))
            guard memMap.contains(pfn: buddy) else { break }
            let buddyPage = memMap.uncheckedPage(buddy)
            // Linux: page_is_buddy()
            guard buddyPage.pointee.flags.contains(.buddy),
                  buddyPage.pointee.private == UInt32(truncatingIfNeeded: order) else { break }
            freeArea[order].remove(buddy, in: memMap)
            pfn &= ~(1 &<< UInt64(order))
            order &+= 1
        }
        freeArea[order].add(pfn, order: order, in: memMap)
    }
}

// MARK: - free lists
//
// A free list of one block size. The list is threaded through the page
// descriptors of the blocks' first frames (intrusive), so adding and removing
// a block is O(1) and needs no memory beyond mem_map.

/// Free blocks of one order in one zone. Linux: struct free_area
@usableFromInline struct FreeArea {
    /// Frame number of the first block, or `Page.noFrame`.
    @usableFromInline var first: UInt32 = Page.noFrame
    /// Blocks on the list. Linux: free_area->nr_free
    @usableFromInline var count = 0

    @inlinable init() {}

    /// Puts the block starting at `pfn` at the front of the list and marks it free.
    /// Linux: add_to_free_list() + set_buddy_order()
    @inlinable mutating func add(_ pfn: UInt64, order: Int, in memMap: MemMap) {
        let page = memMap.uncheckedPage(pfn)
        page.pointee.flags = .buddy
        page.pointee.private = UInt32(truncatingIfNeeded: order)
        page.pointee.lruPrev = Page.noFrame
        page.pointee.lruNext = first
        if first != Page.noFrame {
            memMap.uncheckedPage(UInt64(first)).pointee.lruPrev = UInt32(truncatingIfNeeded: pfn)
        }
        first = UInt32(truncatingIfNeeded: pfn)
        count &+= 1
    }

    /// Unlinks the free block starting at `pfn` and clears its free marking.
    /// Linux: del_page_from_free_list()
    @inlinable mutating func remove(_ pfn: UInt64, in memMap: MemMap) {
        let page = memMap.uncheckedPage(pfn)
        let next = page.pointee.lruNext
        let prev = page.pointee.lruPrev
        if prev == Page.noFrame {
            first = next
        } else {
            memMap.uncheckedPage(UInt64(prev)).pointee.lruNext = next
        }
        if next != Page.noFrame {
            memMap.uncheckedPage(UInt64(next)).pointee.lruPrev = prev
        }
        page.pointee = Page()
        count &-= 1
    }

    /// Takes the first block off the list. Linux: get_page_from_free_area()
    @inlinable mutating func removeFirst(in memMap: MemMap) -> UInt64? {
        guard first != Page.noFrame else { return nil }
        let pfn = UInt64(first)
        remove(pfn, in: memMap)
        return pfn
    }
}

// MARK: - freeing
//
// Freeing checks that the caller owns exactly this block before coalescing it,
// because a wrong free corrupts the free lists silently and surfaces much later.
// The check is one flag and one order compare; working out *what* went wrong
// happens only on the error path.

extension BuddyAllocator {
    /// Returns the block of 2^order frames at `block`, which `allocate` returned
    /// with the same order, and merges it with free buddies. Unlike Linux's
    /// __free_pages() this ignores the reference count: dropping references is the
    /// caller's job. Linux: free_pages() → __free_one_page()
    @inlinable public mutating func free(_ block: PhysAddr, order: Int) throws(BuddyError) {
        let pfn = block.pfn
        guard block.isPageAligned else { throw .misaligned(pfn: pfn, order: order) }
        guard memMap.contains(pfn: pfn) else { throw .notOwned(pfn: pfn) }
        let first = memMap.uncheckedPage(pfn)
        guard first.pointee.flags.contains(.head),
              Int(first.pointee.private) == order else { throw badFree(pfn, order: order) }
        // Linux: free_pages_prepare() — owners' flags and links must not leak into the next user.
        for i in 0..<(1 &<< order) { first[i] = Page() }
        zones[ZoneType(pfn: pfn).rawValue].freeOneBlock(pfn, order: order, memMap: memMap)
    }

    /// Classifies a free of a frame that does not start an allocated block of `order`.
    @usableFromInline func badFree(_ pfn: UInt64, order: Int) -> BuddyError {
        let page = memMap.uncheckedPage(pfn).pointee
        if page.flags.contains(.perCPUList) { return .doubleFree(pfn: pfn, order: order) }
        if page.flags.contains(.head) {
            return .wrongOrder(pfn: pfn, expected: Int(page.private), given: order)
        }
        if isFree(pfn) { return .doubleFree(pfn: pfn, order: order) }
        if order < 0 || order > Zone.maxOrder || pfn & ((1 << UInt64(order)) - 1) != 0 {
            return .misaligned(pfn: pfn, order: order)
        }
        return .notOwned(pfn: pfn)
    }

    /// True if frame `pfn` lies in a block on a free list: the aligned frame
    /// at some order starts a free block that reaches `pfn`.
    /// Linux: is_free_buddy_page()
    private func isFree(_ pfn: UInt64) -> Bool {
        for order in 0...Zone.maxOrder {
            let head = pfn & ~((1 << UInt64(order)) - 1)
            guard memMap.contains(pfn: head) else { return false }
            let page = memMap.uncheckedPage(head).pointee
            if page.flags.contains(.buddy) && head + (1 << UInt64(page.private)) > pfn { return true }
        }
        return false
    }
}

// MARK: - bad frees
//
// What a bad free tells its caller: the kernel panics naming frame and order,
// tests assert the exact case.

/// A free that the buddy allocator refused. Linux reports these as "Bad page state".
public enum BuddyError: Error, Equatable, Sendable {
    /// The block, or a block containing it, is already free.
    case doubleFree(pfn: UInt64, order: Int)
    /// The block was allocated with order `expected`, not `given`.
    case wrongOrder(pfn: UInt64, expected: Int, given: Int)
    /// The frame is reserved, outside mem_map, or inside an allocated block but not its first frame.
    case notOwned(pfn: UInt64)
    /// The address does not start a block of this order (or the order is out of range).
    case misaligned(pfn: UInt64, order: Int)
}

extension BuddyError {
    /// One line naming the frame and order, for the panic message.
    public var message: String {
        switch self {
        case .doubleFree(let pfn, let order):
            "double free of frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) order \(order)"
        case .wrongOrder(let pfn, let expected, let given):
            "frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) freed with order \(given), allocated with order \(expected)"
        case .notOwned(let pfn):
            "frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) is not managed by the page allocator"
        case .misaligned(let pfn, let order):
            "frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) is not aligned to order \(order)"
        }
    }
}

// MARK: - single frames
//
// Lets code written against the single-frame FrameAllocator protocol (page
// tables, for example) take its frames straight from the buddy allocator.

extension BuddyAllocator: FrameAllocator {
    /// Linux: alloc_page(GFP_KERNEL)
    public mutating func allocateFrame() -> PhysAddr? { allocate(order: 0) }

    /// Linux: __free_page(). A bad free traps; call `free` to handle the error.
    public mutating func freeFrame(_ frame: PhysAddr) {
        do { try free(frame, order: 0) } catch { preconditionFailure("bad free of a page frame") }
    }
}

// MARK: - /proc/buddyinfo
//
// /proc/buddyinfo: free blocks per order for each zone, the quickest view of
// external fragmentation. The column layout is Linux's, byte for byte, so
// tools that parse it work unchanged.

extension BuddyAllocator {
    /// Writes one line per populated zone, e.g.
    /// `Node 0, zone   Normal    216    343 ...      1 ` (each count "%6lu ").
    /// Linux: frag_show() → frag_show_print() (mm/vmstat.c)
    public func writeBuddyInfo<Sink: TextSink>(to out: inout Sink) {
        for type in ZoneType.allCases {
            let zone = zones[type.rawValue]
            guard zone.isPopulated else { continue }
            out.write("Node \(nodeID), zone ")
            out.write(Fmt.pad(type.name, 8))
            out.write(" ")
            for order in 0...Zone.maxOrder {
                out.write(Fmt.dec(zone.freeBlocks(order: order), width: 6))
                out.write(" ")
            }
            out.write("\n")
        }
    }
}
