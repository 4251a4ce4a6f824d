// /proc/meminfo, /proc/<pid>/status and /proc/<pid>/stat in Linux's formats,
// checked against the host's own /proc where the layout can be compared.
import Foundation
import XCTest
@testable import KeelCore

final class FSProcPrinterTests: XCTestCase {
    let info = MemInfo(totalPages: 61_000, freePages: 52_345, filePages: 3_000, bufferPages: 200, dirtyPages: 7,
                       writebackPages: 1, anonPages: 2_500, mappedPages: 900, shmemPages: 400,
                       lowWatermarkPages: 300, reservePages: 450, slabPages: 100, vmallocPages: 12,
                       vmallocTotalBytes: 0x3f_ffff_f000)

    func testMeminfoLines() {
        var text = ""
        info.write(to: &text)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "MemTotal:         244000 kB")
        XCTAssertTrue(lines.contains("MemFree:          209380 kB"))
        // free 52345 - reserve 450, plus file LRU 2600 less min(1300, low 300)
        XCTAssertTrue(lines.contains("MemAvailable:     216780 kB"))
        XCTAssertTrue(lines.contains("Buffers:             800 kB"))
        XCTAssertTrue(lines.contains("Cached:            11200 kB"), "file pages less the buffers")
        XCTAssertTrue(lines.contains("Dirty:                28 kB"))
        XCTAssertTrue(lines.contains("Writeback:             4 kB"))
        XCTAssertTrue(lines.contains("AnonPages:         10000 kB"))
        XCTAssertTrue(lines.contains("Mapped:             3600 kB"))
        XCTAssertTrue(lines.contains("Shmem:              1600 kB"))
        XCTAssertTrue(lines.contains("SwapTotal:             0 kB"))
        XCTAssertTrue(lines.contains("Slab:                400 kB"))
        XCTAssertTrue(lines.contains("VmallocTotal:   268435452 kB"), "a 9-digit value pushes into the padding")
        XCTAssertTrue(lines.contains("VmallocUsed:          48 kB"))
        XCTAssertTrue(text.hasSuffix("\n"))
    }

    /// MemAvailable as si_mem_available() estimates it: half the file LRU at
    /// most stays (here the low watermark is less), never below 0.
    func testMemAvailable() {
        var m = info
        m.lowWatermarkPages = 5_000
        XCTAssertEqual(m.availablePages, 52_345 - 450 + 2_600 - 1_300)
        m.freePages = 100
        m.filePages = 0
        m.shmemPages = 0
        m.bufferPages = 0
        XCTAssertEqual(m.availablePages, 0, "the reserve is more than is free")
        XCTAssertEqual(m.cachedPages, 0)
    }

    /// Every name Keel prints appears in the host's /proc/meminfo in the same order and,
    /// for values under 10^8 kB, with " kB" ending at the same column.
    func testMeminfoMatchesHostLayout() throws {
        guard let host = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else {
            throw XCTSkip("no /proc/meminfo")
        }
        var text = ""
        info.write(to: &text)
        let hostLines = host.split(separator: "\n").map(String.init)
        var lastIndex = -1
        for line in text.split(separator: "\n") {
            let name = String(line.prefix { $0 != ":" })
            let index = try XCTUnwrap(hostLines.firstIndex { $0.hasPrefix(name + ":") }, name)
            XCTAssertGreaterThan(index, lastIndex, "\(name) in Linux's order")
            lastIndex = index
            let hostLine = hostLines[index]
            if hostLine.count <= 27 { XCTAssertEqual(line.count, hostLine.count, name) }
        }
    }

    let task = ProcTaskInfo(name: "init", state: .sleeping, pid: 7, tgid: 7, parentPid: 1, threads: 1,
                            memory: ProcTaskMemory(totalPages: 300, rss: RSSStat(anon: 20, file: 4, shmem: 1),
                                                   startBrk: VirtAddr(0x40_5000), startStack: VirtAddr(0x7eff_ffff_fe00),
                                                   lockedPages: 4, swapPages: 3),
                            exitCode: 0)

    func testStatus() {
        var text = ""
        task.writeStatus(to: &text)
        XCTAssertTrue(text.hasPrefix("Name:\tinit\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t7\nNgid:\t0\nPid:\t7\nPPid:\t1\n"))
        XCTAssertTrue(text.contains("\nVmSize:\t    1200 kB\nVmLck:\t      16 kB\nVmRSS:\t     100 kB\n"
                                    + "RssAnon:\t      80 kB\nRssFile:\t      16 kB\nRssShmem:\t       4 kB\nVmSwap:\t      12 kB\n"))
        XCTAssertTrue(text.hasSuffix("Threads:\t1\n"))
        var kernel = task
        kernel.memory = nil
        text = ""
        kernel.writeStatus(to: &text)
        XCTAssertFalse(text.contains("Vm"), "kernel threads have no memory lines")
    }

    /// The affinity lines as Linux 6.1 printed them in QEMU (2 CPUs, 2 nodes),
    /// but for Mems_allowed's width: Keel's MAX_NUMNODES is 64, Debian's 1024.
    func testStatusAllowedLines() {
        var both = task
        both.allowed = (cpus: [.cpu(0), .cpu(1)], cpuBits: 2, nodes: .first(2))
        var text = ""
        both.writeStatus(to: &text)
        XCTAssertTrue(text.hasSuffix("Threads:\t1\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n"
                                     + "Mems_allowed:\t00000000,00000003\nMems_allowed_list:\t0-1\n"))
        both.allowed = (cpus: .cpu(1), cpuBits: 2, nodes: .node(1))
        text = ""
        both.writeStatus(to: &text)
        XCTAssertTrue(text.hasSuffix("Cpus_allowed:\t2\nCpus_allowed_list:\t1\n"
                                     + "Mems_allowed:\t00000000,00000002\nMems_allowed_list:\t1\n"))
    }

    /// Keel's 10 ms scheduler tick is exactly one of Linux's USER_HZ clock ticks;
    /// a 4 ms tick would take two and a half, rounded down.
    func testClockTicks() {
        XCTAssertEqual(ProcTaskInfo.clockTicks(ticks: 37, tickMilliseconds: 10), 37)
        XCTAssertEqual(ProcTaskInfo.clockTicks(ticks: 5, tickMilliseconds: 4), 2)
        XCTAssertEqual(ProcTaskInfo.clockTicks(ticks: 0, tickMilliseconds: 10), 0)
    }

    /// The host's own /proc/self/status uses the same "Name:\tvalue" shape for these keys.
    func testStatusKeysExistOnHost() throws {
        guard let host = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            throw XCTSkip("no /proc/self/status")
        }
        var text = ""
        task.writeStatus(to: &text)
        for line in text.split(separator: "\n") {
            let key = line.prefix { $0 != "\t" }
            XCTAssertTrue(host.contains("\n" + key + "\t") || host.hasPrefix(key + "\t"), String(key))
        }
    }

    func testStatLine() throws {
        var zombie = task
        zombie.name = "a (b) c"
        zombie.state = .zombie
        zombie.exitCode = 5 << 8
        zombie.userTime = 123
        zombie.systemTime = 4
        zombie.childrenUserTime = 56
        zombie.childrenSystemTime = 7
        var text = ""
        zombie.writeStat(to: &text)
        XCTAssertTrue(text.hasPrefix("7 (a (b) c) Z 1 "))
        XCTAssertTrue(text.hasSuffix(" 1280\n"))
        // Parse as ps does: the name ends at the last ')'.
        let afterName = text[text.index(after: try XCTUnwrap(text.lastIndex(of: ")")))...]
        let fields = afterName.split(separator: " ").map { $0.trimmingCharacters(in: .newlines) }
        XCTAssertEqual(fields.count, 50, "52 fields with pid and name")
        XCTAssertEqual(fields[0], "Z")
        XCTAssertEqual(fields[23 - 3], String(300 * 4096), "vsize in bytes")
        XCTAssertEqual(fields[24 - 3], "25", "rss in pages")
        XCTAssertEqual(fields[14 - 3], "123", "utime in clock ticks")
        XCTAssertEqual(fields[15 - 3], "4", "stime in clock ticks")
        XCTAssertEqual(fields[16 - 3], "56", "cutime in clock ticks")
        XCTAssertEqual(fields[17 - 3], "7", "cstime in clock ticks")
        XCTAssertEqual(fields[28 - 3], String(0x7eff_ffff_fe00), "startstack")
        XCTAssertEqual(fields[38 - 3], "17", "exit_signal SIGCHLD")
        XCTAssertEqual(fields[47 - 3], String(0x40_5000), "start_brk")
        // The host's own stat line has 52 fields too.
        if let host = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let paren = host.lastIndex(of: ")") {
            XCTAssertEqual(host[host.index(after: paren)...].split(separator: " ").count, 50)
        }
    }
}
