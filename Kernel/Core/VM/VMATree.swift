// An address space's memory regions, kept three ways at once as Linux 2.6–6.0 did:
// a red-black tree keyed by start address for O(log n) lookup, a list in address
// order for O(1) neighbours (merging, gap search, iteration), and a one-entry cache
// of the last lookup, because consecutive faults usually land in the same region.

/// The VMAs of one address space. Linux: mm->mm_rb, mm->mmap, the vmacache
///
/// A value type: assigning it copies the regions (what fork's dup_mmap needs).
/// VMAs never overlap; every method keeps the tree balanced, the list in step with
/// it and `count`/`totalVM` exact (see `checkInvariants`).
public struct VMATree {
    var pool = VMANodePool()
    /// Linux: mm->mm_rb.rb_node
    var root = vmaNil
    /// Lowest region. Linux: mm->mmap
    var head = vmaNil
    /// Highest region (Linux finds it with rb_last or the list tail).
    var tail = vmaNil
    /// Node of the last successful lookup. Linux: vmacache (four entries per thread there)
    var cache = vmaNil
    /// Number of regions. Linux: mm->map_count
    public internal(set) var count = 0
    /// Most regions one address space may have: past it, mmap, mprotect and munmap
    /// calls that would add one fail with ENOMEM. Linux: sysctl_max_map_count
    /// (DEFAULT_MAX_MAP_COUNT, /proc/sys/vm/max_map_count)
    public static let maxMapCount = 65530
    /// Pages covered by all regions, what /proc reports as VmSize. Linux: mm->total_vm
    public internal(set) var totalVM: UInt64 = 0

    public init() {}
}

extension VMATree {
    /// First node whose VMA ends above `addr`, or vmaNil. Linux: the rb walk in find_vma()
    func lowerBound(_ addr: VirtAddr) -> Int32 {
        var node = root
        var found = vmaNil
        while node != vmaNil {
            let vma = pool[node].vma
            if vma.end > addr {
                found = node
                if vma.start <= addr { break }
                node = pool[node].left
            } else {
                node = pool[node].right
            }
        }
        return found
    }

    /// `lowerBound` through the last-hit cache.
    mutating func cachedLowerBound(_ addr: VirtAddr) -> Int32 {
        if cache != vmaNil && pool[cache].vma.contains(addr) { return cache }
        let node = lowerBound(addr)
        if node != vmaNil { cache = node }
        return node
    }

    /// The region containing `addr`, or else the first one above it; nil when every
    /// region ends at or below `addr`. Mutating only to update the cache. Linux: find_vma()
    public mutating func findVMA(_ addr: VirtAddr) -> VMA? {
        let node = cachedLowerBound(addr)
        return node == vmaNil ? nil : pool[node].vma
    }

    /// `findVMA` plus the region just below the result (the highest region when the
    /// result is nil). Linux: find_vma_prev()
    public mutating func findVMAPrev(_ addr: VirtAddr) -> (vma: VMA?, prev: VMA?) {
        let node = cachedLowerBound(addr)
        let prev = node == vmaNil ? tail : pool[node].prev
        return (node == vmaNil ? nil : pool[node].vma, prev == vmaNil ? nil : pool[prev].vma)
    }

    /// The lowest region overlapping [start, end), if any. Linux: find_vma_intersection()
    public func findIntersection(_ start: VirtAddr, _ end: VirtAddr) -> VMA? {
        let node = lowerBound(start)
        guard node != vmaNil, pool[node].vma.start < end else { return nil }
        return pool[node].vma
    }
}
