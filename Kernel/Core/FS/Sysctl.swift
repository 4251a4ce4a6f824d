// The text of a /proc/sys file, read and written the way Linux's
// proc_dointvec family does it, and the write-back tunables of /proc/sys/vm
// with their handlers. Every write is a user's bytes: what is not a number in
// range is EINVAL and changes nothing.
//
// A sysctl file holds one number. A read at offset 0 gives it in decimal and a
// newline (cut to the reader's count); a read anywhere else is end of file. A
// write at offset 0 takes one number: leading white space, an optional '-',
// then decimal, octal ("0" first) or hex ("0x"), at most 21 characters,
// followed by nothing or white space (space, tab or newline) and whatever comes
// after the white space is left over: the write returns the bytes up to it. A
// write anywhere but offset 0 changes nothing and succeeds (Linux's default
// sysctl_writes_strict = 1). Checked against Linux 6.18 on the host.
//
// Linux: kernel/sysctl.c (__do_proc_dointvec, __do_proc_doulongvec_minmax,
// proc_get_long, proc_skip_spaces, proc_first_pos_non_zero_ignore),
// mm/page-writeback.c (the dirty_* handlers), fs/drop_caches.c

/// What one write to a sysctl file did: the number to store (nil when the
/// write was at an offset past 0 and so changed nothing) and how many of the
/// bytes it took.
public struct SysctlWrite<Value: Equatable>: Equatable {
    public var value: Value?
    public var taken: Int

    public init(value: Value?, taken: Int) {
        self.value = value
        self.taken = taken
    }
}

public enum SysctlText {
    /// Longest number with its sign: 21 characters. Linux: TMPBUFLEN - 1
    static let maxNumberLength = 21
    /// Bytes of one write looked at. Linux: PAGE_SIZE - 1 in __do_proc_dointvec()
    static let maxWriteLength = 4095

    /// The file's text for `value`. Linux: proc_put_long() then proc_put_char('\n')
    public static func text(_ value: Int64) -> String { String(value) + "\n" }
    public static func text(_ value: UInt64) -> String { String(value) + "\n" }

    /// The part of `text` a read of `count` bytes at `offset` returns: all of
    /// it, cut to `count`, at offset 0, nothing elsewhere.
    /// Linux: __do_proc_dointvec() (`*ppos && !write` reads nothing)
    public static func readBytes(_ text: String, count: Int, at offset: Int) -> ArraySlice<UInt8> {
        guard offset == 0 else { return [] }
        return Array(text.utf8).prefix(count)
    }

    /// An int sysctl's write, with the table's bounds. Linux: proc_dointvec(),
    /// proc_dointvec_minmax() (do_proc_dointvec_conv, do_proc_dointvec_minmax_conv)
    public static func writeInt(_ bytes: UnsafeRawBufferPointer, at offset: Int, min: Int32? = nil,
                                max: Int32? = nil) throws(Errno) -> SysctlWrite<Int32> {
        try write(bytes, at: offset) { (negative, magnitude) throws(Errno) -> Int32 in
            let value: Int64
            if negative {
                guard magnitude <= UInt64(Int32.max) + 1 else { throw .EINVAL }
                value = -Int64(magnitude)
            } else {
                guard magnitude <= UInt64(Int32.max) else { throw .EINVAL }
                value = Int64(magnitude)
            }
            if let min, value < Int64(min) { throw .EINVAL }
            if let max, value > Int64(max) { throw .EINVAL }
            return Int32(value)
        }
    }

    /// An unsigned long sysctl's write: a '-' is EINVAL. Linux: proc_doulongvec_minmax()
    public static func writeUnsignedLong(_ bytes: UnsafeRawBufferPointer, at offset: Int, min: UInt64? = nil,
                                         max: UInt64? = nil) throws(Errno) -> SysctlWrite<UInt64> {
        try write(bytes, at: offset) { (negative, magnitude) throws(Errno) -> UInt64 in
            guard !negative else { throw .EINVAL }
            if let min, magnitude < min { throw .EINVAL }
            if let max, magnitude > max { throw .EINVAL }
            return magnitude
        }
    }

    /// One number from the start of a write at `offset`, converted and
    /// checked by `convert`. Linux: __do_proc_dointvec() for a table of one value
    private static func write<Value>(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                                     _ convert: (Bool, UInt64) throws(Errno) -> Value) throws(Errno) -> SysctlWrite<Value> {
        guard offset == 0 else { return SysctlWrite(value: nil, taken: bytes.count) }
        let length = Swift.min(bytes.count, maxWriteLength)
        var i = skipSpaces(bytes, from: 0, to: length)
        guard i < length else { throw .EINVAL }
        let (negative, magnitude, end) = try parseNumber(bytes, from: i, to: length)
        let value = try convert(negative, magnitude)
        i = skipSpaces(bytes, from: end, to: length)
        return SysctlWrite(value: value, taken: bytes.count - (length - i))
    }

    /// The first byte at or after `i` (before `end`) that is not white space.
    /// Linux: proc_skip_spaces() with the kernel's isspace(), which counts
    /// 0xa0 (Latin-1's no-break space) too
    private static func skipSpaces(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        var i = start
        while i < end {
            switch bytes[i] {
            case 0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0xa0: i += 1
            default: return i
            }
        }
        return i
    }

    /// A signed number in the bytes [start, end), which start with no white
    /// space: its sign, magnitude and where it ends. What follows it must be
    /// the end or a space, tab or newline. Linux: proc_get_long() with
    /// proc_wspace_sep, strtoul_lenient() (base 0) and _parse_integer()
    private static func parseNumber(_ bytes: UnsafeRawBufferPointer, from start: Int,
                                    to end: Int) throws(Errno) -> (Bool, UInt64, Int) {
        // Linux copies at most 21 bytes into a buffer and parses only those.
        let limit = Swift.min(end, start + maxNumberLength)
        var i = start
        let negative = bytes[i] == UInt8(ascii: "-") && end - start > 1
        if negative { i += 1 }
        guard i < limit, isDigit(bytes[i]) else { throw .EINVAL }
        var base: UInt64 = 10
        if bytes[i] == UInt8(ascii: "0") {
            base = 8
            if i + 2 < limit, bytes[i + 1] | 0x20 == UInt8(ascii: "x"), digitValue(bytes[i + 2], base: 16) != nil {
                base = 16
                i += 2
            }
        }
        var magnitude: UInt64 = 0
        var overflow = false
        while i < limit, let digit = digitValue(bytes[i], base: base) {
            let (times, o1) = magnitude.multipliedReportingOverflow(by: base)
            let (sum, o2) = times.addingReportingOverflow(digit)
            overflow = overflow || o1 || o2
            magnitude = sum
            i += 1
        }
        guard !overflow else { throw .EINVAL }
        // A number that fills the whole buffer may go on past it: refused.
        guard i - start < maxNumberLength else { throw .EINVAL }
        if i < end {
            switch bytes[i] {
            case 0x20, 0x09, 0x0a: break
            default: throw .EINVAL
            }
        }
        return (negative, magnitude, i)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    /// A character's value as a digit of `base` (up to 16), or nil.
    /// Linux: _parse_integer()'s digit test (shared with the oom_score_adj parser)
    static func digitValue(_ c: UInt8, base: UInt64) -> UInt64? {
        let value: UInt64
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt64(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = UInt64(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): value = UInt64(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
        return value < base ? value : nil
    }
}

/// The files of /proc/sys/vm that Keel has, in Linux's (alphabetical) order.
/// Linux: vm_page_writeback_sysctls[] (mm/page-writeback.c), drop_caches_table[]
public enum VMSysctlFile: Int, CaseIterable, Sendable {
    case compactMemory
    case dirtyBackgroundBytes, dirtyBackgroundRatio, dirtyBytes, dirtyExpireCentisecs, dirtyRatio
    case dirtyWritebackCentisecs, dropCaches
    /// Reclaim's: the reserve the watermarks are made from, and the weight of
    /// anonymous against file pages. Linux: vm_table[] in kernel/sysctl.c
    case minFreeKbytes, swappiness

    public var name: String {
        switch self {
        case .compactMemory: "compact_memory"
        case .dirtyBackgroundBytes: "dirty_background_bytes"
        case .dirtyBackgroundRatio: "dirty_background_ratio"
        case .dirtyBytes: "dirty_bytes"
        case .dirtyExpireCentisecs: "dirty_expire_centisecs"
        case .dirtyRatio: "dirty_ratio"
        case .dirtyWritebackCentisecs: "dirty_writeback_centisecs"
        case .dropCaches: "drop_caches"
        case .minFreeKbytes: "min_free_kbytes"
        case .swappiness: "swappiness"
        }
    }

    /// drop_caches and compact_memory are commands, written only. Linux: the ctl_table's mode
    public var permissions: UInt32 { self == .dropCaches || self == .compactMemory ? 0o200 : 0o644 }
}

/// A write to compact_memory: any integer is stored (the last one stays, and
/// a write past offset 0 acts on it again), but only 1 compacts; anything
/// else is EINVAL after being stored. Linux: sysctl_compaction_handler()
/// (proc_dointvec, then `sysctl_compact_memory != 1` is -EINVAL)
public enum CompactMemoryCommand {
    /// The value now stored (`last` unless this write carried one), and the bytes taken.
    public static func write(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                             last: Int32) throws(Errno) -> (stored: Int32, taken: Int) {
        let w = try SysctlText.writeInt(bytes, at: offset)
        return (w.value ?? last, w.taken)
    }

    /// Whether the stored value asks for compaction; else the write fails.
    public static func check(_ stored: Int32) throws(Errno) {
        guard stored == 1 else { throw .EINVAL }
    }
}

/// What a write to drop_caches asks for: bit 1 the clean page cache, bit 2
/// the unused dentries and inodes (and whatever else slab shrinkers free),
/// bit 4 no more "drop_caches: N" lines. Linux: sysctl_drop_caches's bits
public struct DropCachesMode: OptionSet, Equatable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let pageCache = DropCachesMode(rawValue: 1)
    public static let slab = DropCachesMode(rawValue: 2)
    public static let quiet = DropCachesMode(rawValue: 4)

    /// A write to drop_caches: 1 to 4, else EINVAL. A write past offset 0
    /// stores nothing: the value written before is acted on again, as Linux's
    /// handler does. Linux: drop_caches_table[] (SYSCTL_ONE..SYSCTL_FOUR)
    public static func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> SysctlWrite<Int32> {
        try SysctlText.writeInt(bytes, at: offset, min: 1, max: 4)
    }
}

/// When dirty page-cache pages are written back: the write-back tunables of
/// /proc/sys/vm, with Linux's defaults. A limit is either a ratio of the
/// dirtyable memory or a byte count; setting one form sets the other to 0.
/// Linux: the globals of mm/page-writeback.c
public struct DirtyTunables: Equatable, Sendable {
    /// Dirty bytes at which the flusher starts writing back in the background
    /// (0: use `backgroundRatio`). Linux: dirty_background_bytes
    public var backgroundBytes: UInt64 = 0
    /// The same as a percentage of dirtyable memory. Linux: dirty_background_ratio
    public var backgroundRatio: Int32 = 10
    /// Dirty bytes at which a writer is throttled and writes back itself
    /// (0: use `ratio`). Linux: vm_dirty_bytes
    public var bytes: UInt64 = 0
    /// The same as a percentage. Linux: vm_dirty_ratio
    public var ratio: Int32 = 20
    /// Age in centiseconds at which a dirty page is written back by the
    /// flusher's periodic run. Linux: dirty_expire_interval
    public var expireCentisecs: Int32 = 3000
    /// Centiseconds between the flusher's periodic runs; 0 (or less) turns
    /// them off. Linux: dirty_writeback_interval
    public var writebackCentisecs: Int32 = 500

    public init() {}

    /// The text a read of `file` shows; drop_caches (which cannot be opened
    /// for reading) and the reclaim files (not write-back tunables) have none here.
    public func text(_ file: VMSysctlFile) -> String {
        switch file {
        case .dirtyBackgroundBytes: SysctlText.text(backgroundBytes)
        case .dirtyBackgroundRatio: SysctlText.text(Int64(backgroundRatio))
        case .dirtyBytes: SysctlText.text(bytes)
        case .dirtyExpireCentisecs: SysctlText.text(Int64(expireCentisecs))
        case .dirtyRatio: SysctlText.text(Int64(ratio))
        case .dirtyWritebackCentisecs: SysctlText.text(Int64(writebackCentisecs))
        case .dropCaches, .compactMemory, .minFreeKbytes, .swappiness: ""
        }
    }

    /// A write to `file` (not drop_caches: EINVAL) at `offset`; returns the
    /// bytes taken. `dirtyablePages` is the memory the ratios apply to: a
    /// background limit in bytes above it is ERANGE. Linux's handlers act
    /// even on a write past offset 0 that stored nothing, and so does this.
    /// Linux: dirty_background_ratio_handler(), dirty_background_bytes_handler(),
    /// dirty_ratio_handler(), dirty_bytes_handler(), dirty_writeback_centisecs_handler(),
    /// proc_dointvec_minmax() for dirty_expire_centisecs
    public mutating func write(_ file: VMSysctlFile, _ text: UnsafeRawBufferPointer, at offset: Int,
                               dirtyablePages: UInt64, pageSize: UInt64) throws(Errno) -> Int {
        switch file {
        case .dirtyBackgroundRatio:
            let w = try SysctlText.writeInt(text, at: offset, min: 0, max: 100)
            if let value = w.value { backgroundRatio = value }
            backgroundBytes = 0
            return w.taken
        case .dirtyBackgroundBytes:
            let w = try SysctlText.writeUnsignedLong(text, at: offset, min: 1)
            let value = w.value ?? backgroundBytes
            guard value / pageSize + (value % pageSize == 0 ? 0 : 1) <= dirtyablePages else { throw .ERANGE }
            backgroundBytes = value
            backgroundRatio = 0
            return w.taken
        case .dirtyRatio:
            let w = try SysctlText.writeInt(text, at: offset, min: 0, max: 100)
            if let value = w.value, value != ratio {
                ratio = value
                bytes = 0
            }
            return w.taken
        case .dirtyBytes:
            // At least two pages. Linux: dirty_bytes_min
            let w = try SysctlText.writeUnsignedLong(text, at: offset, min: 2 * pageSize)
            if let value = w.value, value != bytes {
                bytes = value
                ratio = 0
            }
            return w.taken
        case .dirtyExpireCentisecs:
            let w = try SysctlText.writeInt(text, at: offset, min: 0)
            if let value = w.value { expireCentisecs = value }
            return w.taken
        case .dirtyWritebackCentisecs:
            let w = try SysctlText.writeInt(text, at: offset)
            if let value = w.value { writebackCentisecs = value }
            return w.taken
        case .dropCaches, .compactMemory, .minFreeKbytes, .swappiness:
            throw .EINVAL
        }
    }
}
