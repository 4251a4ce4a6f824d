// The VMA tree: an mm's memory regions (vm_area_struct), in one file with the
// operations mmap, munmap, mprotect, brk and the fault handler use. The
// balancing itself (rotations and recolouring) is in VMATreeRedBlack.swift.
//
// The regions are kept three ways at once, as Linux 2.6-6.0 did:
//   - a red-black tree keyed by start address, for O(log n) find_vma;
//   - a list in address order, for O(1) neighbours (merging, gap search,
//     iteration);
//   - a one-entry cache of the last lookup, because consecutive faults usually
//     land in the same region.
// Nodes live in a pool (VMANodePool.swift) and are named by index, so the tree
// is a value: assigning it copies every region, which is what fork's dup_mmap
// needs. Regions never overlap; every method keeps the tree balanced, the list
// in step with it and `count`/`totalVM`/`lockedVM` exact (VMATree+Invariants.swift
// checks all of it in the host tests).
// Linux: mm/mmap.c (find_vma, insert_vm_struct, __split_vma, vma_merge,
// do_vmi_munmap, get_unmapped_area), mm/mprotect.c, mm/mlock.c

// MARK: - the tree

/// The VMAs of one address space. Linux: mm->mm_rb, mm->mmap, the vmacache
///
/// A value type: assigning it copies the regions (what fork's dup_mmap needs).
/// VMAs never overlap; every method keeps the tree balanced, the list in step with
/// it and `count`/`totalVM`/`lockedVM` exact (see `checkInvariants`).
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
    /// Pages of the regions with VM_LOCKED, what /proc reports as VmLck. Linux
    /// keeps mm->locked_vm by hand in mlock, mmap, munmap, mremap and stack
    /// growth; here it follows from the regions, as `totalVM` does, so no
    /// path that adds, removes, resizes or re-flags a region can forget it.
    /// Linux: mm->locked_vm
    public internal(set) var lockedVM: UInt64 = 0

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
    private mutating func cachedLowerBound(_ addr: VirtAddr) -> Int32 {
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

// MARK: - iteration
//
// Walking the regions in address order follows the list, not the tree: O(1) per
// step and no stack. This is how /proc maps, fork and exit visit every VMA.

extension VMATree: Sequence {
    /// Yields the regions from lowest to highest. Linux: for (vma = mm->mmap; vma; vma = vma->vm_next)
    public struct Iterator: IteratorProtocol {
        let pool: VMANodePool
        var node: Int32

        public mutating func next() -> VMA? {
            guard node != vmaNil else { return nil }
            let vma = pool[node].vma
            node = pool[node].next
            return vma
        }
    }

    public func makeIterator() -> Iterator { Iterator(pool: pool, node: head) }

    public var underestimatedCount: Int { count }
}

// MARK: - adding and removing regions
//
// Adding and removing whole regions: the tree, the address-order list, the
// cache and the counters change together here and nowhere else.

extension VMATree {
    /// Adds a region that overlaps none already present: EINVAL unless it is
    /// non-empty and page aligned, ENOMEM on overlap or at max_map_count.
    /// Linux: insert_vm_struct() (and mmap_region()'s map_count check)
    public mutating func insert(_ vma: VMA) throws(VMError) {
        guard vma.isWellFormed else { throw .invalidArgument }
        guard findIntersection(vma.start, vma.end) == nil, count < Self.maxMapCount else { throw .noMemory }
        link(vma)
    }

    /// Removes and returns the region containing `addr`. Linux: detach + remove_vma()
    public mutating func remove(containing addr: VirtAddr) -> VMA? {
        let node = lowerBound(addr)
        guard node != vmaNil, pool[node].vma.contains(addr) else { return nil }
        return unlink(node)
    }

    /// Links a region the caller knows does not overlap; returns its node. Linux: vma_link()
    @discardableResult
    mutating func link(_ vma: VMA) -> Int32 {
        let node = pool.allocate(vma)
        var parent = vmaNil
        var prev = vmaNil
        var side = VMATreeSide.left
        var cursor = root
        while cursor != vmaNil {
            parent = cursor
            if vma.start < pool[cursor].vma.start {
                side = .left
                cursor = pool[cursor].left
            } else {
                // Every step right passes a lower region; the last one is the predecessor.
                prev = cursor
                side = .right
                cursor = pool[cursor].right
            }
        }
        pool[node].parent = parent
        if parent == vmaNil { root = node } else { setChild(parent, side, node) }

        // Linux: __vma_link_list()
        let next = prev == vmaNil ? head : pool[prev].next
        pool[node].prev = prev
        pool[node].next = next
        if prev == vmaNil { head = node } else { pool[prev].next = node }
        if next == vmaNil { tail = node } else { pool[next].prev = node }

        insertFixup(node)
        count += 1
        totalVM += vma.pageCount
        if vma.flags.contains(.locked) { lockedVM += vma.pageCount }
        return node
    }

    /// Removes a node from tree, list and cache and frees it. Linux: __vma_unlink() + vm_area_free()
    @discardableResult
    private mutating func unlink(_ node: Int32) -> VMA {
        let vma = pool[node].vma
        erase(node)  // before the list unlink: erase uses `next` as the successor
        let prev = pool[node].prev
        let next = pool[node].next
        if prev == vmaNil { head = next } else { pool[prev].next = next }
        if next == vmaNil { tail = prev } else { pool[next].prev = prev }
        // The freed slot still holds the old range: a cache hit on it would resurrect it.
        if cache == node { cache = vmaNil }  // Linux: vmacache_invalidate()
        pool.free(node)
        count -= 1
        totalVM -= vma.pageCount
        if vma.flags.contains(.locked) { lockedVM -= vma.pageCount }
        return vma
    }

    /// Changes a node's range (and perhaps flags) in place. The caller keeps it
    /// between its neighbours, so the order (and therefore the tree shape) is unchanged.
    private mutating func reshape(_ node: Int32, to vma: VMA) {
        let old = pool[node].vma
        totalVM = totalVM - old.pageCount + vma.pageCount
        if old.flags.contains(.locked) { lockedVM -= old.pageCount }
        if vma.flags.contains(.locked) { lockedVM += vma.pageCount }
        pool[node].vma = vma
    }

    /// Gives a node new flags in place. Linux: vm_flags_reset()
    private mutating func setFlags(_ node: Int32, _ flags: VMFlags) {
        var vma = pool[node].vma
        vma.flags = flags
        reshape(node, to: vma)
    }
}

// MARK: - split and merge
//
// Splitting one region in two and merging compatible neighbours back into one:
// the building blocks of munmap, mprotect and brk. A region's node keeps its lower
// part, so its tree key never changes and the tree only sees plain links/unlinks.

extension VMA {
    /// `next` can be absorbed into this region: adjacent, same flags, and the same
    /// anonymous memory or the same file at the following offset.
    /// Linux: is_mergeable_vma() + can_vma_merge_after()
    public func canMerge(followedBy next: VMA) -> Bool {
        // Linux: is_mergeable_vma()'s flags, vma_merge()'s mpol_equal()
        guard end == next.start, flags == next.flags, policy == next.policy else { return false }
        switch (backing, next.backing) {
        case (.anonymous, .anonymous):
            return true
        case let (.file(file, offset), .file(nextFile, nextOffset)):
            return file == nextFile && offset + pageCount == nextOffset
        default:
            return false
        }
    }
}

extension VMATree {
    /// Cuts the region around `addr` into [start, addr) and [addr, end); EINVAL
    /// unless `addr` is page aligned and strictly inside a region. Linux: __split_vma()
    public mutating func splitVMA(at addr: VirtAddr) throws(VMError) {
        let node = lowerBound(addr)
        guard addr.isPageAligned, node != vmaNil, pool[node].vma.start < addr else {
            throw .invalidArgument
        }
        split(node, at: addr)
    }

    /// Keeps [start, addr) in `node`, links [addr, end) and returns the new node.
    @discardableResult
    mutating func split(_ node: Int32, at addr: VirtAddr) -> Int32 {
        let whole = pool[node].vma
        reshape(node, to: whole.slice(whole.start, addr))
        return link(whole.slice(addr, whole.end))
    }

    /// Merges the region containing `addr` with whichever neighbours are compatible and
    /// returns the result; nil if no region contains `addr`. Linux: vma_merge()
    @discardableResult
    public mutating func mergeAdjacent(at addr: VirtAddr) -> VMA? {
        var node = lowerBound(addr)
        guard node != vmaNil, pool[node].vma.contains(addr) else { return nil }
        mergeWithNext(node)
        let prev = pool[node].prev
        if prev != vmaNil && mergeWithNext(prev) { node = prev }
        return pool[node].vma
    }

    /// Absorbs the following region into `node` if they are compatible.
    @discardableResult
    private mutating func mergeWithNext(_ node: Int32) -> Bool {
        let next = pool[node].next
        guard next != vmaNil, pool[node].vma.canMerge(followedBy: pool[next].vma) else { return false }
        var merged = pool[node].vma
        merged.end = unlink(next).end
        reshape(node, to: merged)
        return true
    }

    /// Moves the start of the growsdown region just above `newStart` down to it (the
    /// fault handler's `.growStack`); EINVAL unless `newStart` is page aligned and lies
    /// in the gap below such a region; ENOMEM if the region maps a file and would start
    /// before its first page. Other limits are the classifier's job. Linux: expand_downwards()
    public mutating func expandDownwards(to newStart: VirtAddr) throws(VMError) {
        // The first region ending above newStart: the one below it ends at or before newStart.
        let node = lowerBound(newStart)
        guard newStart.isPageAligned, node != vmaNil else { throw .invalidArgument }
        let stack = pool[node].vma
        guard stack.flags.contains(.growsDown), newStart < stack.start else { throw .invalidArgument }
        // A file-backed region cannot grow below the file's first page.
        // Linux: expand_downwards()'s `grow <= vma->vm_pgoff` check (else ENOMEM)
        if case .file(_, let pageOffset) = stack.backing, (stack.start - newStart) >> pageShift > pageOffset {
            throw .noMemory
        }
        reshape(node, to: stack.slice(newStart, stack.end))
    }
}

// MARK: - munmap
//
// munmap on any page range: regions straddling either end are split so that only
// the pages inside the range go. The caller is shown each removed piece because
// the tree knows nothing of page tables or frames: it must zap those PTEs, drop
// the pages and flush the TLB (Linux: unmap_region()). The pieces are handed
// over one by one, not collected: a range may hold tens of thousands of
// regions, and a list of them all would be one large allocation the kernel
// might not have.

extension VMATree {
    /// Removes every mapping in [start, end), calling `removed` with each
    /// removed piece in address order (never if nothing was mapped there).
    /// `start` must be page aligned; `end` is rounded up to a page as munmap
    /// rounds its length. EINVAL for a misaligned start or an empty range,
    /// ENOMEM if a hole in one region would pass max_map_count; nothing is
    /// removed then. Linux: do_munmap() → do_vmi_align_munmap()
    public mutating func unmapRange(_ start: VirtAddr, _ end: VirtAddr, removed: (VMA) -> Void) throws(VMError) {
        let end = end.alignedUp()
        guard start.isPageAligned, start < end else { throw .invalidArgument }
        var node = lowerBound(start)
        guard node != vmaNil, pool[node].vma.start < end else { return }
        // A hole punched in one region leaves one region more. Linux: the map_count
        // check in do_vmi_align_munmap()
        if pool[node].vma.start < start && pool[node].vma.end > end && count >= Self.maxMapCount { throw .noMemory }
        if pool[node].vma.start < start { node = split(node, at: start) }
        while node != vmaNil && pool[node].vma.start < end {
            if pool[node].vma.end > end { split(node, at: end) }
            let next = pool[node].next
            removed(unlink(node))
            node = next
        }
    }
}

// MARK: - changing flags: mprotect, mlock, fork
//
// mprotect and mlock give every page in a range new flags. Regions straddling
// the range ends are split, the pieces inside get the new flags, and pieces
// that now match a neighbour are merged again, so mprotect or mlock there and
// back leaves the regions as they were. A region whose flags would not change
// is left alone, unsplit, as Linux's mprotect_fixup() and mlock_fixup() leave it.

extension VMATree {
    /// Sets the access bits (a subset of `VMFlags.access`) of every page in [start, end),
    /// keeping each region's other flags. `end` is rounded up to a page. EINVAL for a
    /// misaligned start or non-access bits, ENOMEM if part of the range is unmapped or
    /// the splits would pass max_map_count, EACCES if a region's MAY bits forbid the new access. On error nothing changes
    /// (Linux may already have changed the regions before a hole). The caller then
    /// rewrites the PTEs in the range. Linux: do_mprotect_pkey() + mprotect_fixup()
    public mutating func protectRange(_ start: VirtAddr, _ end: VirtAddr,
                                      protection: VMFlags) throws(VMError) {
        let end = end.alignedUp()
        guard start.isPageAligned, protection.isSubset(of: .access) else { throw .invalidArgument }
        guard start <= end else { throw .noMemory }
        try modifyFlags(start, end, { $0.withAccess(protection) }, check: { (vma) throws(VMError) in
            guard vma.flags.withAccess(protection).accessIsPermitted else { throw .accessDenied }
        })
    }

    /// Sets the lock bits (a subset of `VMFlags.lockedMask`: none to unlock) of
    /// every page in [start, end), both page aligned, keeping each region's
    /// other flags. ENOMEM if part of the range is unmapped or the splits would
    /// pass max_map_count; on error nothing changes (Linux may already have
    /// changed the regions before a hole). The caller faults the pages in.
    /// Linux: apply_vma_lock_flags() + mlock_fixup()
    public mutating func lockRange(_ start: VirtAddr, _ end: VirtAddr, _ lock: VMFlags) throws(VMError) {
        precondition(start.isPageAligned && end.isPageAligned && lock.isSubset(of: .lockedMask))
        try modifyFlags(start, end, { $0.withLock(lock) })
    }

    /// Sets or clears `flags` (madvise's VM_DONTCOPY, VM_DONTDUMP) on every
    /// page in [start, end) (`end` rounded up to a page; `start` page-aligned).
    /// ENOMEM if part of the range is unmapped or the splits would pass
    /// max_map_count; nothing changes then. Linux: madvise_update_vma()
    public mutating func setFlags(_ flags: VMFlags, on: Bool, _ start: VirtAddr, _ end: VirtAddr) throws(VMError) {
        let end = end.alignedUp()
        guard start.isPageAligned, start <= end else { throw start.isPageAligned ? .noMemory : .invalidArgument }
        try modifyFlags(start, end, { on ? $0.union(flags) : $0.subtracting(flags) })
    }

    /// Gives every region the flags `transform` makes of its own, merging
    /// regions that now match (`merging`) or leaving the regions as they are.
    /// Never splits, so it cannot fail. mlockall and munlockall merge
    /// (Linux: apply_mlockall_flags() → mlock_fixup()); fork's copy clears
    /// VM_LOCKED without merging (Linux: dup_mmap(), vm_flags_clear(VM_LOCKED_MASK)).
    public mutating func modifyAllFlags(merging: Bool, _ transform: (VMFlags) -> VMFlags) {
        var node = head
        while node != vmaNil {
            let flags = transform(pool[node].vma.flags)
            if flags != pool[node].vma.flags { setFlags(node, flags) }
            node = pool[node].next
        }
        guard merging else { return }
        node = head
        while node != vmaNil {
            if !mergeWithNext(node) { node = pool[node].next }
        }
    }

    /// The loop mprotect and mlock share: every region in [start, end) (a
    /// non-empty, page-aligned range) must exist and pass `check`, in address
    /// order, before anything changes; then each region whose flags `transform`
    /// changes is cut to the range and re-flagged, and the pieces merge with
    /// matching neighbours. ENOMEM for a hole or past max_map_count.
    /// Linux: the VMA loops of do_mprotect_pkey() and apply_vma_lock_flags()
    /// with vma_modify_flags()
    private mutating func modifyFlags(_ start: VirtAddr, _ end: VirtAddr, _ transform: (VMFlags) -> VMFlags,
                                      check: (VMA) throws(VMError) -> Void = { _ in }) throws(VMError) {
        try modifyRegions(start, end, { vma in
            var changed = vma
            changed.flags = transform(vma.flags)
            return changed
        }, check: check)
    }

    /// Gives every page in [start, end) (page aligned, mapped throughout)
    /// the NUMA policy `policy` (nil: none), splitting regions at the ends
    /// and merging those that now match. ENOMEM for a hole or past
    /// max_map_count; nothing changes then. Linux: mbind_range() →
    /// vma_modify_policy()
    public mutating func setPolicy(_ policy: MemPolicy?, _ start: VirtAddr, _ end: VirtAddr) throws(VMError) {
        precondition(start.isPageAligned && end.isPageAligned)
        try modifyRegions(start, end, { vma in
            var changed = vma
            changed.policy = policy
            return changed
        })
    }

    /// The loop of modifyFlags and setPolicy: `transform` changes a region's
    /// flags or policy, never its range.
    private mutating func modifyRegions(_ start: VirtAddr, _ end: VirtAddr, _ transform: (VMA) -> VMA,
                                        check: (VMA) throws(VMError) -> Void = { _ in }) throws(VMError) {
        guard start < end else { return }
        let first = lowerBound(start)
        var covered = start
        var node = first
        var splits = 0
        while covered < end {
            guard node != vmaNil, pool[node].vma.start <= covered else { throw .noMemory }
            let vma = pool[node].vma
            try check(vma)
            // Each split adds a region. Linux: split_vma()'s map_count check
            if transform(vma) != vma {
                if vma.start < start { splits += 1 }
                if vma.end > end { splits += 1 }
            }
            covered = vma.end
            node = pool[node].next
        }
        guard count + splits <= Self.maxMapCount else { throw .noMemory }

        // A split keeps the lower part in its node, so `first` and the region
        // below it stay where the merging starts.
        node = first
        while node != vmaNil && pool[node].vma.start < end {
            if transform(pool[node].vma) != pool[node].vma {
                if pool[node].vma.start < start { node = split(node, at: start) }
                if pool[node].vma.end > end { split(node, at: end) }
                reshape(node, to: transform(pool[node].vma))
            }
            node = pool[node].next
        }

        // Merge from the region below the range up to the one just above it.
        node = pool[first].prev == vmaNil ? first : pool[first].prev
        while node != vmaNil && pool[node].vma.start < end {
            if !mergeWithNext(node) { node = pool[node].next }
        }
    }
}

// MARK: - get_unmapped_area
//
// Choosing where mmap places a new mapping. Keel uses Linux's x86-64 default
// layout: mappings grow down from mmap_base, just under the stack's reserved
// space, so the heap (growing up from brk) and the mmap area meet in the middle.
// The gap search walks the address-ordered list downward; Linux avoids that walk
// with per-node "largest gap below" values (rb_subtree_gap), which a teaching
// kernel with a handful of regions does not need.

extension VMATree {
    /// A free range of `length` bytes (rounded up to pages) for mmap. With `fixed`,
    /// `hint` is returned as is (the caller unmaps whatever is there). Otherwise `hint`
    /// is used if that range is free and aligned, else the highest free gap below
    /// `layout.mmapBase` and above `layout.mmapMinAddr` is taken, keeping the guard
    /// gap below a stack. `alignment` is a power of two, at least a page.
    /// EINVAL: empty length, bad alignment, misaligned fixed address; EPERM: fixed
    /// below mmap_min_addr; ENOMEM: no room. Linux: get_unmapped_area() →
    /// arch_get_unmapped_area_topdown() (without its bottom-up fallback)
    public func getUnmappedArea(length: UInt64, hint: VirtAddr? = nil, fixed: Bool = false,
                                alignment: UInt64 = pageSize,
                                layout: MMLayout) throws(VMError) -> VirtAddr {
        guard length > 0, alignment >= pageSize, alignment & (alignment - 1) == 0 else {
            throw .invalidArgument
        }
        let length = VirtAddr(length).alignedUp().value
        guard length != 0, length <= layout.taskSize - layout.mmapMinAddr else { throw .noMemory }

        if fixed {
            guard let addr = hint, addr.isPageAligned else { throw .invalidArgument }
            guard addr.value <= layout.taskSize - length else { throw .noMemory }
            guard addr.value >= layout.mmapMinAddr else { throw .notPermitted }
            return addr
        }
        if let hint {
            let addr = hint.alignedUp()
            if addr.value & (alignment - 1) == 0, isFree(addr, length: length, layout: layout) {
                return addr
            }
        }
        guard let addr = highestGap(length: length, alignment: alignment, layout: layout) else {
            throw .noMemory
        }
        return addr
    }

    /// [addr, addr + length) lies in user space and clear of every region and stack guard gap.
    private func isFree(_ addr: VirtAddr, length: UInt64, layout: MMLayout) -> Bool {
        guard addr.value >= layout.mmapMinAddr, addr.value <= layout.taskSize - length else {
            return false
        }
        // Regions below `next` end at or below addr already: only `next` can be in the way.
        let next = lowerBound(addr)
        return next == vmaNil || addr + length <= pool[next].vma.startGap(guardGap: layout.stackGuardGap)
    }

    /// The top-down search. Linux: unmapped_area_topdown()
    private func highestGap(length: UInt64, alignment: UInt64, layout: MMLayout) -> VirtAddr? {
        let high = layout.mmapBase.value
        let low = layout.mmapMinAddr
        // `above` is the region bounding the gap from above (nil: none), `below` from below.
        var above = lowerBound(layout.mmapBase)
        var below = above == vmaNil ? tail : pool[above].prev
        while true {
            var gapEnd = high
            if above != vmaNil {
                gapEnd = Swift.min(gapEnd, pool[above].vma.startGap(guardGap: layout.stackGuardGap).value)
            }
            let gapStart = Swift.max(low, below == vmaNil ? 0 : pool[below].vma.end.value)
            if gapEnd >= gapStart && gapEnd - gapStart >= length {
                let addr = (gapEnd - length) & ~(alignment - 1)
                if addr >= gapStart { return VirtAddr(addr) }
            }
            guard below != vmaNil, pool[below].vma.end.value > low else { return nil }
            above = below
            below = pool[below].prev
        }
    }
}
