// Where a page that is not in memory can be found again: a swap entry names
// one slot (page) of one swap area. It lives in three forms:
//
//   SwapEntry           the value the kernel passes around: area and slot
//   packed (UInt32)     in Page.private of a swap-cache page, so the page
//                       knows its slot (5 bits area, 27 bits slot)
//   PTE form            in a non-present page-table entry after the page went
//                       to swap, so the fault knows where to read it from
//
// Two area numbers are not areas: a migration entry (types 30 and 31) stands
// in a PTE while the page it maps is being moved to another frame (compaction),
// and its offset is that page's frame number; a fault on it waits for the
// move to end. Linux: include/linux/swapops.h, swp_entry_t,
// SWP_MIGRATION_READ/WRITE, arch/x86/include/asm/pgtable_64.h (__swp_entry)

/// A slot of a swap area, or a migration entry. Linux: swp_entry_t
public struct SwapEntry: Hashable, Sendable, CustomStringConvertible {
    /// The swap area (the index of its swapon), or a migration type. Linux: swp_type()
    public let type: Int
    /// The slot (page) within the area; a migration entry's frame number. Linux: swp_offset()
    public let offset: UInt64

    /// Areas a system may have: types 0..<29 (Linux: MAX_SWAPFILES, 32 less
    /// the types it reserves; Keel reserves the two migration types and keeps
    /// one spare so that a packed entry never equals its all-ones poison).
    public static let maxSwapFiles = 29
    /// A PTE whose page is being migrated and was mapped read-only. Linux: SWP_MIGRATION_READ
    public static let migrationReadType = 30
    /// A PTE whose page is being migrated and was mapped writable. Linux: SWP_MIGRATION_WRITE
    public static let migrationWriteType = 31

    /// Bits of the slot number in the packed form: 2^27 slots of 4 KiB is
    /// 512 GiB per area.
    public static let packedOffsetBits = 27
    /// One past the largest slot number a packed entry can hold.
    public static let maxOffset: UInt64 = 1 << 27

    /// Linux: swp_entry()
    public init(type: Int, offset: UInt64) {
        precondition(type >= 0 && type < 32, "swap type out of range")
        precondition(type >= Self.maxSwapFiles || offset < Self.maxOffset, "swap offset out of range")
        precondition(offset < 1 << PageTableEntry.swapOffsetBits, "offset does not fit a PTE")
        self.type = type
        self.offset = offset
    }

    /// A migration entry for the page at `frame`, mapped writable or not.
    /// Linux: make_readable_migration_entry() / make_writable_migration_entry()
    public static func migration(frame: PhysAddr, writable: Bool) -> SwapEntry {
        SwapEntry(type: writable ? migrationWriteType : migrationReadType, offset: frame.value >> pageShift)
    }

    /// Linux: is_migration_entry()
    @inlinable public var isMigration: Bool { type == Self.migrationReadType || type == Self.migrationWriteType }
    /// Linux: is_writable_migration_entry()
    @inlinable public var isWritableMigration: Bool { type == Self.migrationWriteType }
    /// A slot of a real swap area. Linux: non_swap_entry() negated
    @inlinable public var isSwap: Bool { type < Self.maxSwapFiles }
    /// The frame a migration entry stands for. Linux: pfn_swap_entry_to_page()
    public var migrationFrame: PhysAddr {
        precondition(isMigration, "not a migration entry")
        return PhysAddr(offset << pageShift)
    }

    // MARK: packed form (Page.private)

    /// The 32-bit form kept in a swap-cache page's `private`: type in bits
    /// 27-31, slot in bits 0-26. Only real swap entries are packed.
    public var packed: UInt32 {
        precondition(isSwap, "only swap slots go into Page.private")
        return UInt32(type) << Self.packedOffsetBits | UInt32(offset)
    }

    /// Linux: page_swap_entry() (folio->swap)
    public init(packed: UInt32) {
        self.init(type: Int(packed >> Self.packedOffsetBits), offset: UInt64(packed & UInt32(Self.maxOffset - 1)))
    }

    // MARK: PTE form

    /// The non-present PTE that stands for this entry. Linux: swp_entry_to_pte()
    public var pageTableEntry: PageTableEntry { PageTableEntry(swap: self) }

    /// The entry a swap or migration PTE stands for; nil for a present, empty
    /// or PROT_NONE one. Linux: is_swap_pte() + pte_to_swp_entry()
    public init?(pageTableEntry: PageTableEntry) {
        guard let entry = pageTableEntry.swapEntry else { return nil }
        self = entry
    }

    public var description: String {
        isMigration ? "migration(\(isWritableMigration ? "write" : "read"), pfn \(offset))"
            : "swap(\(type):\(offset))"
    }
}

// A swap PTE must look like nothing else to every walker: present is clear
// (the MMU faults), PROT_NONE (bit 9) is clear (it is no PROT_NONE leaf) and
// the entry is nonzero (it is no empty slot). Keel sets software bit 11 as a
// marker, keeps the type in bits 1-5 and the offset in bits 12-51, inverted
// as Linux does (since the L1TF fix): a non-present entry whose address bits
// named real memory could let a speculating CPU read it (L1 Terminal Fault),
// so they name memory that does not exist instead.
// Linux: arch/x86/include/asm/pgtable_64.h (__swp_entry, SWP_OFFSET_FIRST_BIT,
// pte_swp_mkexclusive), arch/x86/include/asm/pgtable-invert.h

extension PageTableEntry {
    /// Bits of a PTE's offset field (bits 12-51).
    public static let swapOffsetBits = 40
    /// Software bit 11: set in every swap or migration PTE.
    static let swapMarker: UInt64 = 1 << 11
    static let swapTypeShift: UInt64 = 1
    static let swapTypeMask: UInt64 = 0x1f << 1

    /// The PTE form of `entry`. Linux: swp_entry_to_pte()
    public init(swap entry: SwapEntry) {
        let inverted = ~entry.offset & ((1 << UInt64(Self.swapOffsetBits)) - 1)
        self.init(raw: inverted << pageShift | UInt64(entry.type) << Self.swapTypeShift | Self.swapMarker)
    }

    /// True for a swap or migration entry: not present, not PROT_NONE, not
    /// empty. Linux: is_swap_pte()
    @inlinable public var isSwapEntry: Bool { raw != 0 && raw & 1 == 0 && raw & (1 << 9) == 0 }

    /// The entry a swap PTE stands for; nil for any other PTE. Linux: pte_to_swp_entry()
    public var swapEntry: SwapEntry? {
        guard isSwapEntry else { return nil }
        let inverted = (raw >> pageShift) & ((1 << UInt64(Self.swapOffsetBits)) - 1)
        let offset = ~inverted & ((1 << UInt64(Self.swapOffsetBits)) - 1)
        return SwapEntry(type: Int((raw & Self.swapTypeMask) >> Self.swapTypeShift), offset: offset)
    }
}
