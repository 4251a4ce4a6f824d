// /proc/<pid>/numa_maps, byte for byte as Linux prints it: one line per
// region, its start, its memory policy, what it maps, then counts of its
// resident pages and on which node they are:
//
//   005db000 default file=/bin/busybox anon=2 dirty=7 mapmax=4 active=5 N0=5 N1=2 kernelpagesize_kB=4
//   005e5000 default heap anon=3 dirty=3 active=0 N1=3 kernelpagesize_kB=4
//   7ffff7fc4000 interleave:0-1
//   7ffffffde000 bind:1 stack anon=2 dirty=2 active=1 N1=2 kernelpagesize_kB=4
//
// A count appears only when it says something (Linux's rules, in
// `writeNumaMaps`); a region with no resident page ends after its name. The
// kernel walks the page tables (Kernel/FS/Proc/ProcNumaMaps.swift) and hands
// each page here; this file is the counting and the layout.
// Linux: fs/proc/task_mmu.c (struct numa_maps, gather_stats(),
// show_numa_map()), mm/mempolicy.c (mpol_to_str())

/// What one resident page of a region is, as numa_maps counts it.
public struct NumaMapsPage: Sendable {
    /// Page-table entries mapping the page. Linux: page_mapcount()
    public var mapcount: Int32
    /// Linux: PageAnon()
    public var isAnonymous: Bool
    /// The PTE's dirty bit or the descriptor's dirty flag. Linux: pte_dirty() || PageDirty()
    public var isDirty: Bool
    /// Linux: PageSwapCache()
    public var isSwapCache: Bool
    /// On an active LRU list, or on the unevictable one. Linux: PageActive() || PageUnevictable()
    public var isActive: Bool
    /// Linux: PageWriteback()
    public var isWriteback: Bool
    /// The node the frame belongs to. Linux: page_to_nid()
    public var node: Int

    public init(mapcount: Int32, isAnonymous: Bool, isDirty: Bool, isSwapCache: Bool, isActive: Bool,
                isWriteback: Bool, node: Int) {
        self.mapcount = mapcount
        self.isAnonymous = isAnonymous
        self.isDirty = isDirty
        self.isSwapCache = isSwapCache
        self.isActive = isActive
        self.isWriteback = isWriteback
        self.node = node
    }
}

/// The counts of one region. Linux: struct numa_maps
public struct NumaMapsStats: Equatable, Sendable {
    public var pages = 0, anon = 0, dirty = 0, swapCache = 0, active = 0, writeback = 0
    /// The most page-table entries mapping any one of its pages. Linux: mapcount_max
    public var mapcountMax = 0
    /// Pages per node, indexed by node. Linux: node[MAX_NUMNODES]
    public var perNode: [Int] = []

    public init() {}

    /// Linux: gather_stats() with nr_pages 1
    public mutating func account(_ page: NumaMapsPage) {
        pages += 1
        if page.isDirty { dirty += 1 }
        if page.isSwapCache { swapCache += 1 }
        if page.isActive { active += 1 }
        if page.isWriteback { writeback += 1 }
        if page.isAnonymous { anon += 1 }
        mapcountMax = max(mapcountMax, Int(page.mapcount))
        guard page.node >= 0 else { return }
        while perNode.count <= page.node { perNode.append(0) }
        perNode[page.node] += 1
    }
}

/// A memory policy as numa_maps (and tmpfs's mpol= option) shows it: the mode
/// name, "=static" or "=relative" for those flags, then ":" and the node list
/// when there are nodes ("bind:0-1", "interleave:0-1", "prefer:1", "local",
/// "default"). `mode` is Linux's MPOL_* number (MPOL_DEFAULT 0, MPOL_PREFERRED
/// 1, MPOL_BIND 2, MPOL_INTERLEAVE 3, MPOL_LOCAL 4, MPOL_PREFERRED_MANY 5).
/// Linux: mpol_to_str() over policy_modes[]
public func memoryPolicyText(mode: Int, staticNodes: Bool = false, relativeNodes: Bool = false,
                             nodes: NodeMask) -> String {
    let names = ["default", "prefer", "bind", "interleave", "local", "prefer (many)"]
    guard names.indices.contains(mode) else { return "unknown" }
    var out = names[mode]
    if staticNodes { out += "=static" } else if relativeNodes { out += "=relative" }
    // default and local carry no nodes, whatever the mask holds.
    if mode != 0 && mode != 4 && !nodes.isEmpty { out += ":" + nodes.listText }
    return out
}

/// A path with each of `characters` written as a backslash and three octal
/// digits ("\040" for a space), so the line stays one line of words.
/// Linux: mangle_path()
func octalEscaped(_ path: String, _ characters: [Unicode.Scalar]) -> String {
    guard path.unicodeScalars.contains(where: { characters.contains($0) }) else { return path }
    var out = ""
    for scalar in path.unicodeScalars {
        if characters.contains(scalar) {
            let v = scalar.value
            out += "\\" + String(v >> 6 & 7) + String(v >> 3 & 7) + String(v & 7)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

extension VMA {
    /// Writes this region's numa_maps line. `policy` is the region's policy
    /// text, or the task's for a region without one (memoryPolicyText).
    /// Linux: show_numa_map()
    public func writeNumaMaps<Sink: TextSink, Files: MappedFileLookup>(
        _ stats: NumaMapsStats, policy: String, context: MapsContext, files: Files, to out: inout Sink
    ) {
        // "%08lx": at least 8 hex digits.
        Fmt.writeHex(start.value, digits: 8, to: &out)
        out.write(" " + policy)
        if case let .file(id, _) = backing {
            out.write(" file=" + octalEscaped(files.mappedFileInfo(id).path, ["\n", "\t", " ", "="]))
        } else if start <= context.brk && end >= context.startBrk {
            out.write(" heap")
        } else if start <= context.startStack && end >= context.startStack {
            out.write(" stack")
        }
        // Keel has no hugetlbfs: never " huge".
        if stats.pages > 0 {
            if stats.anon > 0 { field(" anon=", stats.anon, &out) }
            if stats.dirty > 0 { field(" dirty=", stats.dirty, &out) }
            if stats.pages != stats.anon && stats.pages != stats.dirty { field(" mapped=", stats.pages, &out) }
            if stats.mapcountMax > 1 { field(" mapmax=", stats.mapcountMax, &out) }
            if stats.swapCache > 0 { field(" swapcache=", stats.swapCache, &out) }
            if stats.active < stats.pages { field(" active=", stats.active, &out) }
            if stats.writeback > 0 { field(" writeback=", stats.writeback, &out) }
            for (node, count) in stats.perNode.enumerated() where count > 0 {
                field(" N" + String(node) + "=", count, &out)
            }
            field(" kernelpagesize_kB=", Int(pageSize / 1024), &out)
        }
        out.write("\n")
    }
}

private func field<Sink: TextSink>(_ name: String, _ value: Int, _ out: inout Sink) {
    out.write(name)
    Fmt.writeDec(UInt64(value), to: &out)
}
