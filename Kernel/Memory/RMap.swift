// Reverse mapping: from a physical page to every page-table entry that maps
// it (seed 004: "how do we find out where a page is mapped?"). Reclaim needs
// it to unmap a page before evicting it and to read the accessed bits of its
// mappings; migration needs it to move a page.
//
// File pages need nothing new: the page descriptor names its AddressSpace and
// index, the space keeps the mms that map the file (its i_mmap list), and
// each mm's VMAs say at which address they map which file offset.
//
// Anonymous pages get an anon_vma. A process's first anonymous page creates
// one for its mm; every anonymous page it creates records that anon_vma's id
// and its own virtual page number. fork links the child to its parent's
// anon_vma and to all of the parent's ancestors' (the child's anon_vma
// chain), because the child maps its parent's pages at the same addresses
// until copy-on-write separates them. So the mms that may map an anonymous
// page are the mms on its anon_vma's list, always at the same address.
// Keel keeps one anon_vma per mm, not per VMA as Linux: an mm's anonymous
// pages all share it, and a walk visits a whole mm, looking up the VMA there.
//
// A walk visits each candidate mm with its mmap_lock taken for reading by a
// try-lock, without a user reference (an mm torn down meanwhile is found
// with no VMAs: exit_mmap empties them under the same lock): reclaim must not sleep on a lock some other process holds while
// it may itself hold one (Linux does the same with folio_trylock and friends).
// An mm it could not lock keeps its mapping; the page then still has users
// and reclaim leaves it. The walk never decides a page is unmapped: callers
// check the page's reference count afterwards.
//
// mremap moving an anonymous page that another mm still shares (after fork)
// leaves it findable only at its old address in this mm: reclaim then cannot
// unmap it and keeps it resident. Linux avoids that with each VMA's vm_pgoff.
//
// Locking: `lock` protects the registry and every anon_vma's list of mms and
// every mm's `anonVMA` and `anonChain`. Linux: anon_vma->root->rwsem
// Linux: mm/rmap.c (rmap_walk_anon, rmap_walk_file, anon_vma_fork,
// unlink_anon_vmas), include/linux/rmap.h

/// The anonymous pages one mm created, and the mms that may map them.
/// Linux: struct anon_vma
final class AnonVMA {
    /// What `Page.mapping` records (never 0).
    let id: UInt32
    /// The mm that created it and every mm forked from it since, while they
    /// live. `RMap.lock` held. Linux: anon_vma->rb_root (the anon_vma_chains)
    fileprivate var mms: [MM] = []

    fileprivate init(id: UInt32) { self.id = id }
}

enum RMap {
    static let lock = SpinLock(LockClass("&anon_vma->rwsem"), disablesInterrupts: false)
    /// Every anon_vma some mm still links to, by id. `lock` held.
    nonisolated(unsafe) private static var anonVMAs = HashMap<UInt32, AnonVMA>()
    nonisolated(unsafe) private static var lastID: UInt32 = 0

    /// The anon_vma `mm`'s new anonymous pages record, made at its first.
    /// Linux: anon_vma_prepare() → __anon_vma_prepare()
    static func prepare(_ mm: MM) -> AnonVMA {
        if let own = mm.anonVMA { return own }          // (set once, read without the lock after)
        lock.lock()
        defer { lock.unlock() }
        if let own = mm.anonVMA { return own }
        repeat { lastID &+= 1 } while lastID == 0 || anonVMAs[lastID] != nil
        let anonVMA = AnonVMA(id: lastID)
        anonVMA.mms.append(mm)
        anonVMAs[anonVMA.id] = anonVMA
        mm.anonChain.append(anonVMA)
        mm.anonVMA = anonVMA
        return anonVMA
    }

    /// fork: the child may map every page the parent may. Linux: anon_vma_fork()
    static func fork(_ parent: MM, _ child: MM) {
        lock.lock()
        for anonVMA in parent.anonChain {
            anonVMA.mms.append(child)
            child.anonChain.append(anonVMA)
        }
        lock.unlock()
    }

    /// The mm is torn down: off every list it is on; an anon_vma no mm links
    /// to any more is forgotten (pages naming it are mapped nowhere).
    /// Linux: unlink_anon_vmas()
    static func unlink(_ mm: MM) {
        lock.lock()
        for anonVMA in mm.anonChain {
            anonVMA.mms.removeAll { $0 === mm }
            if anonVMA.mms.isEmpty { _ = anonVMAs.removeValue(forKey: anonVMA.id) }
        }
        mm.anonChain = []
        mm.anonVMA = nil
        lock.unlock()
    }

    /// Records a new anonymous page of `mm` at `address`: its anon_vma and
    /// its virtual page number. Linux: folio_add_new_anon_rmap() → __folio_set_anon()
    static func addNewAnonPage(_ frame: PhysAddr, _ mm: MM, at address: VirtAddr) {
        let page = PageAllocator.page(frame)
        page.pointee.mapping = prepare(mm).id
        page.pointee.index = address.value >> pageShift
    }

    /// How a walk went.
    struct WalkResult {
        /// Candidate mms visited.
        var visited = 0
        /// Candidate mms skipped: their mmap_lock was busy.
        var skipped = 0
    }

    /// Calls `body` with each mm that may map `frame`, the VMA there and the
    /// address, the mm's mmap_lock held for reading; `body` re-checks the PTE
    /// under the mm's pageTableLock and returns false to stop the walk. The
    /// caller holds a reference on the page (so its identity cannot change).
    /// Linux: rmap_walk() → rmap_walk_anon() / rmap_walk_file()
    @discardableResult
    static func walk(_ frame: PhysAddr, _ body: (MM, VMA, VirtAddr) -> Bool) -> WalkResult {
        let page = PageAllocator.page(frame).pointee
        var result = WalkResult()
        if page.flags.contains(.anon) {
            let address = VirtAddr(page.index << pageShift)
            for mm in anonMMs(page.mapping) {
                guard mm.mmapLock.tryLockRead() else {
                    result.skipped += 1
                    continue
                }
                result.visited += 1
                var more = true
                if let vma = mm.vmas.findVMA(address), vma.contains(address) { more = body(mm, vma, address) }
                mm.mmapLock.unlockRead()
                if !more { break }
            }
        } else if page.isPageCache, let space = PageCache.space(id: page.mapping) {
            for (mm, file) in space.mapperList() {
                guard mm.mmapLock.tryLockRead() else {
                    result.skipped += 1
                    continue
                }
                result.visited += 1
                var more = true
                mm.addresses(of: file, from: page.index, through: page.index, sharedOnly: false) { vma, address, _ in
                    if more { more = body(mm, vma, address) }
                }
                mm.mmapLock.unlockRead()
                if !more { break }
            }
        }
        return result
    }

    /// The mms on anon_vma `id`'s list now.
    private static func anonMMs(_ id: UInt32) -> [MM] {
        lock.lock()
        defer { lock.unlock() }
        return anonVMAs[id]?.mms ?? []
    }
}
