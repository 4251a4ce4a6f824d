// /proc/meminfo: one "Name:   value kB" line per counter, in Linux's order and
// column layout, so `free` and scripts that grep it work. Keel prints the lines
// it can fill honestly: it has no swap, so there is no swap cache either, and
// no reclaimable slab.

/// The numbers behind /proc/meminfo, in pages unless named otherwise. Linux: meminfo_proc_show()
public struct MemInfo: Equatable, Sendable {
    /// Pages the buddy allocator manages. Linux: totalram_pages()
    public var totalPages: UInt64
    /// Linux: NR_FREE_PAGES
    public var freePages: UInt64
    /// Pages of file data in memory: the page cache (shmem included) and the
    /// buffer cache's blocks. Linux: NR_FILE_PAGES, which counts the block
    /// devices' page cache, the buffers, too
    public var filePages: UInt64
    /// The buffer cache's pages (file-system metadata blocks, and the blocks of
    /// a block device read directly). Linux: nr_blockdev_pages()
    public var bufferPages: UInt64
    /// Page-cache pages and buffers changed since their last write-back.
    /// Linux: NR_FILE_DIRTY
    public var dirtyPages: UInt64
    /// Page-cache pages being written back now. Linux: NR_WRITEBACK
    public var writebackPages: UInt64
    /// Anonymous pages of processes. Linux: NR_ANON_MAPPED
    public var anonPages: UInt64
    /// Page-cache pages some process maps. Linux: NR_FILE_MAPPED
    public var mappedPages: UInt64
    /// tmpfs, shared anonymous and memfd pages (part of `filePages`). Linux: NR_SHMEM
    public var shmemPages: UInt64
    /// Every zone's low watermark, summed. Linux: the wmark_low sum of si_mem_available()
    public var lowWatermarkPages: UInt64
    /// Free pages the allocator keeps from user allocations: every zone's high
    /// watermark (Keel has no lowmem reserve). Linux: totalreserve_pages
    public var reservePages: UInt64
    /// Pages in slabs (Keel has no reclaimable slabs). Linux: NR_SLAB_UNRECLAIMABLE_B
    public var slabPages: UInt64
    /// Pages mapped by vmalloc, kernel stacks included. Linux: vmalloc_nr_pages()
    public var vmallocPages: UInt64
    /// Size of the vmalloc area in bytes. Linux: VMALLOC_TOTAL
    public var vmallocTotalBytes: UInt64
    /// Pages on each LRU list, indexed by `LRUListKind.rawValue`. Linux: NR_LRU_BASE + lru
    public var lruPages: [UInt64] = Array(repeating: 0, count: LRUListKind.allCases.count)

    public init(totalPages: UInt64, freePages: UInt64, filePages: UInt64, bufferPages: UInt64, dirtyPages: UInt64,
                writebackPages: UInt64, anonPages: UInt64, mappedPages: UInt64, shmemPages: UInt64,
                lowWatermarkPages: UInt64, reservePages: UInt64, slabPages: UInt64, vmallocPages: UInt64,
                vmallocTotalBytes: UInt64) {
        self.totalPages = totalPages
        self.freePages = freePages
        self.filePages = filePages
        self.bufferPages = bufferPages
        self.dirtyPages = dirtyPages
        self.writebackPages = writebackPages
        self.anonPages = anonPages
        self.mappedPages = mappedPages
        self.shmemPages = shmemPages
        self.lowWatermarkPages = lowWatermarkPages
        self.reservePages = reservePages
        self.slabPages = slabPages
        self.vmallocPages = vmallocPages
        self.vmallocTotalBytes = vmallocTotalBytes
    }

    /// The page cache less the buffers (and the swap cache, which Keel has
    /// not). Linux: NR_FILE_PAGES - total_swapcache_pages() - i.bufferram
    public var cachedPages: UInt64 { filePages > bufferPages ? filePages - bufferPages : 0 }

    /// How much a program could allocate without pushing anything to swap:
    /// the free pages above the reserve, and the file pages on the file LRU
    /// (everything but shmem) less half of them or the low watermark,
    /// whichever is less, as some cache must stay. Keel has no reclaimable
    /// slab or other reclaimable kernel memory to add. Linux: si_mem_available()
    public var availablePages: UInt64 {
        let free = Int64(freePages) - Int64(reservePages)
        let pageCache = Int64(filePages) - Int64(min(shmemPages, filePages))
        let kept = min(pageCache / 2, Int64(lowWatermarkPages))
        return UInt64(max(0, free + pageCache - kept))
    }

    private func lru(_ kind: LRUListKind) -> UInt64 { lruPages[kind.rawValue] }

    /// Writes the text. Each line is the name and colon padded to 16 columns, the
    /// value in kB right-aligned in 8, then " kB". Linux: show_val_kb()
    public func write<Sink: TextSink>(to out: inout Sink) {
        let kb = UInt64(pageSize / 1024)
        let lines: [(String, UInt64)] = [
            ("MemTotal", totalPages * kb), ("MemFree", freePages * kb), ("MemAvailable", availablePages * kb),
            ("Buffers", bufferPages * kb), ("Cached", cachedPages * kb), ("SwapCached", 0),
            ("Active", (lru(.activeAnon) + lru(.activeFile)) * kb),
            ("Inactive", (lru(.inactiveAnon) + lru(.inactiveFile)) * kb),
            ("Active(anon)", lru(.activeAnon) * kb), ("Inactive(anon)", lru(.inactiveAnon) * kb),
            ("Active(file)", lru(.activeFile) * kb), ("Inactive(file)", lru(.inactiveFile) * kb),
            ("Unevictable", lru(.unevictable) * kb),
            ("SwapTotal", 0), ("SwapFree", 0),
            ("Dirty", dirtyPages * kb), ("Writeback", writebackPages * kb), ("AnonPages", anonPages * kb),
            ("Mapped", mappedPages * kb), ("Shmem", shmemPages * kb),
            ("Slab", slabPages * kb), ("SReclaimable", 0), ("SUnreclaim", slabPages * kb),
            ("VmallocTotal", vmallocTotalBytes / 1024), ("VmallocUsed", vmallocPages * kb), ("VmallocChunk", 0),
        ]
        for (name, value) in lines {
            out.write(Fmt.padRight(name + ":", 16) + Fmt.dec(value, width: 8) + " kB\n")
        }
    }
}
