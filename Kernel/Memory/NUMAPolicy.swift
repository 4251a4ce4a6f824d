// NUMA memory policies in the kernel: the policy a page allocation follows,
// and the work of set_mempolicy, get_mempolicy, mbind, migrate_pages and
// move_pages on an mm (the checks and node arithmetic are in
// Kernel/Core/Memory/MemPolicy.swift; the system calls in
// Kernel/Syscall/MemPolicySyscalls.swift).
//
// A page's policy is its VMA's (`VMA.policy`, set by mbind, protected by
// mmap_lock like the rest of the VMA) or else the allocating task's
// (`Task.memPolicy`, see Task.swift). No policy: the local node.
//
// Migration to a node isolates each page from its LRU list while the mm's
// mmap_lock is held for reading, drops the lock, and moves the pages with
// Migrate.tryMove(_:on:) (the same migration entries compaction uses),
// so a page's contents and mappings stay as they were. Pages are handled
// `migrationBatch` at a time.
// Linux: mm/mempolicy.c (get_vma_policy(), policy_node(), interleave_nid(),
// do_mbind(), queue_pages_range(), do_migrate_pages()), mm/migrate.c
// (do_pages_move(), do_pages_stat(), add_page_for_migration())

enum NUMAPolicy {
    /// The nodes a task may allocate from: the online nodes (Keel has no
    /// cpusets). Linux: cpuset_current_mems_allowed ∧ node_states[N_MEMORY]
    static var memsAllowed: NodeMask { NUMA.online }

    /// Pages isolated per round of a migration (the lock is dropped between rounds).
    static let migrationBatch = 64

    /// Where a user page at `page` of `vma` comes from: the VMA's policy, or
    /// the running task's; nil (local node) with neither. Interleaving counts
    /// by the page's offset in the VMA, for a task policy too.
    /// Linux: vma_alloc_folio() → get_vma_policy(), interleave_nid(), policy_node()
    static func choice(for vma: VMA, at page: VirtAddr) -> NodeChoice? {
        guard let policy = vma.policy ?? Scheduler.current.memPolicy else { return nil }
        let interleave = policy.mode == .interleave ? policy.interleaveNode(vma.interleaveOffset(at: page)) : nil
        return choice(policy, interleave: interleave)
    }

    /// Where a page outside any VMA (the page cache) comes from under the
    /// running task's policy; interleaving goes round robin from the task's
    /// last node. Linux: alloc_pages() → policy_node(), interleave_nodes()
    static func taskChoice() -> NodeChoice? {
        let task = Scheduler.current
        guard let policy = task.memPolicy else { return nil }
        var interleave: Int? = nil
        if policy.mode == .interleave, let next = policy.nextInterleaveNode(after: task.interleavePrevious) {
            task.interleavePrevious = next             // only the task itself touches it
            interleave = next
        }
        return choice(policy, interleave: interleave)
    }

    /// The node a frame is on. Linux: page_to_nid()
    static func node(of frame: PhysAddr) -> Int { NUMA.nodeOf(frame: frame) }

    private static func choice(_ policy: MemPolicy, interleave: Int?) -> NodeChoice {
        let local = NUMA.localNode
        return policy.nodeChoice(local: local, order: PageAllocator.zonelist(from: local), interleave: interleave)
    }

    /// set_mempolicy: the running task's policy becomes `policy`; an
    /// interleave starts again from the first node. Linux: do_set_mempolicy()
    static func setTaskPolicy(_ policy: MemPolicy?) {
        let task = Scheduler.current
        task.allocLock.withLock {
            task.memPolicy = policy
            if policy?.mode == .interleave { task.interleavePrevious = MemPolicy.maxNumNodes - 1 }
        }
    }
}

// MARK: - finding a page for move_pages, mbind and migrate_pages

/// A user page found for a migration: isolated from its LRU list (the
/// isolation holds a reference), with where it should go.
struct IsolatedPage {
    let frame: PhysAddr
    let choice: NodeChoice
    /// The index of the move_pages entry it answers (0 elsewhere).
    let index: Int
}

/// Up to `NUMAPolicy.migrationBatch` isolated pages, in a buffer on the
/// caller's stack: a program drives these paths, and a failed heap
/// allocation in the kernel cannot be caught, so they allocate nothing.
struct IsolationBatch {
    private let slots: UnsafeMutableBufferPointer<IsolatedPage>
    private(set) var count = 0

    /// Runs `body` with an empty batch that lives as long as the call.
    static func with<R, E: Error>(_ body: (inout IsolationBatch) throws(E) -> R) throws(E) -> R {
        try withUnsafeTemporaryAllocation(of: IsolatedPage.self, capacity: NUMAPolicy.migrationBatch) { (buffer) throws(E) -> R in
            var batch = IsolationBatch(slots: buffer)
            return try body(&batch)
        }
    }

    var isFull: Bool { count == slots.count }
    /// Room for `n` more pages.
    func hasRoom(for n: Int) -> Bool { count + n <= slots.count }
    /// The pages in the batch.
    var pages: UnsafeMutableBufferPointer<IsolatedPage>.SubSequence { slots[0..<count] }

    mutating func append(_ page: IsolatedPage) {
        precondition(!isFull, "an isolation batch over its capacity")
        (slots.baseAddress! + count).initialize(to: page)
        count += 1
    }

    /// Forgets the pages (the caller has moved or put back every one).
    mutating func removeAll() { count = 0 }

    /// Moves each page where its choice says, in up to Migrate.maxPasses
    /// passes: a page busy in one pass (a task mid-fault on it) is tried
    /// again in the next, after the other pages, with the CPU offered to
    /// others in between. Every page ends moved or back on its LRU list;
    /// the batch keeps them (reordered) for the caller's answers. Returns
    /// how many did not move. Linux: migrate_pages() → migrate_pages_batch()
    mutating func migrate() -> Int {
        var remaining = count          // pages [0, remaining) not done yet
        var refused = 0
        for pass in 0..<Migrate.maxPasses where remaining > 0 {
            if pass > 0 { Scheduler.yield() }
            var i = 0
            while i < remaining {
                let outcome = Migrate.tryMove(slots[i].frame, on: slots[i].choice)
                if outcome == .busy {
                    i += 1
                    continue
                }
                if outcome == .moved {
                    VMStat.count(.pgMigrateSuccess)
                } else {
                    refused += 1
                    VMStat.count(.pgMigrateFail)
                    LRU.putback(slots[i].frame)
                }
                slots.swapAt(i, remaining - 1)
                remaining -= 1
            }
        }
        for page in slots[0..<remaining] {
            VMStat.count(.pgMigrateFail)
            LRU.putback(page.frame)
        }
        return refused + remaining
    }
}

extension MM {
    /// The frame of the user page at `address`, or the errno move_pages
    /// reports for it: EFAULT outside any VMA, for the zero page and for a
    /// page of anonymous memory never touched; ENOENT for a file page not
    /// mapped yet or a page swapped out or being migrated.
    /// mmap_lock held. Linux: follow_page(FOLL_GET | FOLL_DUMP)
    func userPage(at address: VirtAddr) -> Result<PhysAddr, Errno> {
        precondition(mmapLock.isLocked, "userPage without mmap_lock")
        let page = address.alignedDown()
        guard let vma = vmas.findVMA(page), vma.contains(page) else { return .failure(.EFAULT) }
        pageTableLock.lock()
        let entry = pageTable.entry(at: page) ?? .none
        pageTableLock.unlock()
        if entry.isPresent { return entry.frame == ZeroPage.frame ? .failure(.EFAULT) : .success(entry.frame) }
        // No page: Linux's no_page_table() says EFAULT for memory with no
        // fault handler to ask (anonymous), nothing (ENOENT) otherwise; a
        // swap or migration entry is "no page" too.
        if entry.isNone && vma.backing == .anonymous { return .failure(.EFAULT) }
        return .failure(.ENOENT)
    }

    /// Mappings of `frame` (page-table entries, not the caches' references).
    /// Linux: page_mapcount()
    private static func mappings(of frame: PhysAddr) -> Int32 {
        MapCount.count(frame) - PageAllocator.page(frame).pointee.cacheReferences
    }

    /// Takes `frame`, found mapped at `address`, off its LRU list for a
    /// migration, if it is still mapped there once isolated. mmap_lock held.
    /// Linux: folio_isolate_lru()
    private func isolate(_ frame: PhysAddr, mappedAt address: VirtAddr) -> Bool {
        guard LRU.isolate(frame) else { return false }
        pageTableLock.lock()
        let still = pageTable.entry(at: address).map { $0.isPresent && $0.frame == frame } ?? false
        pageTableLock.unlock()
        if !still { LRU.putback(frame) }
        return still
    }

    /// move_pages for one page: its status now (the node it is on already,
    /// or -EFAULT/-ENOENT/-EACCES/-EBUSY), or nil with the page isolated in
    /// `isolated` to be moved to `node`. A page mapped more than once moves
    /// only with `all` (MPOL_MF_MOVE_ALL). mmap_lock held.
    /// Linux: add_page_for_migration()
    func isolateForMove(_ address: VirtAddr, to node: Int, all: Bool, index: Int,
                        into isolated: inout IsolationBatch) -> Int32? {
        switch userPage(at: address) {
        case .failure(let errno):
            return -errno.rawValue
        case .success(let frame):
            if NUMAPolicy.node(of: frame) == node { return Int32(node) }
            if Self.mappings(of: frame) > 1 && !all { return -Errno.EACCES.rawValue }
            guard isolate(frame, mappedAt: address.alignedDown()) else { return -Errno.EBUSY.rawValue }
            isolated.append(IsolatedPage(frame: frame, choice: NodeChoice(preferred: node, allowed: .node(node)), index: index))
            return nil
        }
    }

    /// Isolates, from `start` on in [start, end), the pages whose node
    /// `wanted` refuses, each with where `destination` sends it, until
    /// `isolated` holds a batch; returns where it stopped. A page mapped
    /// more than once is left alone unless `all`; `unmovable` counts pages
    /// that could not be taken. mmap_lock held.
    /// Linux: queue_pages_range() → queue_folios_pte_range() + migrate_folio_add()
    func isolateMisplaced(_ start: VirtAddr, _ end: VirtAddr, all: Bool, wanted: (VMA, Int) -> Bool,
                          destination: (VMA, VirtAddr) -> NodeChoice,
                          into isolated: inout IsolationBatch, unmovable: inout Int) -> VirtAddr {
        precondition(mmapLock.isLocked, "isolateMisplaced without mmap_lock")
        var cursor = start
        while cursor < end, !isolated.isFull {
            guard let vma = vmas.findVMA(cursor), vma.start < end else { return end }
            let from = max(cursor, vma.start), to = min(vma.end, end)
            var stop = to
            withUnsafeTemporaryAllocation(of: (VirtAddr, PhysAddr).self, capacity: NUMAPolicy.migrationBatch) { found in
                var foundCount = 0
                pageTableLock.lock()
                pageTable.forEachLeaf(in: from..<to) { leaf in
                    guard stop == to, leaf.entry.isPresent, leaf.entry.frame != ZeroPage.frame else { return }
                    found[foundCount] = (leaf.virt, leaf.entry.frame)
                    foundCount += 1
                    if !isolated.hasRoom(for: foundCount + 1) || foundCount == found.count { stop = leaf.virt + pageSize }
                }
                pageTableLock.unlock()
                for (address, frame) in found[0..<foundCount] where !wanted(vma, NUMAPolicy.node(of: frame)) {
                    if Self.mappings(of: frame) > 1 && !all { continue }
                    if isolate(frame, mappedAt: address) {
                        isolated.append(IsolatedPage(frame: frame, choice: destination(vma, address), index: 0))
                    } else {
                        unmovable += 1
                    }
                }
            }
            cursor = stop
        }
        return cursor
    }
}

// MARK: - mbind and migrate_pages

extension MM {
    /// mbind on [start, start + length): every region there gets `policy`
    /// (nil: none), and with MPOL_MF_MOVE(_ALL) the pages on nodes outside
    /// `mask` move where the policy sends them; MPOL_MF_STRICT makes a page
    /// left outside `mask` EIO. EFAULT for a hole (any hole unless the
    /// policy is MPOL_DEFAULT, then only a range with no region at all),
    /// ENOMEM past max_map_count. Called without mmap_lock.
    /// Linux: do_mbind() after its argument checks
    func mbind(_ start: VirtAddr, _ end: VirtAddr, policy: MemPolicy?, mask: NodeMask, flags: Int) throws(Errno) {
        let move = flags & (MemPolicy.MPOL_MF_MOVE | MemPolicy.MPOL_MF_MOVE_ALL) != 0
        let strict = flags & MemPolicy.MPOL_MF_STRICT != 0       // (the caller drops it for MPOL_DEFAULT)
        var misplaced = false
        try mmapLock.withWrite { () throws(Errno) in
            // First the checks, then the changes (nothing changes on EFAULT);
            // the regions are walked twice rather than listed: a list would
            // be a heap allocation as long as the program's map.
            var cursor = start, regions = 0
            while cursor < end, let vma = vmas.findVMA(cursor), vma.start < end {
                if vma.start > cursor && policy != nil { throw .EFAULT }        // a hole below this region
                regions += 1
                cursor = vma.end
            }
            if regions == 0 || (cursor < end && policy != nil) { throw .EFAULT }
            cursor = start
            while cursor < end, let vma = vmas.findVMA(cursor), vma.start < end {
                let to = min(vma.end, end)
                do throws(VMError) { try vmas.setPolicy(policy, max(vma.start, cursor), to) } catch { throw error.errno }
                cursor = to
            }
            // Without MOVE, STRICT only asks whether a page is misplaced.
            // Linux: queue_folios_pte_range() returning 1
            if strict && !move {
                pageTableLock.lock()
                pageTable.forEachLeaf(in: start..<end) { leaf in
                    if leaf.entry.isPresent, leaf.entry.frame != ZeroPage.frame,
                       !mask.contains(NUMAPolicy.node(of: leaf.entry.frame)) { misplaced = true }
                }
                pageTableLock.unlock()
            }
        }
        if misplaced { throw .EIO }
        guard move else { return }
        let failed = migrateMisplaced(start, end, all: flags & MemPolicy.MPOL_MF_MOVE_ALL != 0,
                                      wanted: { _, node in mask.contains(node) },
                                      destination: { vma, address in NUMAPolicy.choice(for: vma, at: address) ?? NUMA.local })
        if failed > 0 && strict { throw .EIO }
    }

    /// Moves the pages of [start, end) that `wanted` refuses to where
    /// `destination` says, a batch at a time (mmap_lock taken for reading
    /// to find them, dropped to move them); returns how many could not move.
    /// Linux: queue_pages_range() + migrate_pages()
    func migrateMisplaced(_ start: VirtAddr, _ end: VirtAddr, all: Bool, wanted: (VMA, Int) -> Bool,
                          destination: (VMA, VirtAddr) -> NodeChoice) -> Int {
        var failed = 0
        var cursor = start
        IsolationBatch.with { (batch: inout IsolationBatch) in
            while cursor < end {
                if Signals.fatalPending(Scheduler.current) { break }
                batch.removeAll()
                mmapLock.lockRead()
                cursor = isolateMisplaced(cursor, end, all: all, wanted: wanted, destination: destination,
                                          into: &batch, unmovable: &failed)
                mmapLock.unlockRead()
                failed += batch.migrate()
                Scheduler.condResched()
            }
        }
        return failed
    }

    /// migrate_pages' work on this mm: the pages on each node of `from`
    /// move to the matching node of `to` (MemPolicy.migrationPlan); returns
    /// how many could not. Linux: do_migrate_pages() → migrate_to_node()
    func migrateNodes(from: NodeMask, to: NodeMask, all: Bool) -> Int {
        var failed = 0
        let top = VirtAddr(KernelLayout.taskSize)
        for (source, dest) in MemPolicy.migrationPlan(from: from, to: to) {
            failed += migrateMisplaced(VirtAddr(0), top, all: all, wanted: { _, node in node != source },
                                       destination: { _, _ in NodeChoice(preferred: dest, allowed: .node(dest)) })
        }
        return failed
    }
}

extension MM {
    /// The nodes a page for `address` may come from under the VMA's policy or
    /// else the running task's; nil for any node (no policy, or one that
    /// only prefers). mmap_lock held. Linux: policy_nodemask()
    func allowedNodes(at address: VirtAddr) -> NodeMask? {
        precondition(mmapLock.isLocked, "allowedNodes without mmap_lock")
        guard let vma = vmas.findVMA(address), vma.contains(address) else { return nil }
        return NUMAPolicy.choice(for: vma, at: address.alignedDown())?.allowed
    }

    /// get_mempolicy with MPOL_F_ADDR: the policy word of the region holding
    /// `address` (MPOL_DEFAULT for a region without a policy, not the
    /// task's), or with `byNode` the node of its page, and the policy's
    /// nodes. EFAULT outside every region. Takes mmap_lock for reading.
    /// Linux: do_get_mempolicy()'s MPOL_F_ADDR part
    func policyAnswer(at address: VirtAddr, byNode: Bool) throws(Errno) -> (word: Int32, nodes: NodeMask) {
        try mmapLock.withRead { () throws(Errno) -> (Int32, NodeMask) in
            guard let vma = vmas.findVMA(address), vma.contains(address) else { throw .EFAULT }
            let word = byNode ? Int32(try nodeOfPage(at: address)) : MemPolicy.modeWord(vma.policy)
            return (word, MemPolicy.reportedNodes(vma.policy))
        }
    }

    /// The node of the page at `address`, faulted in for reading first as
    /// get_user_pages would (an untouched anonymous page is the zero page
    /// then). EFAULT where it cannot be read. mmap_lock held.
    /// Linux: lookup_node() → get_user_pages_fast() + page_to_nid()
    func nodeOfPage(at address: VirtAddr) throws(Errno) -> Int {
        precondition(mmapLock.isLocked, "nodeOfPage without mmap_lock")
        let page = address.alignedDown()
        if pageTable.translate(page) == nil {
            guard case .resolved = handleFault(at: page, access: FaultAccess(.read, fromUserMode: false)) else {
                throw .EFAULT
            }
        }
        pageTableLock.lock()
        defer { pageTableLock.unlock() }
        guard let mapped = pageTable.translate(page) else { throw .EFAULT }
        return NUMAPolicy.node(of: mapped.phys)
    }
}
