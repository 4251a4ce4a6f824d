// Creating and removing mappings: mmap, munmap, brk, madvise, msync. These
// edit an mm's VMAs only; pages are mapped later, by faults (PageFault.swift),
// except for MAP_POPULATE and locked mappings (populated by Mlock.swift). The
// system calls in Kernel/Syscall/MemorySyscalls.swift decode their registers
// and call the methods here, which check every argument as Linux does, in
// Linux's order, with Linux's errno.
//
// Two rules keep hostile arguments harmless:
//   - lengths are page-aligned the way C computes PAGE_ALIGN on a size_t, so a
//     length within a page of 2^64 wraps to 0, which each call rejects;
//   - a range is checked as `length <= TASK_SIZE - start` before any addition,
//     so nothing overflows (UserRange.end, the access_ok test).
//
// The caller holds the mm's mmap_lock for writing (MemorySyscalls.swift takes it).
// Linux: mm/mmap.c, mm/madvise.c, mm/msync.c, mm/gup.c (populate)

import Synchronization

/// mmap's and friends' constants. Linux: include/uapi/asm-generic/mman*.h
enum Mman {
    static let PROT_READ: UInt64 = 1, PROT_WRITE: UInt64 = 2, PROT_EXEC: UInt64 = 4
    /// PROT_GROWSDOWN | PROT_GROWSUP: accepted by mprotect, and ignored.
    static let PROT_GROWS: UInt64 = 0x0300_0000
    static let MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03, MAP_TYPE = 0x0f
    static let MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100, MAP_LOCKED = 0x2000
    static let MAP_POPULATE = 0x8000
    static let MAP_FIXED_NOREPLACE = 0x100000
    static let MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4
    static let MADV_NORMAL = 0, MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_WILLNEED = 3, MADV_DONTNEED = 4
    static let MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4

    /// PAGE_ALIGN() of a size_t as C computes it: a length within a page of
    /// 2^64 wraps to 0, which each call turns into Linux's errno for it.
    static func pageAlign(_ length: UInt64) -> UInt64 {
        (length &+ pageSize &- 1) & ~(pageSize - 1)
    }
}

extension MM {
    /// A new mapping of `length` bytes, anonymous or of `file` from `offset`.
    /// `file` is nil for MAP_ANONYMOUS (the caller looked the descriptor up:
    /// EBADF comes first in Linux too). Linux: do_mmap()
    func mmap(hint: VirtAddr, length requested: UInt64, prot: UInt64, flags: Int, file: OpenFile?,
              offset: UInt64) throws(Errno) -> VirtAddr {
        precondition(mmapLock.isWriteLocked, "do_mmap without mmap_lock held for writing")
        guard requested != 0 else { throw .EINVAL }
        let length = Mman.pageAlign(requested)
        guard length != 0, length <= KernelLayout.taskSize else { throw .ENOMEM }   // PAGE_ALIGN wrapped
        guard (offset >> pageShift) &+ (length >> pageShift) >= offset >> pageShift else { throw .EOVERFLOW }
        let type = flags & Mman.MAP_TYPE
        guard type == Mman.MAP_SHARED || type == Mman.MAP_PRIVATE || type == Mman.MAP_SHARED_VALIDATE else {
            throw .EINVAL
        }
        // mlockall(MCL_FUTURE)'s lock bits come with every new mapping. Linux: mm->def_flags
        var vmFlags = VMFlags(rawValue: prot & 7).union([.mayRead, .mayWrite, .mayExec]).union(defFlags)
        if type != Mman.MAP_PRIVATE { vmFlags.formUnion([.shared, .mayShare]) }
        if flags & Mman.MAP_GROWSDOWN != 0 { vmFlags.insert(.growsDown) }
        if flags & Mman.MAP_LOCKED != 0 { vmFlags.insert(.locked) }
        if let file {
            // The file's last byte must be addressable as an off_t.
            // Linux: file_mmap_ok() with MAX_LFS_FILESIZE
            guard offset <= UInt64(Int64.max) - length else { throw .EOVERFLOW }
            guard file.readable else { throw .EACCES }
            guard case .regular = file.operations else { throw .ENODEV }
            // A shared mapping of a file open read-only can never be made
            // writable, so it is the same as a private one. Linux: do_mmap()
            if type != Mman.MAP_PRIVATE && !file.writable {
                guard prot & Mman.PROT_WRITE == 0 else { throw .EACCES }
                vmFlags.remove([.mayWrite, .shared])
            }
            // A memfd sealed against writes: no writable shared mapping, and
            // none that mprotect could make writable. Linux: memfd_check_seals_mmap()
            if type != Mman.MAP_PRIVATE, let mapping = file.inode.mapping,
               mapping.seals.load(ordering: .relaxed) & Seal.writes != 0 {
                guard prot & Mman.PROT_WRITE == 0 else { throw .EPERM }
                vmFlags.remove(.mayWrite)
            }
        }

        let fixed = flags & (Mman.MAP_FIXED | Mman.MAP_FIXED_NOREPLACE) != 0
        if fixed && !hint.isPageAligned { throw .EINVAL }
        let start: VirtAddr
        do {
            start = try vmas.getUnmappedArea(length: length, hint: hint.value == 0 && !fixed ? nil : hint,
                                             fixed: fixed, layout: layout)
        } catch {
            throw error.errno
        }
        let end = start + length
        if fixed && vmas.findIntersection(start, end) != nil {
            if flags & Mman.MAP_FIXED_NOREPLACE != 0 { throw .EEXIST }
            try munmap(start, end)
        }
        // The file the VMA maps, with this mm's reference to it: the file, or for
        // shared anonymous memory an unnamed tmpfs file of its own (Linux:
        // shmem_zero_setup()), faulted in lazily by every process that shares it.
        var backing = VMABacking.anonymous
        if let file {
            backing = .file(attach(MappedFiles.get(file.path)), pageOffset: offset >> pageShift)
        } else if type != Mman.MAP_PRIVATE {
            backing = .file(attach(MappedFiles.get(Shmem.zeroSetup(length: length))), pageOffset: 0)
        }
        do {
            try vmas.insert(VMA(start: start, end: end, flags: vmFlags, backing: backing))
        } catch {
            detachUnusedFiles()
            throw .ENOMEM
        }
        _ = vmas.mergeAdjacent(at: start)
        // Linux: do_mmap()'s `populate`, then vm_mmap_pgoff() → mm_populate()
        if flags & Mman.MAP_POPULATE != 0 || vmFlags.populatesWhenLocked { populate(start, end) }
        return start
    }

    /// Removes every mapping in [start, end): the VMAs (split at the edges), their
    /// pages and page tables, and the references to objects no VMA maps any more.
    /// Linux: do_vmi_munmap()
    func munmap(_ start: VirtAddr, _ end: VirtAddr) throws(Errno) {
        precondition(mmapLock.isWriteLocked, "do_munmap without mmap_lock held for writing")
        var removedFile = false
        do {
            try vmas.unmapRange(start, end) { if case .file = $0.backing { removedFile = true } }
        } catch {
            throw error.errno
        }
        releaseUserPages(start, end)
        // Only a removed file mapping can leave an object no VMA maps.
        if removedFile { detachUnusedFiles() }
    }

    /// munmap(2)'s checks on the length as given, then PAGE_ALIGN. Linux: __vm_munmap()
    func munmap(_ start: VirtAddr, length: UInt64) throws(Errno) {
        guard start.isPageAligned, UserRange.end(of: start, length: length) != nil, length != 0,
              let end = UserRange.end(of: start, length: Mman.pageAlign(length)) else { throw .EINVAL }
        try munmap(start, end)
    }

    /// Moves the program break. Returns the new break, or the old one if the
    /// request is refused (brk(2) reports failure that way). Linux: sys_brk()
    func brk(_ requested: VirtAddr) throws(Errno) -> VirtAddr {
        precondition(mmapLock.isWriteLocked, "brk without mmap_lock held for writing")
        guard requested >= startBrk, requested.value <= KernelLayout.taskSize else { return brk }
        let oldEnd = brk.alignedUp(), newEnd = requested.alignedUp()
        if newEnd < oldEnd {
            try munmap(newEnd, oldEnd)
        } else if newEnd > oldEnd {
            // Linux: check_brk_limits() and the guard gap to the next mapping
            if requested - startBrk > 1 << 40 { return brk }
            if let next = vmas.findIntersection(oldEnd, newEnd + layout.stackGuardGap),
               next.start < newEnd || next.flags.contains(.growsDown) {
                return brk
            }
            do { try vmas.insert(VMA(start: oldEnd, end: newEnd, flags: VMFlags.dataDefault.union(defFlags))) } catch {
                return brk
            }
            _ = vmas.mergeAdjacent(at: oldEnd)
            // Under mlockall(MCL_FUTURE) the heap's new pages come in now. Linux: sys_brk()'s `populate`
            if defFlags.contains(.locked) { populate(oldEnd, newEnd) }
        }
        brk = requested
        return requested
    }

    /// madvise's checks, then the advice (Madvise.swift): MADV_DONTNEED drops
    /// the pages, so the next touch sees zeros (private anonymous) or the file
    /// again, and is EINVAL where a page is locked. Linux: do_madvise(),
    /// madvise_dontneed_free_valid_vma()
    func madvise(_ start: VirtAddr, length requested: UInt64, advice: Int) throws(Errno) {
        guard Mman.isKnownAdvice(advice), start.isPageAligned else { throw .EINVAL }
        let length = Mman.pageAlign(requested)
        guard requested == 0 || length != 0 else { throw .EINVAL }            // rounded up to 0
        guard length <= UInt64.max - start.value else { throw .EINVAL }        // end < start
        guard length > 0 else { return }
        guard let end = UserRange.end(of: start, length: length) else { throw .ENOMEM }
        // A locked page refuses before a hole is found. Linux: the VMA walk checks each region in turn
        if advice == Mman.MADV_DONTNEED && hasLockedRegion(start, end) { throw .EINVAL }
        guard covered(start, end) else { throw .ENOMEM }
        try advise(advice, start, end)
    }

    /// msync's checks, then the files a MAP_SHARED VMA maps in the range, with
    /// the page range of each, for the caller to write back once it has let
    /// go of mmap_lock (write-back write-protects pages in every mm mapping
    /// the file, this one included). MS_ASYNC names nothing: the flusher
    /// writes dirty pages anyway, as Linux's MS_ASYNC does nothing since 2.6.19.
    /// MS_INVALIDATE of a locked page is EBUSY.
    /// Linux: SYSCALL_DEFINE3(msync)
    func msync(_ start: VirtAddr, length requested: UInt64, flags: Int) throws(Errno) -> [(MappedFileID, ClosedRange<UInt64>)] {
        precondition(mmapLock.isLocked, "msync without mmap_lock")
        guard flags & ~(Mman.MS_ASYNC | Mman.MS_INVALIDATE | Mman.MS_SYNC) == 0, start.isPageAligned,
              flags & (Mman.MS_ASYNC | Mman.MS_SYNC) != (Mman.MS_ASYNC | Mman.MS_SYNC) else { throw .EINVAL }
        let length = Mman.pageAlign(requested)
        guard length <= UInt64.max - start.value else { throw .ENOMEM }        // end < start
        guard length > 0 else { return [] }
        guard let end = UserRange.end(of: start, length: length) else { throw .ENOMEM }
        if flags & Mman.MS_INVALIDATE != 0 && hasLockedRegion(start, end) { throw .EBUSY }
        guard covered(start, end) else { throw .ENOMEM }
        guard flags & Mman.MS_SYNC != 0 else { return [] }
        var files: [(MappedFileID, ClosedRange<UInt64>)] = []
        for vma in vmas where vma.end > start && vma.start < end && vma.flags.contains(.shared) {
            guard case .file(let id, let pageOffset) = vma.backing else { continue }
            let first = (max(vma.start, start) - vma.start) >> pageShift
            let pages = (min(vma.end, end) - max(vma.start, start)) >> pageShift
            files.append((id, (pageOffset + first)...(pageOffset + first + pages - 1)))
        }
        return files
    }

    /// Every page of [start, end) lies in some VMA.
    private func covered(_ start: VirtAddr, _ end: VirtAddr) -> Bool {
        var cursor = start
        while cursor < end {
            guard let vma = vmas.findVMA(cursor), vma.start <= cursor else { return false }
            cursor = vma.end
        }
        return true
    }
}
