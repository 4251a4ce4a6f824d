// /sys/devices/system/node and /proc/<pid>/numa_maps: the layouts against
// text copied from Linux 6.1 (Debian's 6.1.0-57 booted in QEMU with two nodes,
// one CPU and 256 MiB each) and the counting rules of gather_stats().
import XCTest
@testable import KeelCore

final class NodeFilesTests: XCTestCase {
    // MARK: bitmaps

    func testMaskIsChunkedLikeLinux() {
        XCTAssertEqual(BitmapText.mask(bits: 2) { $0 == 0 }, "1")            // node0/cpumap, 2 CPUs
        XCTAssertEqual(BitmapText.mask(bits: 2) { $0 == 1 }, "2")
        XCTAssertEqual(BitmapText.mask(bits: 2) { $0 < 2 }, "3")
        XCTAssertEqual(BitmapText.mask(bits: 8) { $0 == 0 }, "01")
        XCTAssertEqual(BitmapText.mask(bits: 64) { $0 < 2 }, "00000000,00000003")
        XCTAssertEqual(BitmapText.mask(bits: 36) { $0 == 0 || $0 == 35 }, "8,00000001")
        XCTAssertEqual(BitmapText.mask(bits: 0) { _ in true }, "")
        // Mems_allowed of /proc/self/status on Linux (MAX_NUMNODES 1024), two nodes:
        let linux = String(repeating: "00000000,", count: 31) + "00000003"
        XCTAssertEqual(BitmapText.mask(bits: 1024) { $0 < 2 }, linux)
    }

    func testListJoinsRuns() {
        XCTAssertEqual(BitmapText.list(bits: 64) { $0 < 2 }, "0-1")
        XCTAssertEqual(BitmapText.list(bits: 64) { $0 == 1 }, "1")
        XCTAssertEqual(BitmapText.list(bits: 64) { [0, 1, 3, 5, 6, 7].contains($0) }, "0-1,3,5-7")
        XCTAssertEqual(BitmapText.list(bits: 64) { _ in false }, "")
        XCTAssertEqual(BitmapText.list(bits: 4) { _ in true }, "0-3")
    }

    // MARK: distance, numastat

    func testDistanceLine() {
        XCTAssertEqual(nodeDistanceLine(online: [0, 1]) { $0 == 0 ? 10 : 20 }, "10 20\n")
        XCTAssertEqual(nodeDistanceLine(online: [0]) { _ in 10 }, "10\n")
    }

    func testNumastatNames() {
        let stat = NodeNumastat(hit: 12443, miss: 0, foreign: 0, interleaveHit: 250, localNode: 12278, otherNode: 165)
        XCTAssertEqual(stat.text, """
            numa_hit 12443
            numa_miss 0
            numa_foreign 0
            interleave_hit 250
            local_node 12278
            other_node 165

            """)
    }

    // MARK: meminfo

    /// Linux 6.1's node0/meminfo, as printed in QEMU, with the numbers Keel keeps.
    func testMeminfoLayoutIsLinux61() {
        var tally = NodePageTally()
        tally.file = 9585
        tally.mapped = 405
        tally.anon = 9
        tally.shmem = 9585
        tally.pageTables = 12
        tally.slab = 994
        var lru = [Int](repeating: 0, count: LRUListKind.allCases.count)
        lru[LRUListKind.activeAnon.rawValue] = 918
        lru[LRUListKind.inactiveAnon.rawValue] = 8676
        let info = NodeMeminfo(node: 0, totalPages: 64146, freePages: 50765, lruPages: lru, tally: tally)
        var text = ""
        info.write(to: &text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 37)                    // 36 lines and the final newline
        XCTAssertEqual(lines.last, "")
        XCTAssertEqual(lines[0], "Node 0 MemTotal:         256584 kB")
        XCTAssertEqual(lines[1], "Node 0 MemFree:          203060 kB")
        XCTAssertEqual(lines[2], "Node 0 MemUsed:           53524 kB")
        XCTAssertEqual(lines[3], "Node 0 SwapCached:            0 kB")
        XCTAssertEqual(lines[4], "Node 0 Active:             3672 kB")
        XCTAssertEqual(lines[5], "Node 0 Inactive:          34704 kB")
        XCTAssertEqual(lines[6], "Node 0 Active(anon):       3672 kB")
        XCTAssertEqual(lines[7], "Node 0 Inactive(anon):    34704 kB")
        XCTAssertEqual(lines[14], "Node 0 FilePages:         38340 kB")
        XCTAssertEqual(lines[15], "Node 0 Mapped:             1620 kB")
        XCTAssertEqual(lines[17], "Node 0 Shmem:             38340 kB")
        XCTAssertEqual(lines[19], "Node 0 PageTables:           48 kB")
        XCTAssertEqual(lines[20], "Node 0 SecPageTables:         0 kB")
        XCTAssertEqual(lines[25], "Node 0 Slab:               3976 kB")
        XCTAssertEqual(lines[27], "Node 0 SUnreclaim:         3976 kB")
        XCTAssertEqual(lines[31], "Node 0 FileHugePages:        0 kB")
        XCTAssertEqual(lines[32], "Node 0 FilePmdMapped:        0 kB")
        XCTAssertEqual(lines[33], "Node 0 HugePages_Total:     0")
        XCTAssertEqual(lines[34], "Node 0 HugePages_Free:      0")
        XCTAssertEqual(lines[35], "Node 0 HugePages_Surp:      0")
        let names = lines.dropLast().map { $0.split(separator: " ")[2] }
        XCTAssertEqual(names.joined(separator: " "), """
            MemTotal: MemFree: MemUsed: SwapCached: Active: Inactive: Active(anon): Inactive(anon): \
            Active(file): Inactive(file): Unevictable: Mlocked: Dirty: Writeback: FilePages: Mapped: \
            AnonPages: Shmem: KernelStack: PageTables: SecPageTables: NFS_Unstable: Bounce: WritebackTmp: \
            KReclaimable: Slab: SReclaimable: SUnreclaim: AnonHugePages: ShmemHugePages: ShmemPmdMapped: \
            FileHugePages: FilePmdMapped: HugePages_Total: HugePages_Free: HugePages_Surp:
            """)
        // libnuma's numa_node_size64() reads the number before "kB" on the MemTotal and MemFree lines.
        XCTAssertTrue(text.hasPrefix("Node 0 MemTotal:"))
    }

    func testMeminfoOfNodeOne() {
        let info = NodeMeminfo(node: 1, totalPages: 52538, freePages: 48294, lruPages: [0, 0, 0, 0, 0],
                               tally: NodePageTally())
        var text = ""
        info.write(to: &text)
        XCTAssertTrue(text.hasPrefix("Node 1 MemTotal:         210152 kB\nNode 1 MemFree:          193176 kB\n"))
    }

    func testTallySortsFramesByUse() {
        var tally = NodePageTally()
        tally.count(Page(flags: [.slab, .head]), blockPages: 4)
        tally.count(Page(flags: [.pageTable]))
        var anon = Page(flags: [.anon, .swapBacked, .lru, .dirty])
        anon.mapcount = 1
        tally.count(anon)
        var cached = Page(flags: [.lru, .dirty])
        cached.mapping = 7
        cached.mapcount = 2                          // the cache's reference and one mapping
        tally.count(cached)
        var shmem = Page(flags: [.lru, .swapBacked, .unevictable, .dirty])
        shmem.mapping = 8
        shmem.mapcount = 1                           // the cache's reference only: not mapped
        tally.count(shmem)
        var locked = Page(flags: [.anon, .swapBacked, .unevictable])
        locked.mapcount = 1
        tally.count(locked)
        XCTAssertEqual(tally.slab, 4)
        XCTAssertEqual(tally.pageTables, 1)
        XCTAssertEqual(tally.anon, 2)
        XCTAssertEqual(tally.file, 2)
        XCTAssertEqual(tally.shmem, 1)
        XCTAssertEqual(tally.mapped, 1)
        XCTAssertEqual(tally.dirty, 1)               // the file page; anonymous and shmem pages are not "Dirty"
        XCTAssertEqual(tally.mlocked, 1)             // the mlocked page, not the shmem one
    }

    // MARK: numa_maps

    let files = VMTestFiles(files: [1: MappedFileInfo(path: "/bin/busybox", deviceMajor: 0, deviceMinor: 1, inode: 9),
                                    2: MappedFileInfo(path: "/tmp/a b=c", deviceMajor: 0, deviceMinor: 1, inode: 10)])
    let context = MapsContext(startBrk: VirtAddr(0x5e5000), brk: VirtAddr(0x5ee000),
                              startStack: VirtAddr(0x7fff_ffff_e000))

    private func page(anon: Bool = true, dirty: Bool = true, active: Bool = false, mapcount: Int32 = 1,
                      node: Int = 0) -> NumaMapsPage {
        NumaMapsPage(mapcount: mapcount, isAnonymous: anon, isDirty: dirty, isSwapCache: false, isActive: active,
                     isWriteback: false, node: node)
    }

    private func line(_ vma: VMA, _ pages: [NumaMapsPage], policy: String = "default") -> String {
        var stats = NumaMapsStats()
        for p in pages { stats.account(p) }
        var out = ""
        vma.writeNumaMaps(stats, policy: policy, context: context, files: files, to: &out)
        return out
    }

    func testNumaMapsLinesOfLinux() {
        let text = VMA(start: VirtAddr(0x400000), end: VirtAddr(0x401000), flags: [.read],
                       backing: .file(MappedFileID(1), pageOffset: 0))
        // Linux: "00400000 default file=/bin/busybox dirty=1 mapmax=2 N0=1 kernelpagesize_kB=4"
        XCTAssertEqual(line(text, [page(anon: false, active: true, mapcount: 2)]),
                       "00400000 default file=/bin/busybox dirty=1 mapmax=2 N0=1 kernelpagesize_kB=4\n")
        let data = VMA(start: VirtAddr(0x5db000), end: VirtAddr(0x5e2000), flags: [.read, .write],
                       backing: .file(MappedFileID(1), pageOffset: 0x1da))
        var pages = (0..<5).map { _ in page(anon: false, active: true, mapcount: 4) }
        pages[0].isDirty = false
        pages[1].isDirty = false
        pages += [page(node: 1), page(node: 1)]
        pages[2].mapcount = 4
        // Linux: "005db000 default file=/bin/busybox anon=2 dirty=7 mapmax=4 active=5 N0=5 N1=2 kernelpagesize_kB=4"
        // (there all 7 were dirty; here two are clean, so mapped= shows too)
        XCTAssertEqual(line(data, pages),
                       "005db000 default file=/bin/busybox anon=2 dirty=5 mapped=7 mapmax=4 active=5 N0=5 N1=2 kernelpagesize_kB=4\n")
        let heap = VMA(start: VirtAddr(0x5e5000), end: VirtAddr(0x5ec000), flags: [.read, .write])
        XCTAssertEqual(line(heap, [page(node: 1), page(node: 1), page(node: 1)]),
                       "005e5000 default heap anon=3 dirty=3 active=0 N1=3 kernelpagesize_kB=4\n")
        let empty = VMA(start: VirtAddr(0x7fff_f7fc_4000), end: VirtAddr(0x7fff_f7fc_8000), flags: [.read])
        XCTAssertEqual(line(empty, [], policy: "interleave:0-1"), "7ffff7fc4000 interleave:0-1\n")
        let stack = VMA(start: VirtAddr(0x7fff_fffd_e000), end: VirtAddr(0x7fff_ffff_f000), flags: [.read, .write])
        XCTAssertEqual(line(stack, [page(active: true, node: 1), page(node: 0)], policy: "interleave:0-1"),
                       "7ffffffde000 interleave:0-1 stack anon=2 dirty=2 active=1 N0=1 N1=1 kernelpagesize_kB=4\n")
    }

    func testNumaMapsEscapesPathAndKeepsActiveOnlyWhenBelowPages() {
        let vma = VMA(start: VirtAddr(0x1000_0000), end: VirtAddr(0x1000_2000), flags: [.read],
                      backing: .file(MappedFileID(2), pageOffset: 0))
        XCTAssertEqual(line(vma, [page(anon: false, dirty: false, active: true)], policy: "bind:1"),
                       "10000000 bind:1 file=/tmp/a\\040b\\075c mapped=1 N0=1 kernelpagesize_kB=4\n")
    }

    func testPolicyTextIsMpolToStr() {
        XCTAssertEqual(memoryPolicyText(mode: 0, nodes: .none), "default")
        XCTAssertEqual(memoryPolicyText(mode: 1, nodes: .node(1)), "prefer:1")
        XCTAssertEqual(memoryPolicyText(mode: 2, nodes: .first(2)), "bind:0-1")
        XCTAssertEqual(memoryPolicyText(mode: 3, nodes: .first(2)), "interleave:0-1")
        XCTAssertEqual(memoryPolicyText(mode: 4, nodes: .none), "local")
        XCTAssertEqual(memoryPolicyText(mode: 2, staticNodes: true, nodes: .node(1)), "bind=static:1")
        XCTAssertEqual(memoryPolicyText(mode: 3, relativeNodes: true, nodes: .node(0)), "interleave=relative:0")
        XCTAssertEqual(memoryPolicyText(mode: 9, nodes: .none), "unknown")
    }
}
