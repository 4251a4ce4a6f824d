// One memory region of an address space: a page-aligned range with uniform
// permissions and one source of page contents. Everything the page-fault handler
// and /proc maps need to know about a region is here.

/// Opaque identity of a mapped file, chosen by the VFS (an inode or open-file handle).
/// Linux: vma->vm_file
public struct MappedFileID: Hashable, Sendable {
    public var rawValue: UInt64
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
}

/// Where a region's pages come from.
public enum VMABacking: Equatable, Sendable {
    /// Zero-filled on first touch, no file behind it. Linux: vma_is_anonymous()
    case anonymous
    /// Page `pageOffset` of `file` backs the region's first page. Linux: vm_file, vm_pgoff
    case file(MappedFileID, pageOffset: UInt64)
}

/// A memory region. Linux: struct vm_area_struct
public struct VMA: Equatable, Sendable {
    /// First address, page aligned. Linux: vm_start
    public var start: VirtAddr
    /// First address past the region, page aligned. Linux: vm_end
    public var end: VirtAddr
    /// Linux: vm_flags
    public var flags: VMFlags
    public var backing: VMABacking
    /// The region's NUMA memory policy (MemPolicy.swift), set by mbind; nil:
    /// the task's policy applies. Regions with different policies never
    /// merge; a split gives both pieces the policy; fork copies it.
    /// Linux: vma->vm_policy (vma_policy())
    public var policy: MemPolicy?

    public init(start: VirtAddr, end: VirtAddr, flags: VMFlags, backing: VMABacking = .anonymous,
                policy: MemPolicy? = nil) {
        self.start = start
        self.end = end
        self.flags = flags
        self.backing = backing
        self.policy = policy
    }

    /// The page offset interleaving counts from: the file page, or for
    /// anonymous memory the virtual page number (Linux starts an anonymous
    /// vm_pgoff at vm_start >> PAGE_SHIFT). Linux: interleave_nid()'s `off`
    public func interleaveOffset(at addr: VirtAddr) -> UInt64 {
        filePage(at: addr) ?? addr.value >> pageShift
    }

    /// Pages in the region. Linux: vma_pages()
    @inlinable public var pageCount: UInt64 { (end - start) >> pageShift }

    @inlinable public func contains(_ addr: VirtAddr) -> Bool { start <= addr && addr < end }

    /// Non-empty and page aligned at both ends: the only shape a VMATree accepts.
    @inlinable public var isWellFormed: Bool { start < end && start.isPageAligned && end.isPageAligned }

    /// The file page that backs `addr`, nil for anonymous memory. Linux: linear_page_index()
    public func filePage(at addr: VirtAddr) -> UInt64? {
        guard case let .file(_, pageOffset) = backing else { return nil }
        return pageOffset + ((addr - start) >> pageShift)
    }

    /// The lowest address another mapping may end at: a stack keeps a guard gap below
    /// itself so it can still grow. Linux: vm_start_gap()
    @inlinable public func startGap(guardGap: UInt64) -> VirtAddr {
        guard flags.contains(.growsDown) else { return start }
        return start.value > guardGap ? VirtAddr(start.value - guardGap) : VirtAddr(0)
    }

    /// This region cut to [from, to), the file offset following the new start.
    /// Linux: the vm_pgoff update in __split_vma() and expand_downwards()
    func slice(_ from: VirtAddr, _ to: VirtAddr) -> VMA {
        var piece = self
        piece.start = from
        piece.end = to
        if case let .file(file, pageOffset) = backing {
            let moved = from < start ? pageOffset - ((start - from) >> pageShift)
                                     : pageOffset + ((from - start) >> pageShift)
            piece.backing = .file(file, pageOffset: moved)
        }
        return piece
    }
}
