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
