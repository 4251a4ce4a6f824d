import XCTest
@testable import KeelCore

final class OOMScoreTests: XCTestCase {
    private func parse(_ text: String) throws(Errno) -> Int {
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBytes { raw -> Result<Int, Errno> in
            do throws(Errno) { return .success(try OOMScore.parseWrite(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private func error(_ text: String) -> Errno? {
        do { _ = try parse(text) } catch { return error }
        return nil
    }

    /// kstrtoint base 0 after strstrip, as the host's oom_score_adj takes it
    /// (the same cases test_oom_score checks on the host's kernel).
    func testParseWrite() throws {
        XCTAssertEqual(try parse("500\n"), 500)
        XCTAssertEqual(try parse("-1000"), -1000)
        XCTAssertEqual(try parse("  42 \n"), 42)
        XCTAssertEqual(try parse("0x10"), 16)
        XCTAssertEqual(try parse("0X1f"), 31)
        XCTAssertEqual(try parse("010"), 8)
        XCTAssertEqual(try parse("+7"), 7)
        XCTAssertEqual(try parse("-0"), 0)
        XCTAssertEqual(try parse("3           junk after twelve"), 3, "only 12 bytes are looked at")
        XCTAssertEqual(try parse("9\u{0}xy"), 9, "a NUL ends the text")
        for junk in ["abc", "12abc", "", "\n", "- 5", "-+5", "0x", "08", "1.5", "5 6", "--1"] {
            XCTAssertEqual(error(junk), .EINVAL, junk)
        }
        XCTAssertEqual(error("99999999999"), .ERANGE)
        XCTAssertEqual(error("2147483648"), .ERANGE)
        XCTAssertEqual(try parse("2147483647"), 2147483647)
        XCTAssertEqual(try parse("-2147483648"), -2147483648)
        XCTAssertEqual(error("-2147483649"), .ERANGE)
    }

    /// oom_badness: pages plus adj thousandths of memory (divided first, as
    /// Linux's `adj *= totalpages / 1000`); -1000 is never.
    func testBadness() {
        let usage = OOMScore.Usage(residentPages: 1000, swapEntries: 200, pageTablePages: 10)
        XCTAssertEqual(OOMScore.badness(usage, adj: 0, totalPages: 16_384), 1210)
        XCTAssertEqual(OOMScore.badness(usage, adj: 500, totalPages: 16_384), 1210 + 500 * 16)
        XCTAssertEqual(OOMScore.badness(usage, adj: -500, totalPages: 16_384), 1210 - 500 * 16)
        XCTAssertNil(OOMScore.badness(usage, adj: -1000, totalPages: 16_384))
        XCTAssertEqual(OOMScore.badness(usage, adj: -999, totalPages: 16_384), 1210 - 999 * 16)
    }

    /// proc_oom_score's 0..2000 scale; the host's test saw 1332, 999 and 666 for
    /// a small process at adj 1000, 500 and 0.
    func testProcScore() {
        let total = 65_536
        let small = OOMScore.Usage(residentPages: 100, swapEntries: 0, pageTablePages: 5)
        func score(_ adj: Int) -> Int {
            OOMScore.procScore(badness: OOMScore.badness(small, adj: adj, totalPages: total), totalPages: total)
        }
        XCTAssertEqual(score(1000), (1000 + (105 + 65_000) * 1000 / total) * 2 / 3)
        XCTAssertEqual(score(0), 667)
        XCTAssertEqual(score(-500), (1000 + (105 - 32_500) * 1000 / total) * 2 / 3)
        XCTAssertEqual(score(-1000), 0)
        XCTAssertEqual(OOMScore.procScore(badness: nil, totalPages: total), 0)
        let everything = OOMScore.Usage(residentPages: total, swapEntries: 0, pageTablePages: 0)
        XCTAssertEqual(OOMScore.procScore(badness: OOMScore.badness(everything, adj: 1000, totalPages: total),
                                          totalPages: total), 1994, "(1000 + 130_536_000 / 65_536) * 2 / 3")
    }

    /// oom_adj_read() and oom_adj_write()'s scaling.
    func testLegacyAdj() throws {
        XCTAssertEqual(OOMScore.legacyAdj(of: 1000), 15)
        XCTAssertEqual(OOMScore.legacyAdj(of: -1000), -17)
        XCTAssertEqual(OOMScore.legacyAdj(of: 294), 4)
        XCTAssertEqual(OOMScore.legacyAdj(of: 0), 0)
        XCTAssertEqual(try OOMScore.adj(fromLegacy: 15), 1000)
        XCTAssertEqual(try OOMScore.adj(fromLegacy: -17), -1000)
        XCTAssertEqual(try OOMScore.adj(fromLegacy: 5), 294)
        XCTAssertEqual(try OOMScore.adj(fromLegacy: -16), -941)
        for bad in [16, -18, 1000] {
            XCTAssertThrowsError(try OOMScore.adj(fromLegacy: bad))
        }
    }

    /// mm_counter(): anon by PG_anon, shmem by PG_swapbacked on a cache page, file otherwise.
    func testRSSCounter() {
        XCTAssertEqual(RSSCounter([.anon, .swapBacked]), .anon)
        XCTAssertEqual(RSSCounter([.anon]), .anon)
        XCTAssertEqual(RSSCounter([.swapBacked, .dirty]), .shmem)
        XCTAssertEqual(RSSCounter([.dirty, .lru]), .file)
        XCTAssertEqual(RSSCounter([]), .file)
        var rss = RSSStat()
        rss.add(.anon, 3)
        rss.add(.file, 2)
        rss.add(.shmem, 1)
        rss.add(.anon, -1)
        XCTAssertEqual(rss, RSSStat(anon: 2, file: 2, shmem: 1))
        XCTAssertEqual(rss.total, 5)
    }

    /// The report's lines in Linux's formats (mm/oom_kill.c).
    func testReportLines() {
        let row = OOMScore.TaskRow(pid: 42, uid: 0, tgid: 42, totalVMPages: 20_000,
                                   rss: RSSStat(anon: 15_000, file: 30, shmem: 2), pageTableBytes: 73_728,
                                   swapEntries: 0, adj: 0, name: "oom_hog")
        XCTAssertEqual(OOMScore.killLine(row, pageKiB: 4),
                       "Out of memory: Killed process 42 (oom_hog) total-vm:80000kB, anon-rss:60000kB, "
                       + "file-rss:120kB, shmem-rss:8kB, UID:0 pgtables:72kB oom_score_adj:0")
        XCTAssertEqual(OOMScore.taskLine(row),
                       "[     42]     0    42    20000    15032    73728        0             0 oom_hog")
        XCTAssertEqual(OOMScore.reapedLine(pid: 42, name: "oom_hog", rss: RSSStat(anon: 0, file: 30, shmem: 2), pageKiB: 4),
                       "oom_reaper: reaped process 42 (oom_hog), now anon-rss:0kB, file-rss:120kB, shmem-rss:8kB")
        XCTAssertEqual(OOMScore.invokedLine(name: "oom_hog", gfpMask: 0x100cca, gfpNames: "GFP_HIGHUSER_MOVABLE",
                                            order: 0, adj: -17),
                       "oom_hog invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=-17")
    }
}
