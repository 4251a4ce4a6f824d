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
