// The OOM killer's arithmetic and its words, apart from the kernel so the host
// tests check them: how bad a process is (the pages its death would give back,
// moved up or down by its oom_score_adj), the 0..2000 score /proc/<pid>/oom_score
// shows, what /proc/<pid>/oom_score_adj and the legacy oom_adj accept, and the
// lines of Linux's OOM report.
// Linux: mm/oom_kill.c (oom_badness, dump_header, dump_task,
// __oom_kill_process, oom_reap_task_mm), fs/proc/base.c (proc_oom_score,
// oom_adj_read/write, oom_score_adj_read/write), lib/kstrtox.c (kstrtoint)

public enum OOMScore {
    /// The lowest adjustment: the process is never chosen. Linux: OOM_SCORE_ADJ_MIN
    public static let adjMin = -1000
    /// Linux: OOM_SCORE_ADJ_MAX
    public static let adjMax = 1000
    /// The legacy file's "never kill me". Linux: OOM_DISABLE
    public static let legacyDisable = -17
    /// Linux: OOM_ADJUST_MIN, OOM_ADJUST_MAX
    public static let legacyMin = -16
    public static let legacyMax = 15

    /// What a process's memory counts for. Linux: the inputs of oom_badness()
    public struct Usage: Equatable, Sendable {
        /// Resident pages (anon + file + shmem). Linux: get_mm_rss()
        public var residentPages: Int
        /// Linux: get_mm_counter(mm, MM_SWAPENTS)
        public var swapEntries: Int
        /// Linux: mm_pgtables_bytes(mm) / PAGE_SIZE
        public var pageTablePages: Int

        public init(residentPages: Int, swapEntries: Int, pageTablePages: Int) {
            self.residentPages = residentPages
            self.swapEntries = swapEntries
            self.pageTablePages = pageTablePages
        }
    }

    /// The badness of a process that may be killed: its pages plus `adj`
    /// thousandths of all memory (`totalPages`: RAM and swap). nil for one
    /// that may not (adj -1000): Linux returns LONG_MIN. Init, kernel threads
    /// and an already reaped mm are the caller's to leave out.
    /// Linux: oom_badness()
    public static func badness(_ usage: Usage, adj: Int, totalPages: Int) -> Int? {
        guard adj != adjMin else { return nil }
        let points = usage.residentPages + usage.swapEntries + usage.pageTablePages
        return points + adj * (totalPages / 1000)        // Linux: adj *= totalpages / 1000
    }

    /// /proc/<pid>/oom_score: the badness scaled into 0..2000, 0 for a
    /// process that is never chosen. Linux: proc_oom_score()
    public static func procScore(badness: Int?, totalPages: Int) -> Int {
        guard let badness, totalPages > 0 else { return 0 }
        let points = (1000 + badness * 1000 / totalPages) * 2 / 3
        return min(max(points, 0), 2000)       // Linux prints a long as %lu; Keel never shows a wrapped one
    }

    /// The legacy /proc/<pid>/oom_adj value of an adjustment. Linux: oom_adj_read()
    public static func legacyAdj(of adj: Int) -> Int {
        adj == adjMax ? legacyMax : adj * -legacyDisable / adjMax
    }

    /// The adjustment a write of `legacy` to oom_adj sets; EINVAL outside
    /// -16..15 and -17. Linux: oom_adj_write()
    public static func adj(fromLegacy legacy: Int) throws(Errno) -> Int {
        guard (legacyMin...legacyMax).contains(legacy) || legacy == legacyDisable else { throw .EINVAL }
        return legacy == legacyMax ? adjMax : legacy * adjMax / -legacyDisable
    }

    /// Bytes of a write to oom_score_adj or oom_adj looked at, and taken: the
    /// write returns at most this count. Linux: PROC_NUMBUF - 1
    public static let writeLength = 12

    /// The number a write to oom_score_adj or oom_adj holds: the first 12 bytes,
    /// up to a NUL, white space around it stripped, then kstrtoint base 0
    /// (decimal, 0 octal, 0x hex, a sign, one newline at the end). EINVAL for
    /// anything else, ERANGE past an int. Linux: strstrip() + kstrtoint(…, 0, …)
    public static func parseWrite(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        var text: [UInt8] = []
        for byte in bytes.prefix(writeLength) {
            if byte == 0 { break }
            text.append(byte)
        }
        while let last = text.last, isSpace(last) { text.removeLast() }
        let first = text.firstIndex { !isSpace($0) } ?? text.count
        return try kstrtoint(text[first...])
    }

    /// Linux: kstrtoint() → kstrtoll() → _kstrtoull() with base 0
    static func kstrtoint(_ s: ArraySlice<UInt8>) throws(Errno) -> Int {
        var digits = s
        let negative = digits.first == UInt8(ascii: "-")
        if negative {
            digits = digits.dropFirst()
        } else if digits.first == UInt8(ascii: "+") {
            digits = digits.dropFirst()                 // kstrtoull skips one '+'; after '-' it is junk
        }
        var base: UInt64 = 10
        if digits.first == UInt8(ascii: "0") {          // Linux: _parse_integer_fixup_radix()
            let rest = digits.dropFirst()
            if let x = rest.first, x | 0x20 == UInt8(ascii: "x"), let d = rest.dropFirst().first, SysctlText.digitValue(d, base: 16) != nil {
                base = 16
                digits = rest.dropFirst()
            } else {
                base = 8
            }
        }
        var value: UInt64 = 0
        var parsed = 0
        var overflow = false
        while let c = digits.first, let d = SysctlText.digitValue(c, base: base) {
            let (times, o1) = value.multipliedReportingOverflow(by: base)
            let (sum, o2) = times.addingReportingOverflow(d)
            if o1 || o2 { overflow = true }
            value = sum
            parsed += 1
            digits = digits.dropFirst()
        }
        if overflow { throw .ERANGE }
        guard parsed > 0 else { throw .EINVAL }
        if digits.first == UInt8(ascii: "\n") { digits = digits.dropFirst() }
        guard digits.isEmpty else { throw .EINVAL }
        if negative {
            guard value <= UInt64(Int32.max) + 1 else { throw .ERANGE }
            return -Int(value)
        }
        guard value <= UInt64(Int32.max) else { throw .ERANGE }
        return Int(value)
    }

    /// The kernel's isspace(): space, \t \n \v \f \r, and Latin-1's 0xa0.
    private static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (0x09...0x0d).contains(c) || c == 0xa0
    }

    // MARK: The report

    /// A process as the report shows it. Memory in pages (counters) and bytes
    /// (page tables), as Linux prints them.
    public struct TaskRow: Sendable {
        public var pid: Int32
        public var uid: Int
        public var tgid: Int32
        public var totalVMPages: Int
        public var rss: RSSStat
        public var pageTableBytes: Int
        public var swapEntries: Int
        public var adj: Int
        public var name: String

        public init(pid: Int32, uid: Int, tgid: Int32, totalVMPages: Int, rss: RSSStat, pageTableBytes: Int,
                    swapEntries: Int, adj: Int, name: String) {
            self.pid = pid
            self.uid = uid
            self.tgid = tgid
            self.totalVMPages = totalVMPages
            self.rss = rss
            self.pageTableBytes = pageTableBytes
            self.swapEntries = swapEntries
            self.adj = adj
            self.name = name
        }
    }

    /// The first line of the report: who ran out, asking for what.
    /// Linux: dump_header() "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d, oom_score_adj=%hd"
    public static func invokedLine(name: String, gfpMask: UInt32, gfpNames: String, order: Int, adj: Int) -> String {
        "\(name) invoked oom-killer: gfp_mask=0x\(Fmt.hex(gfpMask))(\(gfpNames)), order=\(order), oom_score_adj=\(adj)"
    }

    /// The tasks dump's heading lines. Linux: dump_tasks()
    public static let tasksHeading = [
        "Tasks state (memory values in pages):",
        "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
    ]

    /// One process of the tasks dump. Linux: dump_task()
    /// "[%7d] %5d %5d %8lu %8lu %8ld %8lu         %5hd %s"
    public static func taskLine(_ row: TaskRow) -> String {
        "[" + Fmt.dec(row.pid, width: 7) + "] " + Fmt.dec(row.uid, width: 5) + " " + Fmt.dec(row.tgid, width: 5)
            + " " + Fmt.dec(row.totalVMPages, width: 8) + " " + Fmt.dec(row.rss.total, width: 8)
            + " " + Fmt.dec(row.pageTableBytes, width: 8) + " " + Fmt.dec(row.swapEntries, width: 8)
            + "         " + Fmt.dec(row.adj, width: 5) + " " + row.name
    }

    /// The kill. Linux: __oom_kill_process() "%s: Killed process %d (%s) total-vm:%lukB,
    /// anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd"
    public static func killLine(_ row: TaskRow, pageKiB: Int) -> String {
        "Out of memory: Killed process \(row.pid) (\(row.name)) total-vm:\(row.totalVMPages * pageKiB)kB, "
            + "anon-rss:\(row.rss.anon * pageKiB)kB, file-rss:\(row.rss.file * pageKiB)kB, "
            + "shmem-rss:\(row.rss.shmem * pageKiB)kB, UID:\(row.uid) pgtables:\(row.pageTableBytes >> 10)kB "
            + "oom_score_adj:\(row.adj)"
    }

    /// The reaper's report once the victim's private memory is gone.
    /// Linux: oom_reap_task_mm() "oom_reaper: reaped process %d (%s), now
    /// anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB"
    public static func reapedLine(pid: Int32, name: String, rss: RSSStat, pageKiB: Int) -> String {
        "oom_reaper: reaped process \(pid) (\(name)), now anon-rss:\(rss.anon * pageKiB)kB, "
            + "file-rss:\(rss.file * pageKiB)kB, shmem-rss:\(rss.shmem * pageKiB)kB"
    }
}
