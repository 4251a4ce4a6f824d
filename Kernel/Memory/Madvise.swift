// madvise's advice, each as Linux takes it. Keel has no readahead, LRU lists
// or swap, so the access-pattern hints (NORMAL, RANDOM, SEQUENTIAL, WILLNEED)
// and the reclaim hints (COLD, PAGEOUT) change nothing but are accepted where
// Linux accepts them. Keel is a Linux built without CONFIG_KSM and
// CONFIG_TRANSPARENT_HUGEPAGE, where MERGEABLE, UNMERGEABLE, HUGEPAGE,
// NOHUGEPAGE and COLLAPSE are EINVAL. REMOVE (punching a hole in a shared
// file) and WIPEONFORK/KEEPONFORK are not implemented: EINVAL, logged as such.
// Linux: mm/madvise.c madvise_behavior_valid(), madvise_vma_behavior(),
// madvise_populate()

extension Mman {
    static let MADV_FREE = 8, MADV_REMOVE = 9, MADV_DONTFORK = 10, MADV_DOFORK = 11
    static let MADV_DONTDUMP = 16, MADV_DODUMP = 17, MADV_WIPEONFORK = 18, MADV_KEEPONFORK = 19
    static let MADV_COLD = 20, MADV_PAGEOUT = 21, MADV_POPULATE_READ = 22, MADV_POPULATE_WRITE = 23
    static let MADV_DONTNEED_LOCKED = 24

    /// The advice madvise knows; anything else is EINVAL before the range is
    /// looked at. Linux: madvise_behavior_valid() without KSM and THP
    static func isKnownAdvice(_ advice: Int) -> Bool {
        switch advice {
        case MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_DONTFORK,
             MADV_DOFORK, MADV_DONTDUMP, MADV_DODUMP, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
             MADV_POPULATE_WRITE, MADV_DONTNEED_LOCKED:
            return true
        case MADV_REMOVE, MADV_WIPEONFORK, MADV_KEEPONFORK:
            Log.notice("keel: madvise advice \(advice) is not implemented, returning -EINVAL")
            return false
        default:
            return false
        }
    }
}

extension MM {
    /// Applies known `advice` to [start, end), which the caller has checked is
    /// page-aligned and mapped throughout. mmap_lock held for writing.
    func advise(_ advice: Int, _ start: VirtAddr, _ end: VirtAddr) throws(Errno) {
        switch advice {
        case Mman.MADV_POPULATE_READ, Mman.MADV_POPULATE_WRITE:
            try populateForAdvice(start, end, write: advice == Mman.MADV_POPULATE_WRITE)
        case Mman.MADV_DONTNEED, Mman.MADV_DONTNEED_LOCKED, Mman.MADV_FREE, Mman.MADV_COLD, Mman.MADV_PAGEOUT:
            // Pages of a locked region stay; MADV_FREE is for private anonymous
            // memory only. Linux: madvise_dontneed_free_valid_vma(), can_madv_lru_vma()
            for vma in vmas where vma.end > start && vma.start < end {
                if advice != Mman.MADV_DONTNEED_LOCKED && vma.flags.contains(.locked) { throw .EINVAL }
                if advice == Mman.MADV_FREE, vma.flags.contains(.shared) || vma.backing != .anonymous { throw .EINVAL }
            }
            // MADV_FREE may free the pages at any time until they are written
            // again: Keel frees them now, as MADV_DONTNEED does.
            if advice != Mman.MADV_COLD && advice != Mman.MADV_PAGEOUT { releaseUserPages(start, end) }
        case Mman.MADV_DONTFORK, Mman.MADV_DOFORK, Mman.MADV_DONTDUMP, Mman.MADV_DODUMP:
            let flag: VMFlags = advice == Mman.MADV_DONTFORK || advice == Mman.MADV_DOFORK ? .dontCopy : .dontDump
            let on = advice == Mman.MADV_DONTFORK || advice == Mman.MADV_DONTDUMP
            do { try vmas.setFlags(flag, on: on, start, end) } catch { throw error.errno }
        default:
            return                                      // a hint with nothing to tune
        }
    }
}
