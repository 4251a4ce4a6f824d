// What /sys/devices/system/node shows about each NUMA node, byte for byte as
// Linux 6.1 prints it, so libnuma (numactl --hardware, numastat) parses it:
//
//   node1/cpumap    "2"                    the node's CPUs, "%*pb" over nr_cpu_ids bits
//   node1/cpulist   "1"                    the same as a list, "%*pbl"
//   node1/distance  "20 10"                one distance per online node
//   node1/numastat  "numa_hit 3722" ...    the allocation counters, Linux's old names
//   node1/meminfo   "Node 1 MemTotal:         210152 kB" ...
//
// The kernel side (Kernel/FS/NodeSysfs.swift) reads the live numbers at every
// read; this file is the layout and the counting of one node's frames.
// Linux: drivers/base/node.c (node_read_cpumap, node_read_distance,
// node_read_numastat, node_read_meminfo), lib/vsprintf.c (bitmap_string,
// bitmap_list_string), mm/hugetlb.c (hugetlb_report_node_meminfo)

/// A bitmap printed as Linux's "%*pb" and "%*pbl" print one.
public enum BitmapText {
    /// Hexadecimal in 32-bit chunks, most significant first, separated by
    /// commas; the first chunk has as many digits as its bits need (`bits` mod
    /// 32, or 32), the others 8. Two CPUs: "3"; 64 bits: "00000000,00000003".
    /// Linux: bitmap_string()
    public static func mask(bits: Int, contains: (Int) -> Bool) -> String {
        guard bits > 0 else { return "" }
        var chunkBits = bits % 32 == 0 ? 32 : bits % 32
        var out = ""
        var low = (bits + 31) / 32 * 32 - 32
        while low >= 0 {
            var value: UInt32 = 0
            for bit in 0..<chunkBits where contains(low + bit) { value |= 1 << UInt32(bit) }
            if !out.isEmpty { out += "," }
            out += Fmt.hex(value, digits: (chunkBits + 3) / 4)
            chunkBits = 32
            low -= 32
        }
        return out
    }

    /// Runs of set bits as "a-b", single ones as "a", separated by commas
    /// ("0-1,3"); nothing at all for an empty map. Linux: bitmap_list_string()
    public static func list(bits: Int, contains: (Int) -> Bool) -> String {
        var out = ""
        var bit = 0
        while bit < bits {
            guard contains(bit) else { bit += 1; continue }
            var last = bit
            while last + 1 < bits && contains(last + 1) { last += 1 }
            if !out.isEmpty { out += "," }
            out += last == bit ? String(bit) : String(bit) + "-" + String(last)
            bit = last + 1
        }
        return out
    }
}

/// nodeN/distance: this node's distance to every online node, lowest first.
/// Linux: node_read_distance()
public func nodeDistanceLine(online: [Int], distance: (Int) -> Int) -> String {
    var out = ""
    for node in online { out += (out.isEmpty ? "" : " ") + String(distance(node)) }
    return out + "\n"
}

/// nodeN/numastat: the page allocator's NUMA counters of one node, under the
/// names Linux gave them first (interleave_hit, local_node, other_node are
/// numa_interleave, numa_local, numa_other in /proc/vmstat).
/// Linux: node_read_numastat()
public struct NodeNumastat: Equatable {
    public var hit = 0, miss = 0, foreign = 0, interleaveHit = 0, localNode = 0, otherNode = 0

    public init(hit: Int, miss: Int, foreign: Int, interleaveHit: Int, localNode: Int, otherNode: Int) {
        self.hit = hit
        self.miss = miss
        self.foreign = foreign
        self.interleaveHit = interleaveHit
        self.localNode = localNode
        self.otherNode = otherNode
    }

    public var text: String {
        "numa_hit \(hit)\nnuma_miss \(miss)\nnuma_foreign \(foreign)\ninterleave_hit \(interleaveHit)\n"
            + "local_node \(localNode)\nother_node \(otherNode)\n"
    }
}

/// What one node's frames hold, counted by looking at each frame's descriptor
/// (Keel keeps these counters system-wide only; one pass over the node's
/// part of mem_map at read time splits them by node). Counts are in pages.
/// The buffer cache's pages (in /proc/meminfo's FilePages) carry no mark and
/// are in no node's count.
/// Linux: the node_page_state() items node_read_meminfo() prints
public struct NodePageTally: Equatable {
    /// Anonymous pages. Linux: NR_ANON_MAPPED
    public var anon = 0
    /// Page-cache pages, shmem's included. Linux: NR_FILE_PAGES
    public var file = 0
    /// Pages some page table maps, anonymous ones left out. Linux: NR_FILE_MAPPED
    public var mapped = 0
    /// Linux: NR_SHMEM
    public var shmem = 0
    /// Linux: NR_FILE_DIRTY
    public var dirty = 0
    /// Linux: NR_WRITEBACK
    public var writeback = 0
    /// Linux: NR_SWAPCACHE
    public var swapCached = 0
    /// Linux: NR_SLAB_UNRECLAIMABLE_B (Keel's slab caches are not shrinkable)
    public var slab = 0
    /// Linux: NR_PAGETABLE
    public var pageTables = 0
    /// Linux: NR_MLOCK
    public var mlocked = 0

    public init() {}

    /// Counts one frame. `blockPages` is the size of the allocated block the
    /// descriptor heads (a slab or page-table block counts whole); tail
    /// frames and free frames are skipped by the caller.
    public mutating func count(_ page: Page, blockPages: Int = 1) {
        let f = page.flags
        if f.contains(.slab) { slab += blockPages; return }
        if f.contains(.pageTable) { pageTables += blockPages; return }
        if f.contains(.swapCache) { swapCached += 1 }
        if f.contains(.anon) {
            anon += 1
        } else if page.isPageCache {
            file += 1
            if f.contains(.swapBacked) { shmem += 1 }
            if MemMapInspector.mappings(of: page) > 0 { mapped += 1 }
        }
        // Shmem does no dirty accounting (it is never written back to a file).
        if f.contains(.dirty) && page.isPageCache && !f.contains(.swapBacked) { dirty += 1 }
        if f.contains(.writeback) { writeback += 1 }
        // Keel's unevictable pages are mlocked ones and shmem pages (tmpfs is
        // not swapped): the shmem ones are no mlock's.
        if f.contains(.unevictable) && !(page.isPageCache && f.contains(.swapBacked)) { mlocked += 1 }
    }
}

/// nodeN/meminfo: one node's memory in Linux 6.1's lines and columns
/// ("Node %d MemTotal:       %8lu kB"). Counts are in pages; the file shows kB.
/// Linux: node_read_meminfo(), hugetlb_report_node_meminfo()
public struct NodeMeminfo: Equatable {
    public var node: Int
    public var totalPages: Int
    public var freePages: Int
    /// Indexed by LRUListKind.rawValue.
    public var lruPages: [Int]
    public var tally: NodePageTally
    /// Pages of kernel stacks on this node (vmalloc areas: their frames carry
    /// no mark, so the kernel finds them through the areas). Linux: NR_KERNEL_STACK_KB
    public var kernelStackPages: Int

    public init(node: Int, totalPages: Int, freePages: Int, lruPages: [Int], tally: NodePageTally,
                kernelStackPages: Int = 0) {
        self.node = node
        self.totalPages = totalPages
        self.freePages = freePages
        self.lruPages = lruPages
        self.tally = tally
        self.kernelStackPages = kernelStackPages
    }

    private func lru(_ kind: LRUListKind) -> Int { kind.rawValue < lruPages.count ? lruPages[kind.rawValue] : 0 }

    public func write<Sink: TextSink>(to out: inout Sink) {
        let kB = Int(pageSize / 1024)
        let prefix = "Node " + String(node) + " "
        func line(_ name: String, _ pages: Int) {
            // The name with its colon is padded to 16 columns, the number to 8:
            // "MemTotal:       " + "%8lu". Linux's format strings pad each name by hand.
            out.write(prefix)
            out.write(Fmt.padRight(name + ":", 16))
            Fmt.writeDec(UInt64(max(pages, 0) * kB), width: 8, to: &out)
            out.write(" kB\n")
        }
        let activeAnon = lru(.activeAnon), inactiveAnon = lru(.inactiveAnon)
        let activeFile = lru(.activeFile), inactiveFile = lru(.inactiveFile)
        line("MemTotal", totalPages)
        line("MemFree", freePages)
        line("MemUsed", totalPages - freePages)
        line("SwapCached", tally.swapCached)
        line("Active", activeAnon + activeFile)
        line("Inactive", inactiveAnon + inactiveFile)
        line("Active(anon)", activeAnon)
        line("Inactive(anon)", inactiveAnon)
        line("Active(file)", activeFile)
        line("Inactive(file)", inactiveFile)
        line("Unevictable", lru(.unevictable))
        line("Mlocked", tally.mlocked)
        line("Dirty", tally.dirty)
        line("Writeback", tally.writeback)
        line("FilePages", tally.file)
        line("Mapped", tally.mapped)
        line("AnonPages", tally.anon)
        line("Shmem", tally.shmem)
        line("KernelStack", kernelStackPages)
        line("PageTables", tally.pageTables)
        line("SecPageTables", 0)            // no KVM: no secondary page tables
        line("NFS_Unstable", 0)             // always 0 since Linux 5.8
        line("Bounce", 0)                   // no bounce buffers on x86-64
        line("WritebackTmp", 0)             // no FUSE
        line("KReclaimable", 0)             // no shrinkable kernel caches
        line("Slab", tally.slab)
        line("SReclaimable", 0)
        line("SUnreclaim", tally.slab)
        line("AnonHugePages", 0)            // no transparent huge pages
        line("ShmemHugePages", 0)
        line("ShmemPmdMapped", 0)
        // Linux pads these two by one column less ("FileHugePages: %8lu").
        for name in ["FileHugePages:", "FilePmdMapped:"] {
            out.write(prefix + name + " ")
            Fmt.writeDec(0, width: 8, to: &out)
            out.write(" kB\n")
        }
        // No hugetlbfs: no pool. "Node %d HugePages_Total: %5u" and its two siblings.
        out.write(prefix + "HugePages_Total: " + Fmt.dec(0, width: 5) + "\n")
        out.write(prefix + "HugePages_Free:  " + Fmt.dec(0, width: 5) + "\n")
        out.write(prefix + "HugePages_Surp:  " + Fmt.dec(0, width: 5) + "\n")
    }
}
