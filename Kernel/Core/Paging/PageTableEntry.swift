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
