// Text output without Foundation: Kernel/Core printers (buddyinfo, maps, panic
// reports) write into any TextSink, which is the serial console in the kernel and
// a String in host tests. Formatting helpers mirror printf's %d, %x, %-Ns.

/// Receives formatted text.
public protocol TextSink {
    mutating func write(_ s: StaticString)
    mutating func write(_ s: String)
}

extension String: TextSink {
    public mutating func write(_ s: StaticString) {
        s.withUTF8Buffer { self += String(decoding: $0, as: UTF8.self) }
    }
    public mutating func write(_ s: String) { self += s }
}

/// The part [start, start + capacity) of a text, kept as the text is written;
/// the rest is only counted. A /proc file is printed again for every read(),
/// and only the bytes that read asked for are kept, so no file, however long
/// (the maps of a process with 65530 regions run to megabytes), ever needs its
/// whole text in kernel memory. Linux: the seq_file buffer, refilled per read
public struct TextWindow: TextSink {
    public let start: Int
    public let capacity: Int
    /// The window's bytes, as far as the text reached into it.
    public private(set) var bytes: [UInt8] = []
    /// Bytes written so far, kept or not.
    public private(set) var written = 0

    public init(start: Int, capacity: Int) {
        self.start = start
        self.capacity = capacity
    }

    public mutating func write(_ s: String) { append(s.utf8) }
    public mutating func write(_ s: StaticString) { s.withUTF8Buffer { append($0) } }

    private mutating func append<C: Collection>(_ utf8: C) where C.Element == UInt8 {
        let count = utf8.count
        defer { written += count }
        let end = start + capacity
        guard written + count > start, written < end else { return }
        let from = max(start - written, 0), to = min(end - written, count)
        bytes.append(contentsOf: utf8.dropFirst(from).prefix(to - from))
    }
}

/// printf-like formatting of integers, used by every Linux-format printer.
public enum Fmt {
    /// Decimal, right-aligned in `width` columns (printf "%*d").
    public static func dec<T: BinaryInteger>(_ v: T, width: Int = 0) -> String {
        pad(String(v), width)
    }
    /// Lower-case hexadecimal, zero-padded to `digits` (printf "%0*lx").
    public static func hex<T: BinaryInteger>(_ v: T, digits: Int = 0) -> String {
        var s = String(v, radix: 16)
        while s.count < digits { s = "0" + s }
        return s
    }
    /// Right-align in `width` columns (printf "%*s").
    public static func pad(_ s: String, _ width: Int) -> String {
        var out = ""
        var n = s.utf8.count
        while n < width { out += " "; n += 1 }
        return out + s
    }
    /// Left-align in `width` columns (printf "%-*s").
    public static func padRight(_ s: String, _ width: Int) -> String {
        var out = s
        var n = s.utf8.count
        while n < width { out += " "; n += 1 }
        return out
    }
}
