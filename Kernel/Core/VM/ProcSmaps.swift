// /proc/<pid>/smaps and /proc/<pid>/smaps_rollup, byte for byte as Linux
// prints them: each region's maps line, then one "Name:   value kB" line per
// count, then THPeligible and VmFlags; the rollup is one header line over
// every region and the counts of all of them together.
//
//   7f2c1a5f3000-7f2c1a5f7000 rw-p 00000000 00:00 0
//   Size:                 16 kB
//   KernelPageSize:        4 kB
//   ...
//   Rss:                  12 kB
//   Pss:                   6 kB
//   ...
//   VmFlags: rd wr mr mw me
//
// What a page counts as follows Linux's smaps_account(): a page mapped by two
// or more page-table entries is shared and each mapper's Pss gets its share
// (size / mapcount); a page mapped once is private and all its own; it is
// dirty if its PTE or its page descriptor says so. The kernel walks the page
// tables (Kernel/FS/Proc/ProcPidFiles.swift) and hands each page here; this
// file is the arithmetic and the layout.
// Linux: fs/proc/task_mmu.c (struct mem_size_stats, smaps_account(),
// smaps_page_accumulate(), show_smap(), __show_smap(), show_smaps_rollup(),
// show_smap_vma_flags())

/// What one resident page of a region is, as smaps counts it.
public struct SmapsPage: Sendable {
    /// Page-table entries mapping the page (the page cache's own reference left
    /// out). Linux: folio_precise_page_mapcount()
    public var mapcount: Int32
    /// An anonymous page. Linux: folio_test_anon()
    public var isAnonymous: Bool
    /// Backed by swap, not by a file: anonymous memory and shmem. Linux: folio_test_swapbacked()
    public var isSwapBacked: Bool
    /// The PTE's dirty bit, or the page descriptor's dirty flag.
    /// Linux: pte_dirty() || folio_test_dirty()
    public var isDirty: Bool
    /// The PTE's accessed bit. Linux: pte_young()
    public var isYoung: Bool
    /// Its region is mlocked. Linux: vma->vm_flags & VM_LOCKED
    public var isLocked: Bool

    public init(mapcount: Int32, isAnonymous: Bool, isSwapBacked: Bool, isDirty: Bool, isYoung: Bool,
                isLocked: Bool = false) {
        self.mapcount = mapcount
        self.isAnonymous = isAnonymous
        self.isSwapBacked = isSwapBacked
        self.isDirty = isDirty
        self.isYoung = isYoung
        self.isLocked = isLocked
    }
}

/// The counts of one region (smaps) or of all of them (smaps_rollup), in
/// bytes; the proportional ones in bytes << `pssShift`, so that a page shared
/// three ways loses nothing until the total is printed.
/// Linux: struct mem_size_stats
public struct MemorySizeStats: Equatable, Sendable {
    /// Fixed-point fraction bits of the Pss sums. Linux: PSS_SHIFT
    public static let pssShift: UInt64 = 12

    /// Linux: mss->resident
    public var resident: UInt64 = 0
    public var sharedClean: UInt64 = 0
    public var sharedDirty: UInt64 = 0
    public var privateClean: UInt64 = 0
    public var privateDirty: UInt64 = 0
    /// Pages whose PTE was accessed. Linux: mss->referenced
    public var referenced: UInt64 = 0
    /// Linux: mss->anonymous
    public var anonymous: UInt64 = 0
    /// Anonymous pages not backed by swap and clean: given up by MADV_FREE.
    /// Linux: mss->lazyfree
    public var lazyFree: UInt64 = 0
    /// Linux: mss->pss, pss_dirty, pss_anon, pss_file, pss_shmem, pss_locked
    public var pss: UInt64 = 0
    public var pssDirty: UInt64 = 0
    public var pssAnonymous: UInt64 = 0
    public var pssFile: UInt64 = 0
    public var pssShmem: UInt64 = 0
    public var pssLocked: UInt64 = 0
    /// Bytes of the region in swap slots, and their proportional share (a
    /// slot other processes' PTEs also name counts 1/n). Linux: mss->swap, mss->swap_pss
    public var swap: UInt64 = 0
    public var swapPss: UInt64 = 0

    public init() {}

    /// Adds one page in a swap slot that `slotReferences` PTEs name.
    /// Linux: smaps_pte_entry()'s is_swap_pte() case with swp_swapcount()
    public mutating func accountSwap(slotReferences: Int) {
        swap += pageSize
        swapPss += slotReferences >= 2 ? (pageSize << Self.pssShift) / UInt64(slotReferences) : pageSize << Self.pssShift
    }

    /// Adds one resident 4 KiB page. Linux: smaps_account() for a present,
    /// order-0 page, then smaps_page_accumulate()
    public mutating func account(_ page: SmapsPage) {
        let size = pageSize
        if page.isAnonymous {
            anonymous += size
            if !page.isSwapBacked && !page.isDirty { lazyFree += size }
        }
        resident += size
        if page.isYoung { referenced += size }
        let isPrivate = page.mapcount < 2
        let share = isPrivate ? size << Self.pssShift : (size << Self.pssShift) / UInt64(page.mapcount)
        pss += share
        if page.isLocked { pssLocked += share }
        if page.isAnonymous {
            pssAnonymous += share
        } else if page.isSwapBacked {
            pssShmem += share
        } else {
            pssFile += share
        }
        if page.isDirty {
            pssDirty += share
            if isPrivate { privateDirty += size } else { sharedDirty += size }
        } else {
            if isPrivate { privateClean += size } else { sharedClean += size }
        }
    }

    /// The count lines from Rss to Locked; the rollup adds Pss_Anon, Pss_File
    /// and Pss_Shmem after Pss_Dirty. Keel has no KSM or huge pages, so
    /// their lines are 0 as on a Linux system without them.
    /// Linux: __show_smap()
    public func writeCounts<Sink: TextSink>(rollup: Bool, to out: inout Sink) {
        Self.line("Rss:            ", resident, to: &out)
        Self.line("Pss:            ", pss >> Self.pssShift, to: &out)
        Self.line("Pss_Dirty:      ", pssDirty >> Self.pssShift, to: &out)
        if rollup {
            Self.line("Pss_Anon:       ", pssAnonymous >> Self.pssShift, to: &out)
            Self.line("Pss_File:       ", pssFile >> Self.pssShift, to: &out)
            Self.line("Pss_Shmem:      ", pssShmem >> Self.pssShift, to: &out)
        }
        Self.line("Shared_Clean:   ", sharedClean, to: &out)
        Self.line("Shared_Dirty:   ", sharedDirty, to: &out)
        Self.line("Private_Clean:  ", privateClean, to: &out)
        Self.line("Private_Dirty:  ", privateDirty, to: &out)
        Self.line("Referenced:     ", referenced, to: &out)
        Self.line("Anonymous:      ", anonymous, to: &out)
        Self.line("KSM:            ", 0, to: &out)
        Self.line("LazyFree:       ", lazyFree, to: &out)
        Self.line("AnonHugePages:  ", 0, to: &out)
        Self.line("ShmemPmdMapped: ", 0, to: &out)
        Self.line("FilePmdMapped:  ", 0, to: &out)
        Self.line("Shared_Hugetlb: ", 0, to: &out)
        Self.line("Private_Hugetlb: ", 0, width: 7, to: &out)
        Self.line("Swap:           ", swap, to: &out)
        Self.line("SwapPss:        ", swapPss >> Self.pssShift, to: &out)
        Self.line("Locked:         ", pssLocked >> Self.pssShift, to: &out)
    }

    /// Count lines an smaps entry has: Size, KernelPageSize, MMUPageSize and
    /// writeCounts's 19 (the rollup's three are not in it).
    static let entryCountLines = 22

    /// smaps_rollup: a maps line over [start, end) (the first region's start
    /// to the last one's end; 0-0 for no region) named "[rollup]", then the
    /// counts of every region. Linux: show_smaps_rollup()
    public func writeRollup<Sink: TextSink>(start: VirtAddr, end: VirtAddr, to out: inout Sink) {
        writeMapsLine(start: start, end: end, flags: [], offset: 0, file: nil, name: "[rollup]", to: &out)
        writeCounts(rollup: true, to: &out)
    }

    /// `label` (Linux's literal: the name, colon and spaces to 16 columns),
    /// the bytes in kB right-aligned in `width` (8; Private_Hugetlb's longer
    /// name leaves 7), " kB". Every such line is 28 bytes while the value has
    /// at most 8 digits. Linux: SEQ_PUT_DEC(), seq_put_decimal_ull_width()
    static func line<Sink: TextSink>(_ label: StaticString, _ bytes: UInt64, width: Int = 8, to out: inout Sink) {
        out.write(label)
        Fmt.writeDec(bytes >> 10, width: width, to: &out)
        out.write(kilobytes)
    }

    /// Bytes of each count line while its value has at most 8 digits.
    static let countLineLength = 28

    private static let kilobytes: StaticString = " kB\n"
}

extension VMA {
    /// The region's smaps entry with the counts `stats` of its pages.
    /// Linux: show_smap()
    public func writeSmaps<Sink: TextSink, Files: MappedFileLookup>(
        _ stats: MemorySizeStats, context: MapsContext, files: Files, to out: inout Sink
    ) {
        writeProcMapsLine(context: context, files: files, to: &out)
        // The rest is assembled on the stack and handed over at once: a sink
        // keeping bytes (a read's window) takes one piece instead of 80.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.countsCapacity) { storage in
            var block = LineBuffer(storage)
            MemorySizeStats.line("Size:           ", end - start, to: &block)
            MemorySizeStats.line("KernelPageSize: ", pageSize, to: &block)
            MemorySizeStats.line("MMUPageSize:    ", pageSize, to: &block)
            stats.writeCounts(rollup: false, to: &block)
            // Keel has no transparent huge pages. Linux: thp_vma_allowable_orders()
            block.write(Self.thpEligibleLine)
            flags.writeSmapsVmFlags(to: &block)
            out.write(utf8: block.bytes)
        }
    }

    /// Room for an entry after its maps line: 22 count lines of at most 17 +
    /// 20 digits + 4 bytes, THPeligible, and VmFlags with every name Keel has
    /// (13 of them).
    private static let countsCapacity = 1024

    private static let thpEligibleLine: StaticString = "THPeligible:           0\n"

    /// The length of this region's smaps entry whatever its counts, or nil if
    /// that depends on them: no count exceeds the region's size, so below
    /// 10^8 kB every count line has its fixed width. A reader whose window
    /// starts past the entry skips it by this length without walking its
    /// pages. (Only the maps line is printed, for its name's length.)
    public func smapsLength<Files: MappedFileLookup>(context: MapsContext, files: Files) -> Int? {
        guard (end - start) >> 10 < 100_000_000 else { return nil }
        var length = TextLength()
        writeProcMapsLine(context: context, files: files, to: &length)
        flags.writeSmapsVmFlags(to: &length)
        return length.count + MemorySizeStats.entryCountLines * MemorySizeStats.countLineLength
            + Self.thpEligibleLine.utf8CodeUnitCount
    }
}

extension VMFlags {
    /// Linux's two-letter name of each flag bit (by bit number) that Keel has.
    /// Linux: the mnemonics[] table of show_smap_vma_flags()
    static let mnemonics: [(bit: Int, name: StaticString)] = [
        (0, "rd"), (1, "wr"), (2, "ex"), (3, "sh"), (4, "mr"), (5, "mw"), (6, "me"), (7, "ms"),
        (8, "gd"), (13, "lo"), (17, "dc"), (19, "lf"), (26, "dd"),
    ]

    /// "VmFlags: ", the set flags' names, lowest bit first, each followed by a
    /// space, and the newline. Linux: show_smap_vma_flags()
    public func writeSmapsVmFlags<Sink: TextSink>(to out: inout Sink) {
        out.write(Self.vmFlagsLabel)
        for (bit, name) in Self.mnemonics where rawValue & (1 << UInt64(bit)) != 0 {
            out.write(name)
            out.write(Self.space)
        }
        out.write(newline)
    }

    private static let vmFlagsLabel: StaticString = "VmFlags: "
    private static let space: StaticString = " "
}
