// /proc/<pid>/smaps and smaps_rollup: the counting rules of Linux's
// smaps_account() (shared when two or more PTEs map a page, Pss its share,
// dirty from the PTE or the page) and the layout, against entries copied from
// a real Linux /proc/self/smaps (6.x, x86-64) and, where the host has one, its
// own file's field names and columns.
import Foundation
import XCTest
@testable import KeelCore

final class SmapsPrinterTests: XCTestCase {
    let files = VMTestFiles(files: [1: MappedFileInfo(path: "/usr/bin/head", deviceMajor: 0xfe, deviceMinor: 0,
                                                      inode: 254163)])
    let context = MapsContext(startBrk: VirtAddr(0x55f2_e91f_0000), brk: VirtAddr(0x55f2_e923_2000),
                              startStack: VirtAddr(0x7ffd_f238_7f10))

    private func anon(mapcount: Int32 = 1, dirty: Bool = true, young: Bool = true) -> SmapsPage {
        SmapsPage(mapcount: mapcount, isAnonymous: true, isSwapBacked: true, isDirty: dirty, isYoung: young)
    }

    private func stats(_ pages: [SmapsPage]) -> MemorySizeStats {
        var s = MemorySizeStats()
        for p in pages { s.account(p) }
        return s
    }

    private func entry(_ vma: VMA, _ s: MemorySizeStats) -> String {
        var out = ""
        vma.writeSmaps(s, context: context, files: files, to: &out)
        return out
    }

    /// A stack of 132 kB with 4 private dirty pages, byte for byte as Linux
    /// printed it (less the "ac" flag: Keel keeps no VM_ACCOUNT).
    func testStackEntryMatchesLinux() {
        let vma = VMA(start: VirtAddr(0x7ffd_f236_7000), end: VirtAddr(0x7ffd_f238_8000), flags: .stackDefault)
        XCTAssertEqual(entry(vma, stats(Array(repeating: anon(), count: 4))), """
            7ffdf2367000-7ffdf2388000 rw-p 00000000 00:00 0                          [stack]
            Size:                132 kB
            KernelPageSize:        4 kB
            MMUPageSize:           4 kB
            Rss:                  16 kB
            Pss:                  16 kB
            Pss_Dirty:            16 kB
            Shared_Clean:          0 kB
            Shared_Dirty:          0 kB
            Private_Clean:         0 kB
            Private_Dirty:        16 kB
            Referenced:           16 kB
            Anonymous:            16 kB
            KSM:                   0 kB
            LazyFree:              0 kB
            AnonHugePages:         0 kB
            ShmemPmdMapped:        0 kB
            FilePmdMapped:         0 kB
            Shared_Hugetlb:        0 kB
            Private_Hugetlb:       0 kB
            Swap:                  0 kB
            SwapPss:               0 kB
            Locked:                0 kB
            THPeligible:           0
            VmFlags: rd wr mr mw me gd \n
            """)
    }

    /// After fork both sides map the page: Shared_Dirty, and Pss halves in each.
    /// Three mappers leave a third each, the fraction kept in 12 bits.
    func testSharedPagesSplitPss() {
        let two = stats(Array(repeating: anon(mapcount: 2), count: 4))
        XCTAssertEqual(two.resident, 16384)
        XCTAssertEqual(two.sharedDirty, 16384)
        XCTAssertEqual(two.privateDirty, 0)
        XCTAssertEqual(two.pss >> MemorySizeStats.pssShift, 8192)
        XCTAssertEqual(two.pssDirty, two.pss)
        XCTAssertEqual(two.pssAnonymous, two.pss)
        let three = stats(Array(repeating: anon(mapcount: 3), count: 3))
        XCTAssertEqual(three.pss >> MemorySizeStats.pssShift, 4095, "3 x (4096 << 12) / 3, truncated once")
        var out = ""
        three.writeCounts(rollup: false, to: &out)
        XCTAssertTrue(out.contains("Pss:                   3 kB\n"), "Linux prints 4095 bytes as 3 kB too")
        XCTAssertTrue(out.contains("Shared_Dirty:         12 kB\n"))
    }

    /// A file page read through a private mapping: clean, not anonymous, Pss_File;
    /// a shmem page: Pss_Shmem; the PTE's or the page's dirty bit makes it dirty.
    func testFileAndShmemPages() {
        let file = SmapsPage(mapcount: 1, isAnonymous: false, isSwapBacked: false, isDirty: false, isYoung: false)
        let sharedFile = SmapsPage(mapcount: 4, isAnonymous: false, isSwapBacked: false, isDirty: false, isYoung: true)
        let shmem = SmapsPage(mapcount: 1, isAnonymous: false, isSwapBacked: true, isDirty: true, isYoung: true)
        let s = stats([file, sharedFile, shmem])
        XCTAssertEqual(s.resident, 3 * 4096)
        XCTAssertEqual(s.privateClean, 4096)
        XCTAssertEqual(s.sharedClean, 4096)
        XCTAssertEqual(s.privateDirty, 4096)
        XCTAssertEqual(s.anonymous, 0)
        XCTAssertEqual(s.referenced, 2 * 4096)
        XCTAssertEqual(s.pssFile >> MemorySizeStats.pssShift, 4096 + 1024)
        XCTAssertEqual(s.pssShmem >> MemorySizeStats.pssShift, 4096)
        XCTAssertEqual(s.pss, s.pssFile + s.pssShmem + s.pssAnonymous)
        XCTAssertEqual(s.lazyFree, 0)
        // An anonymous page not backed by swap and clean is lazily freeable (MADV_FREE).
        let freed = stats([SmapsPage(mapcount: 1, isAnonymous: true, isSwapBacked: false, isDirty: false, isYoung: false)])
        XCTAssertEqual(freed.lazyFree, 4096)
    }

    /// Pages in swap slots: Swap in full, SwapPss shared by the PTEs naming
    /// each slot (a slot forked once counts half). Linux: smaps_pte_entry()
    func testSwappedPages() {
        var s = stats([anon()])
        s.accountSwap(slotReferences: 1)
        s.accountSwap(slotReferences: 2)
        s.accountSwap(slotReferences: 3)
        XCTAssertEqual(s.swap, 3 * 4096)
        XCTAssertEqual(s.swapPss >> MemorySizeStats.pssShift, 4096 + 2048 + 1365)
        XCTAssertEqual(s.resident, 4096, "a swapped page is not resident")
        var out = ""
        s.writeCounts(rollup: false, to: &out)
        XCTAssertTrue(out.contains("Swap:                 12 kB\nSwapPss:               7 kB\n"), out)
    }

    /// An mlocked region's pages count in Locked by their Pss share.
    func testLocked() {
        let locked = SmapsPage(mapcount: 2, isAnonymous: true, isSwapBacked: true, isDirty: true, isYoung: true,
                               isLocked: true)
        let s = stats([locked, locked, anon()])
        XCTAssertEqual(s.pssLocked >> MemorySizeStats.pssShift, 4096)
        var out = ""
        s.writeCounts(rollup: false, to: &out)
        XCTAssertTrue(out.hasSuffix("Locked:                4 kB\n"))
    }

    /// The rollup: Linux's header over the whole range, and the three Pss lines.
    func testRollupMatchesLinux() {
        var out = ""
        stats([anon(), anon(mapcount: 2)]).writeRollup(start: VirtAddr(0x55fb_79a5_4000), end: VirtAddr(0x7ffc_1c39_1000),
                                                       to: &out)
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "55fb79a54000-7ffc1c391000 ---p 00000000 00:00 0                          [rollup]")
        XCTAssertEqual(Array(lines[1...7]), [
            "Rss:                   8 kB", "Pss:                   6 kB", "Pss_Dirty:             6 kB",
            "Pss_Anon:              6 kB", "Pss_File:              0 kB", "Pss_Shmem:             0 kB",
            "Shared_Clean:          0 kB",
        ])
        XCTAssertEqual(lines.last, "Locked:                0 kB")
        out = ""
        MemorySizeStats().writeRollup(start: VirtAddr(0), end: VirtAddr(0), to: &out)
        XCTAssertTrue(out.hasPrefix("00000000-00000000 ---p 00000000 00:00 0                                  [rollup]\n"),
                      "no region: Linux's empty_set")
    }

    /// Each flag's two letters in bit order; a file mapping keeps its maps line.
    func testVmFlagsAndFileEntry() {
        func line(_ flags: VMFlags) -> String {
            var out = ""
            flags.writeSmapsVmFlags(to: &out)
            return out
        }
        XCTAssertEqual(line([.read, .exec, .mayRead, .mayWrite, .mayExec]), "VmFlags: rd ex mr mw me \n")
        XCTAssertEqual(line([.read, .mayRead, .mayExec, .mayShare]), "VmFlags: rd mr me ms \n")
        XCTAssertEqual(line([.read, .write, .shared, .mayRead, .mayWrite, .mayShare, .dontCopy]),
                       "VmFlags: rd wr sh mr mw ms dc \n")
        XCTAssertEqual(line([]), "VmFlags: \n")
        XCTAssertEqual(line([.read, .write, .mayRead, .mayWrite, .mayExec, .locked, .lockOnFault, .dontDump]),
                       "VmFlags: rd wr mr mw me lo lf dd \n")
        let vma = VMA(start: VirtAddr(0x55ce_da2a_7000), end: VirtAddr(0x55ce_da2a_9000),
                      flags: [.read, .mayRead, .mayWrite, .mayExec], backing: fileAt(1, 0))
        let clean = SmapsPage(mapcount: 1, isAnonymous: false, isSwapBacked: false, isDirty: false, isYoung: true)
        let text = entry(vma, stats([clean, clean]))
        XCTAssertTrue(text.hasPrefix("""
            55ceda2a7000-55ceda2a9000 r--p 00000000 fe:00 254163                     /usr/bin/head
            Size:                  8 kB
            KernelPageSize:        4 kB
            MMUPageSize:           4 kB
            Rss:                   8 kB
            Pss:                   8 kB
            Pss_Dirty:             0 kB
            Shared_Clean:          0 kB
            Shared_Dirty:          0 kB
            Private_Clean:         8 kB
            """))
        XCTAssertTrue(text.hasSuffix("THPeligible:           0\nVmFlags: rd mr mw me \n"))
    }

    /// A count past 8 digits pushes into the padding, as seq_put_decimal_ull_width does.
    func testWideValue() {
        var out = ""
        MemorySizeStats.line("Size:           ", 200 << 30, to: &out)
        XCTAssertEqual(out, "Size:           209715200 kB\n")
    }

    /// The length a reader skips by is the entry's, whatever the counts, for
    /// regions under 10^8 kB; a larger one has none.
    func testSmapsLength() {
        let regions = [
            VMA(start: VirtAddr(0x7ffd_f236_7000), end: VirtAddr(0x7ffd_f238_8000), flags: .stackDefault),
            VMA(start: VirtAddr(0x55ce_da2a_7000), end: VirtAddr(0x55ce_da2a_9000),
                flags: [.read, .mayRead, .mayWrite, .mayExec], backing: fileAt(1, 0)),
            VMA(start: page(1), end: page(2), flags: []),
        ]
        let full = stats(Array(repeating: anon(mapcount: 3), count: 2))
        for vma in regions {
            let length = vma.smapsLength(context: context, files: files)
            XCTAssertEqual(length, entry(vma, MemorySizeStats()).utf8.count)
            XCTAssertEqual(length, entry(vma, full).utf8.count)
        }
        let huge = VMA(start: VirtAddr(0x1000_0000_0000), end: VirtAddr(0x2000_0000_0000), flags: .dataDefault)
        XCTAssertNil(huge.smapsLength(context: context, files: files))
        // A window past the first entry: skipping it keeps the same bytes as printing it.
        let first = entry(regions[0], full), second = entry(regions[1], full)
        var printed = TextWindow(start: first.utf8.count + 5, capacity: 100)
        printed.write(first)
        printed.write(second)
        var skipped = TextWindow(start: first.utf8.count + 5, capacity: 100)
        skipped.skip(regions[0].smapsLength(context: context, files: files) ?? 0)
        skipped.write(second)
        XCTAssertEqual(skipped.bytes, printed.bytes)
        XCTAssertEqual(skipped.bytes, Array(second.utf8.dropFirst(5).prefix(100)))
        XCTAssertTrue(skipped.isFull)
        var exact = TextWindow(start: 0, capacity: 4)
        exact.write("abcd")
        XCTAssertFalse(exact.isFull, "a text ending at the window's end may go on")
        exact.write("e")
        XCTAssertTrue(exact.isFull)
        XCTAssertTrue(TextWindow(start: 0, capacity: 0).isFull, "the probe at open")
    }

    /// The names of an entry in the host's own smaps, in order, are Keel's (the
    /// host may add ProtectionKey), and each line has the same length.
    func testMatchesHostSmaps() throws {
        guard let host = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8) else {
            throw XCTSkip("no /proc/self/smaps")
        }
        let hostLines = host.split(separator: "\n").map(String.init)
        guard let size = hostLines.firstIndex(where: { $0.hasPrefix("Size:") }),
              let flags = hostLines[size...].firstIndex(where: { $0.hasPrefix("VmFlags:") }) else {
            return XCTFail("no entry in the host's smaps")
        }
        let hostEntry = hostLines[size..<flags].filter { !$0.hasPrefix("ProtectionKey:") }
        let vma = VMA(start: VirtAddr(0x1000), end: VirtAddr(0x3000), flags: .dataDefault)
        let ours = entry(vma, stats([anon()])).split(separator: "\n").map(String.init)
        let ourEntry = ours[1..<(ours.count - 1)]
        XCTAssertEqual(ourEntry.map { $0.prefix { $0 != ":" } }, hostEntry.map { $0.prefix { $0 != ":" } })
        for (a, b) in zip(ourEntry, hostEntry) { XCTAssertEqual(a.count, b.count, a) }
    }
}
