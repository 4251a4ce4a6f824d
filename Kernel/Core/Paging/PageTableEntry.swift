// What a page-table entry holds and the vocabulary the walker speaks: the entry
// and its flag bits, the four levels, the three page sizes, a found leaf, and
// why an operation refused. PageTable.swift is the walker itself.
// Linux: arch/x86/include/asm/pgtable_types.h, pgtable_64_types.h

// MARK: - entries
//
// One 64-bit paging-structure entry, decoded. Bits 12–51 hold a physical address
// (the next table, or the mapped frame); everything else is flags.

/// An entry of a page table at any level. Linux: pgd_t / pud_t / pmd_t / pte_t
public struct PageTableEntry: Hashable, Sendable {
    /// Bits 12–51: the physical address field. Linux: PTE_PFN_MASK
    ///
    /// A 2 MiB or 1 GiB leaf keeps PAT in bit 12; Keel never sets it and maps huge
    /// pages only at size-aligned frames, so the same mask serves every level.
    public static let frameMask: UInt64 = 0x000f_ffff_ffff_f000

    /// An all-zero entry: nothing mapped and nothing remembered. Linux: __pte(0)
    public static let none = PageTableEntry(raw: 0)

    /// The entry exactly as the MMU reads it.
    public var raw: UInt64

    @inlinable public init(raw: UInt64) { self.raw = raw }

    /// Linux: pfn_pte() / mk_pte()
    public init(frame: PhysAddr, flags: PTEFlags) {
        precondition(frame.value & ~Self.frameMask == 0, "frame not page-aligned or above 2^52")
        precondition(flags.rawValue & Self.frameMask == 0, "flags overlap the address field")
        raw = frame.value | flags.rawValue
    }

    /// Physical address of the mapped frame or of the next-level table. Linux: pte_pfn() << PAGE_SHIFT
    @inlinable public var frame: PhysAddr { PhysAddr(raw & Self.frameMask) }
    /// Linux: pte_flags()
    @inlinable public var flags: PTEFlags { PTEFlags(rawValue: raw & ~Self.frameMask) }
    /// True when the slot is free: no mapping and no software state. Linux: pte_none()
    @inlinable public var isNone: Bool { raw == 0 }
    /// Present to the MMU. Linux: pte_present() without the PROTNONE case
    @inlinable public var isPresent: Bool { flags.contains(.present) }
    /// A PROT_NONE page: a frame the MMU does not see. Linux: pte_protnone()
    @inlinable public var isProtNone: Bool { !isPresent && flags.contains(.protNone) }

    /// The size of the page this entry maps when it sits at `level`, or nil when it is not a
    /// leaf. A PT entry for a PROT_NONE page is a leaf too. Linux: pte_present() (which is
    /// true for PROTNONE) / pmd_leaf() / pud_leaf()
    @inlinable public func pageSize(at level: PageTableLevel) -> PageSize? {
        if level == .pt && isProtNone { return .size4K }
        guard isPresent, let size = level.leafSize else { return nil }
        return level == .pt || flags.contains(.huge) ? size : nil
    }

    /// The next-level table this entry points to when it sits at `level`, or nil when it is
    /// a leaf or not present. Linux: pgd_page_vaddr() / pud_pgtable() / pmd_page_vaddr()
    @inlinable public func nextTable(at level: PageTableLevel) -> PhysAddr? {
        guard isPresent, level != .pt, pageSize(at: level) == nil else { return nil }
        return frame
    }

    /// `flags` as a leaf stores them: present, unless they ask for PROT_NONE.
    @inlinable static func leafFlags(_ flags: PTEFlags) -> PTEFlags {
        flags.contains(.protNone) ? flags.subtracting(.present) : flags.union(.present)
    }
}

// MARK: - flags
//
// The flag bits of an x86-64 paging-structure entry (Intel SDM vol. 3, section 4.5).
// The same bit positions are used at every level, which is why one OptionSet serves
// PML4, PDPT, PD and PT entries alike.

/// Flags of a page-table entry at any level. Linux: pteval_t with the _PAGE_* bits
/// (arch/x86/include/asm/pgtable_types.h)
///
/// Bits 9–11 and 52–58 are ignored by the MMU and left to software (Linux keeps
/// _PAGE_SPECIAL, _PAGE_SOFT_DIRTY and friends there). Keel claims none of them yet;
/// `PageTableEntry.flags` carries them through untouched so later features can.
/// The one exception is bit 9, PROT_NONE, below.
public struct PTEFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The entry is valid; when clear the MMU ignores every other bit. Linux: _PAGE_PRESENT
    public static let present = PTEFlags(rawValue: 1 << 0)
    /// Writes allowed (for the kernel too, since CR0.WP is set). Linux: _PAGE_RW
    public static let writable = PTEFlags(rawValue: 1 << 1)
    /// Accessible from user mode (CPL 3). Linux: _PAGE_USER
    public static let user = PTEFlags(rawValue: 1 << 2)
    /// Write-through instead of write-back caching. Linux: _PAGE_PWT
    public static let writeThrough = PTEFlags(rawValue: 1 << 3)
    /// Caching disabled, for device memory. Linux: _PAGE_PCD
    public static let cacheDisable = PTEFlags(rawValue: 1 << 4)
    /// Set by the CPU on any access: the "young" bit page reclaim samples. Linux: _PAGE_ACCESSED
    public static let accessed = PTEFlags(rawValue: 1 << 5)
    /// Set by the CPU when a leaf's page is written. Linux: _PAGE_DIRTY
    public static let dirty = PTEFlags(rawValue: 1 << 6)
    /// In a PDPT or PD entry: maps a 1 GiB or 2 MiB page instead of pointing to a table.
    /// (In a PT entry this bit is PAT, which Keel never sets.) Linux: _PAGE_PSE
    public static let huge = PTEFlags(rawValue: 1 << 7)
    /// Kept in the TLB across CR3 reloads: for kernel pages every process shares. Linux: _PAGE_GLOBAL
    public static let global = PTEFlags(rawValue: 1 << 8)
    /// With `.present` clear: a PROT_NONE page. The frame stays in the entry, but
    /// the MMU sees nothing, so every access faults, user and kernel alike (a user
    /// copy then gets EFAULT). Page-table walks treat it as a leaf, so fork copies
    /// it, munmap frees it and mprotect can make it present again. Linux keeps it in
    /// bit 8 (global, meaningless when not present); Keel uses software bit 9, so no
    /// kernel mapping's global bit can ever read as PROT_NONE. Linux: _PAGE_PROTNONE
    public static let protNone = PTEFlags(rawValue: 1 << 9)
    /// Instruction fetches fault (requires EFER.NXE). Linux: _PAGE_NX
    public static let noExecute = PTEFlags(rawValue: 1 << 63)

    /// An entry pointing to a kernel page table: it restricts nothing, the leaf decides.
    /// Linux: _KERNPG_TABLE (less the accessed/dirty bits Linux presets)
    public static let kernelTable: PTEFlags = [.present, .writable]
    /// An entry pointing to a page table that also holds user pages. Linux: _PAGE_TABLE
    public static let userTable: PTEFlags = [.present, .writable, .user]
}

// MARK: - levels
//
// The four levels of x86-64 4-level paging. A 48-bit virtual address is
// 9 + 9 + 9 + 9 index bits above a 12-bit page offset; each level's index picks
// one of 512 eight-byte entries in a 4 KiB table.

/// One level of the page-table tree, named after the table it indexes.
/// Linux folds the p4d level away on 4-level machines, leaving pgd → pud → pmd → pte.
public enum PageTableLevel: Int, Sendable {
    /// Page table: entries map 4 KiB pages. Linux: pte
    case pt = 0
    /// Page directory: entries point to PTs or map 2 MiB pages. Linux: pmd
    case pd = 1
    /// Page-directory-pointer table: entries point to PDs or map 1 GiB pages. Linux: pud
    case pdpt = 2
    /// The root, whose address CR3 holds. Linux: pgd
    case pml4 = 3

    /// Entries in every table. Linux: PTRS_PER_PTE (and PTRS_PER_PMD, ...)
    public static let entriesPerTable = 512

    /// Position of this level's index bits in a virtual address. Linux: PMD_SHIFT, PUD_SHIFT, PGDIR_SHIFT
    @inlinable public var shift: UInt64 { pageShift + 9 * UInt64(rawValue) }

    /// Bytes of virtual address space one entry at this level covers. Linux: PMD_SIZE, PUD_SIZE, PGDIR_SIZE
    @inlinable public var entrySpan: UInt64 { 1 << shift }

    /// The entry of this level's table that `virt` selects. Linux: pgd_index(), pud_index(),
    /// pmd_index(), pte_index()
    @inlinable public func index(of virt: VirtAddr) -> Int {
        Int(truncatingIfNeeded: (virt.value >> shift) & UInt64(Self.entriesPerTable - 1))
    }

    /// The level of the tables this level's entries point to; PT entries point to frames.
    @inlinable public var child: PageTableLevel {
        guard let below = PageTableLevel(rawValue: rawValue - 1) else { preconditionFailure("PT entries map frames") }
        return below
    }

    /// The page a leaf at this level maps; nil for the PML4, which cannot hold leaves.
    @inlinable public var leafSize: PageSize? {
        switch self {
        case .pt: .size4K
        case .pd: .size2M
        case .pdpt: .size1G
        case .pml4: nil
        }
    }
}

// MARK: - page sizes
//
// The three page sizes x86-64 4-level paging can map, each a leaf one level higher
// than the last. Huge pages save page-table memory and TLB entries; the kernel's
// direct map uses them.

/// Size of a mapped page. Linux: PAGE_SIZE, PMD_SIZE (HPAGE_SIZE), PUD_SIZE
public enum PageSize: UInt64, Comparable, Sendable {
    case size4K = 0x1000
    case size2M = 0x20_0000
    case size1G = 0x4000_0000

    @inlinable public var bytes: UInt64 { rawValue }

    /// The level whose entries map pages of this size.
    @inlinable public var level: PageTableLevel {
        switch self {
        case .size4K: .pt
        case .size2M: .pd
        case .size1G: .pdpt
        }
    }

    /// The next size down, or nil for 4 KiB.
    @inlinable public var smaller: PageSize? {
        switch self {
        case .size4K: nil
        case .size2M: .size4K
        case .size1G: .size2M
        }
    }

    @inlinable public static func < (l: PageSize, r: PageSize) -> Bool { l.rawValue < r.rawValue }
}

// MARK: - leaves
//
// What the walkers hand back: one mapped page, wherever in the tree it was found.

/// A present leaf entry together with the virtual page it maps.
public struct PageTableLeaf: Hashable {
    /// First virtual address of the page (aligned to `size`).
    public var virt: VirtAddr
    /// The leaf entry: frame and flags.
    public var entry: PageTableEntry
    public var size: PageSize

    @inlinable public init(virt: VirtAddr, entry: PageTableEntry, size: PageSize) {
        self.virt = virt
        self.entry = entry
        self.size = size
    }
}

// MARK: - errors
//
// Why a page-table operation refused. Every failing operation leaves the tables as
// they were (apart from permissions widened on intermediate entries, which grant nothing
// by themselves because the leaf decides).

/// Errors of `PageTable` operations.
public enum PageTableError: Error, Equatable, Sendable {
    /// The virtual address is not canonical (bits 63…47 differ).
    case nonCanonical
    /// An address (or length) is not aligned to the page size asked for.
    case misaligned
    /// Something is already mapped there: a leaf, or a table that still maps pages.
    case alreadyMapped
    /// Nothing present is mapped at that address.
    case notMapped
    /// The entry no longer maps what the caller saw (another CPU changed it
    /// meanwhile). Linux: !pte_same()
    case changed
    /// The frame allocator ran dry while building intermediate tables.
    case outOfMemory
    /// The operation covers only part of a 2 MiB or 1 GiB page; Keel does not split huge
    /// pages (Linux: split_huge_pmd()).
    case hugePageSplitUnsupported
}
