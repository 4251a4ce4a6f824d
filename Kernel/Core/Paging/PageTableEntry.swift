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
    /// Linux: pte_present()
    @inlinable public var isPresent: Bool { flags.contains(.present) }

    /// The size of the page this entry maps when it sits at `level`, or nil when it is not a
    /// present leaf. Linux: pte_present() / pmd_leaf() / pud_leaf()
    @inlinable public func pageSize(at level: PageTableLevel) -> PageSize? {
        guard isPresent, let size = level.leafSize else { return nil }
        return level == .pt || flags.contains(.huge) ? size : nil
    }

    /// The next-level table this entry points to when it sits at `level`, or nil when it is
    /// a leaf or not present. Linux: pgd_page_vaddr() / pud_pgtable() / pmd_page_vaddr()
    @inlinable public func nextTable(at level: PageTableLevel) -> PhysAddr? {
        guard isPresent, level != .pt, pageSize(at: level) == nil else { return nil }
        return frame
    }
}
