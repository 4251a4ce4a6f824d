// The slot map of one swap area: for every slot (page) of the area, how many
// references it has, and which slots to hand out next.
//
// A slot's word counts the page-table entries (swap PTEs, in any mm) that
// name the slot, plus the SWAP_HAS_CACHE bit while a swap-cache page stands
// for it. The slot is free when both are gone. Reclaim allocates a slot with
// the cache bit set (the page is in the swap cache, about to be written),
// then every PTE it replaces by a swap entry adds one count; a swap-in that
// was the slot's last user frees it.
//
// Slots are handed out by clusters of 256 consecutive slots, as Linux does
// since 3.12: each CPU fills its own current cluster from front to back, so
// pages reclaimed together land next to each other on the disk (one long
// write, and read-ahead of the neighbours brings back pages evicted with
// them), and a CPU needs no one else's slots. A cluster whose last slot is
// freed goes back to the free-cluster list, whose head the next CPU in need
// takes. When no free cluster is left, a scan takes any free slot.
// Linux: mm/swapfile.c (swap_map, SWAP_HAS_CACHE, SWAPFILE_CLUSTER,
// cluster_alloc_swap_entry, __swap_duplicate, swap_entry_put), Documentation
// in docs/ does not cover it.
//
// Not locked: the kernel's swap area holds its lock around every call
// (Kernel/Memory/Swap.swift).

public struct SwapMap {
    /// The SWAP_HAS_CACHE bit of a slot's word. Linux: SWAP_HAS_CACHE (0x40 in a byte)
    public static let hasCache: UInt32 = 1 << 31
    /// A slot that is never used: the header, a bad block, the tail past the area.
    /// Linux: SWAP_MAP_BAD
    public static let bad: UInt32 = .max
    /// Slots per cluster. Linux: SWAPFILE_CLUSTER (256 without THP)
    public static let clusterSlots = 256
    /// "No cluster" in a link or a CPU's cursor.
    static let noCluster: UInt32 = .max

    /// One word per slot: the reference count, with `hasCache`. Linux: si->swap_map
    private let slotWords: UnsafeMutableBufferPointer<UInt32>
    /// Two words per cluster: slots not free, and the next cluster on the free
    /// list. Linux: si->cluster_info (count, list)
    private let clusterWords: UnsafeMutableBufferPointer<UInt32>
    /// Two words per CPU: its current cluster and the next slot to look at in
    /// it. Linux: si->percpu_cluster (next)
    private let cursorWords: UnsafeMutableBufferPointer<UInt32>
    private var freeHead = SwapMap.noCluster, freeTail = SwapMap.noCluster
    /// Where the fallback scan goes on. Linux: si->cluster_next
    private var scanNext = 1

    /// Slots of the area, header and bad ones included. Linux: si->max
    public let slots: Int
    /// Slots that can hold pages. Linux: si->pages
    public let usablePages: Int
    /// Slots holding a page or reserved for one. Linux: si->inuse_pages
    public private(set) var inUsePages = 0

    /// Bytes of storage `init` needs for an area of `slots` slots used by `cpus` CPUs.
    public static func storageBytes(slots: Int, cpus: Int) -> Int {
        (slots + 2 * clusterCount(slots) + 2 * cpus) * MemoryLayout<UInt32>.stride
    }

    static func clusterCount(_ slots: Int) -> Int { (slots + clusterSlots - 1) / clusterSlots }

    /// A map of `slots` slots (slot 0, the header, is never used) in `storage`
    /// (`storageBytes` long, owned by the caller, which frees it after the map),
    /// with the slots in `badPages` never used. Nil when a bad page lies
    /// outside the area or no slot is left. Linux: setup_swap_map_and_extents()
    /// + setup_clusters()
    public init?(storage: UnsafeMutableRawBufferPointer, slots: Int, cpus: Int, badPages: [UInt32]) {
        guard slots >= 2, slots <= Int(SwapEntry.maxOffset),
              storage.count >= Self.storageBytes(slots: slots, cpus: cpus) else { return nil }
        let words = storage.bindMemory(to: UInt32.self)
        let clusters = Self.clusterCount(slots)
        slotWords = UnsafeMutableBufferPointer(rebasing: words[0..<slots])
        clusterWords = UnsafeMutableBufferPointer(rebasing: words[slots..<slots + 2 * clusters])
        cursorWords = UnsafeMutableBufferPointer(rebasing: words[slots + 2 * clusters..<slots + 2 * clusters + 2 * cpus])
        self.slots = slots
        slotWords.update(repeating: 0)
        slotWords[0] = Self.bad
        var bad = 1
        for page in badPages {
            guard page > 0, Int(page) < slots else { return nil }
            if slotWords[Int(page)] != Self.bad { bad += 1 }
            slotWords[Int(page)] = Self.bad
        }
        usablePages = slots - bad
        guard usablePages > 0 else { return nil }
        for cluster in 0..<clusters {
            // A cluster counts its unusable slots as used, the tail past the area too.
            let first = cluster * Self.clusterSlots
            let end = first + Self.clusterSlots
            var used = UInt32(max(0, end - slots))
            for slot in first..<min(end, slots) where slotWords[slot] == Self.bad { used += 1 }
            clusterWords[2 * cluster] = used
            clusterWords[2 * cluster + 1] = Self.noCluster
            if used == 0 { pushFree(UInt32(cluster)) }
        }
        for cpu in 0..<cpus {
            cursorWords[2 * cpu] = Self.noCluster
            cursorWords[2 * cpu + 1] = 0
        }
    }

    // MARK: - looking at slots

    /// PTEs naming the slot. Linux: swap_count()
    public func count(_ offset: UInt64) -> Int {
        let word = slotWords[Int(offset)]
        return word == Self.bad ? 0 : Int(word & ~Self.hasCache)
    }

    /// A swap-cache page stands for the slot.
    public func hasCachePage(_ offset: UInt64) -> Bool {
        let word = slotWords[Int(offset)]
        return word != Self.bad && word & Self.hasCache != 0
    }

    /// The slot holds (or is reserved for) a page.
    public func isInUse(_ offset: UInt64) -> Bool {
        Int(offset) < slots && slotWords[Int(offset)] != Self.bad && slotWords[Int(offset)] != 0
    }

    public var freePages: Int { usablePages - inUsePages }

    // MARK: - allocation

    /// A free slot for a page entering the swap cache, taken with its cache bit
    /// set, from `cpu`'s current cluster (or a fresh one, or any free slot);
    /// nil when the area is full. Linux: cluster_alloc_swap_entry() +
    /// swap_range_alloc() (with SWAP_HAS_CACHE)
    public mutating func allocate(cpu: Int) -> UInt64? {
        guard inUsePages < usablePages else { return nil }
        if let slot = takeFromCurrentCluster(cpu: cpu) ?? takeFromFreeCluster(cpu: cpu) ?? scanForFreeSlot() {
            take(slot)
            return UInt64(slot)
        }
        return nil
    }

    /// The next free slot of the CPU's current cluster at or after its cursor.
    private mutating func takeFromCurrentCluster(cpu: Int) -> Int? {
        let cluster = cursorWords[2 * cpu]
        guard cluster != Self.noCluster else { return nil }
        let end = min(slots, (Int(cluster) + 1) * Self.clusterSlots)
        var slot = Int(cursorWords[2 * cpu + 1])
        while slot < end && slotWords[slot] != 0 { slot += 1 }
        if slot < end {
            cursorWords[2 * cpu + 1] = UInt32(slot + 1)
            return slot
        }
        releaseCurrent(cpu: cpu)
        return nil
    }

    /// The CPU gives its current cluster up (it is full, or it found no slot):
    /// a cluster emptied meanwhile goes to the free list.
    private mutating func releaseCurrent(cpu: Int) {
        let cluster = cursorWords[2 * cpu]
        cursorWords[2 * cpu] = Self.noCluster
        if clusterWords[2 * Int(cluster)] == 0 { pushFree(cluster) }
    }

    /// The head of the free-cluster list becomes the CPU's current cluster.
    private mutating func takeFromFreeCluster(cpu: Int) -> Int? {
        guard freeHead != Self.noCluster else { return nil }
        let cluster = freeHead
        freeHead = clusterWords[2 * Int(cluster) + 1]
        if freeHead == Self.noCluster { freeTail = Self.noCluster }
        clusterWords[2 * Int(cluster) + 1] = Self.noCluster
        let first = Int(cluster) * Self.clusterSlots
        cursorWords[2 * cpu] = cluster
        cursorWords[2 * cpu + 1] = UInt32(first + 1)
        return first
    }

    /// Any free slot, from where the last scan stopped: for a fragmented area
    /// with no free cluster. Linux: the nonfull/frag cluster lists
    private mutating func scanForFreeSlot() -> Int? {
        for step in 0..<slots {
            let slot = (scanNext + step) % slots
            if slotWords[slot] == 0 && !isCurrentCluster(slot / Self.clusterSlots) {
                scanNext = slot + 1
                return slot
            }
        }
        // Only the CPUs' current clusters have room: take from any.
        for slot in 0..<slots where slotWords[slot] == 0 { return slot }
        return nil
    }

    private func isCurrentCluster(_ cluster: Int) -> Bool {
        stride(from: 0, to: cursorWords.count, by: 2).contains { cursorWords[$0] == UInt32(cluster) }
    }

    /// Marks a free slot used by the swap cache.
    private mutating func take(_ slot: Int) {
        precondition(slotWords[slot] == 0, "swap slot handed out twice")
        slotWords[slot] = Self.hasCache
        clusterWords[2 * (slot / Self.clusterSlots)] += 1
        inUsePages += 1
    }

    // MARK: - references

    /// One more PTE names the slot; false if the slot is free (a stale entry).
    /// Linux: __swap_duplicate(entry, 1) (-ENOENT for a free slot)
    public mutating func duplicate(_ offset: UInt64) -> Bool {
        guard isInUse(offset) else { return false }
        precondition(count(offset) < Int(Self.hasCache - 1), "swap count overflow")
        slotWords[Int(offset)] += 1
        return true
    }

    /// A page is being read into the swap cache for the slot: sets its cache
    /// bit. Fails if the slot is free, or already has a cache page (another
    /// reader got there first). Linux: swapcache_prepare() (-ENOENT, -EEXIST)
    public mutating func claimCache(_ offset: UInt64) -> Bool {
        guard isInUse(offset), !hasCachePage(offset) else { return false }
        slotWords[Int(offset)] |= Self.hasCache
        return true
    }

    /// One PTE naming the slot went away. Returns whether the slot is still in
    /// use (false: it was freed). Linux: swap_entry_put()
    @discardableResult
    public mutating func put(_ offset: UInt64) -> Bool {
        precondition(count(offset) > 0, "swap slot put without a reference")
        slotWords[Int(offset)] -= 1
        return releaseIfUnused(offset)
    }

    /// The swap-cache page of the slot went away. Returns whether the slot is
    /// still in use. Linux: put_swap_folio() / swapcache_clear()
    @discardableResult
    public mutating func dropCache(_ offset: UInt64) -> Bool {
        precondition(hasCachePage(offset), "swap cache bit cleared twice")
        slotWords[Int(offset)] &= ~Self.hasCache
        return releaseIfUnused(offset)
    }

    /// Frees the slot if nothing refers to it; a cluster left with nothing in
    /// use goes back to the free list (unless a CPU is filling it).
    /// Linux: swap_entries_free() → free_cluster()
    private mutating func releaseIfUnused(_ offset: UInt64) -> Bool {
        guard slotWords[Int(offset)] == 0 else { return true }
        inUsePages -= 1
        let cluster = Int(offset) / Self.clusterSlots
        clusterWords[2 * cluster] -= 1
        if clusterWords[2 * cluster] == 0 && !isCurrentCluster(cluster) { pushFree(UInt32(cluster)) }
        return false
    }

    private mutating func pushFree(_ cluster: UInt32) {
        clusterWords[2 * Int(cluster) + 1] = Self.noCluster
        if freeTail == Self.noCluster {
            freeHead = cluster
        } else {
            clusterWords[2 * Int(freeTail) + 1] = cluster
        }
        freeTail = cluster
    }

    // MARK: - checking

    /// Every invariant, for the host tests: the counts agree with the slots,
    /// the free list holds exactly the unused clusters no CPU owns.
    public func checkInvariants() -> String? {
        var inUse = 0
        for cluster in 0..<Self.clusterCount(slots) {
            let first = cluster * Self.clusterSlots
            let end = first + Self.clusterSlots
            var used = max(0, end - slots)
            for slot in first..<min(end, slots) where slotWords[slot] != 0 {
                used += 1
                if slotWords[slot] != Self.bad { inUse += 1 }
            }
            if UInt32(used) != clusterWords[2 * cluster] {
                return "cluster \(cluster) counts \(clusterWords[2 * cluster]) used slots, has \(used)"
            }
        }
        if inUse != inUsePages { return "inUsePages \(inUsePages), slots in use \(inUse)" }
        var onList = [Bool](repeating: false, count: Self.clusterCount(slots))
        var cluster = freeHead
        var last = Self.noCluster
        while cluster != Self.noCluster {
            guard !onList[Int(cluster)] else { return "free list loops at \(cluster)" }
            onList[Int(cluster)] = true
            if clusterWords[2 * Int(cluster)] != 0 { return "cluster \(cluster) on the free list is in use" }
            if isCurrentCluster(Int(cluster)) { return "cluster \(cluster) is free and a CPU's current one" }
            last = cluster
            cluster = clusterWords[2 * Int(cluster) + 1]
        }
        if last != freeTail { return "free list tail \(freeTail), last \(last)" }
        for c in 0..<Self.clusterCount(slots) where clusterWords[2 * c] == 0 && !isCurrentCluster(c) && !onList[c] {
            return "empty cluster \(c) is on no list"
        }
        return nil
    }
}
