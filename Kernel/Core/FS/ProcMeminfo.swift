// /proc/meminfo: one "Name:   value kB" line per counter, in Linux's order and
// column layout, so `free` and scripts that grep it work. Keel prints the lines
// it can fill honestly; it has no swap, no buffer cache and (its initramfs files
// living in reserved boot memory) no page cache yet, so those lines are 0.

/// The numbers behind /proc/meminfo, in pages unless named otherwise. Linux: meminfo_proc_show()
public struct MemInfo: Equatable, Sendable {
    /// Pages the buddy allocator manages. Linux: totalram_pages()
    public var totalPages: UInt64
    /// Linux: NR_FREE_PAGES
    public var freePages: UInt64
    /// Pages in slabs (Keel has no reclaimable slabs). Linux: NR_SLAB_UNRECLAIMABLE_B
    public var slabPages: UInt64
    /// Pages mapped by vmalloc, kernel stacks included. Linux: vmalloc_nr_pages()
    public var vmallocPages: UInt64
    /// Size of the vmalloc area in bytes. Linux: VMALLOC_TOTAL
    public var vmallocTotalBytes: UInt64

    public init(totalPages: UInt64, freePages: UInt64, slabPages: UInt64, vmallocPages: UInt64, vmallocTotalBytes: UInt64) {
        self.totalPages = totalPages
        self.freePages = freePages
        self.slabPages = slabPages
        self.vmallocPages = vmallocPages
        self.vmallocTotalBytes = vmallocTotalBytes
    }

    /// Writes the text. Each line is the name and colon padded to 16 columns, the
    /// value in kB right-aligned in 8, then " kB". Linux: show_val_kb()
    public func write<Sink: TextSink>(to out: inout Sink) {
        let kb = UInt64(pageSize / 1024)
        // Nothing is reclaimable without a page cache: available is what is free.
        let lines: [(String, UInt64)] = [
            ("MemTotal", totalPages * kb), ("MemFree", freePages * kb), ("MemAvailable", freePages * kb),
            ("Buffers", 0), ("Cached", 0), ("SwapCached", 0), ("SwapTotal", 0), ("SwapFree", 0),
            ("Slab", slabPages * kb), ("SReclaimable", 0), ("SUnreclaim", slabPages * kb),
            ("VmallocTotal", vmallocTotalBytes / 1024), ("VmallocUsed", vmallocPages * kb), ("VmallocChunk", 0),
        ]
        for (name, value) in lines {
            out.write(Fmt.padRight(name + ":", 16) + Fmt.dec(value, width: 8) + " kB\n")
        }
    }
}
