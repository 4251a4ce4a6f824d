// Text output without Foundation: Kernel/Core printers (buddyinfo, maps, panic
// reports) write into any TextSink, which is the serial console in the kernel and
// a String in host tests. Formatting helpers mirror printf's %d, %x, %-Ns.

/// Receives formatted text.
public protocol TextSink {
    mutating func write(_ s: StaticString)
    mutating func write(_ s: String)
    /// UTF-8 bytes that are no String yet (Fmt.writeDec's digits): a sink that
    /// keeps bytes takes them as they are; by default they become a String.
    mutating func write(utf8 bytes: UnsafeBufferPointer<UInt8>)
}

extension TextSink {
    public mutating func write(utf8 bytes: UnsafeBufferPointer<UInt8>) { write(String(decoding: bytes, as: UTF8.self)) }
}

/// Counts the bytes of a text without keeping them: how long a part of a
/// /proc file would be (smaps skips what lies before a reader's window).
public struct TextLength: TextSink {
    public private(set) var count = 0
    public init() {}
    public mutating func write(_ s: StaticString) { count += s.utf8CodeUnitCount }
    public mutating func write(_ s: String) { count += s.utf8.count }
    public mutating func write(utf8 bytes: UnsafeBufferPointer<UInt8>) { count += bytes.count }
}

/// One line assembled in a caller's fixed buffer (on the stack), for a printer
/// that pads to a column after a variable-length start (maps' name column).
/// Writing past the buffer is a bug of the caller's sizing: a trap.
struct LineBuffer: TextSink {
    let storage: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(_ storage: UnsafeMutableBufferPointer<UInt8>) { self.storage = storage }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: storage[0..<count]) }

    mutating func write(_ s: StaticString) { s.withUTF8Buffer { write(utf8: $0) } }
    mutating func write(_ s: String) {
        var text = s
        text.withUTF8 { write(utf8: $0) }
    }
    /// One byte (an ASCII character): no String, no copy call.
    mutating func put(_ byte: UInt8) {
        precondition(count < storage.count, "line longer than its buffer")
        storage[count] = byte
        count += 1
    }

    mutating func write(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        precondition(count + bytes.count <= storage.count, "line longer than its buffer")
        guard let from = bytes.baseAddress, let to = storage.baseAddress else { return }
        UnsafeMutableRawPointer(to + count).copyMemory(from: from, byteCount: bytes.count)     // one memmove
        count += bytes.count
    }
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

    /// The caller bounds `capacity` (a read's count): the bytes are reserved
    /// at once, so a text of many small writes never regrows them.
    public init(start: Int, capacity: Int) {
        self.start = start
        self.capacity = capacity
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ s: String) {
        var text = s
        text.withUTF8 { append($0) }
    }
    public mutating func write(_ s: StaticString) { s.withUTF8Buffer { append($0) } }
    public mutating func write(utf8 bytes: UnsafeBufferPointer<UInt8>) { append(bytes) }

    /// The text already runs past the window's end: nothing written from now
    /// on would be kept, and `written` tells the reader there is more (a text
    /// ending exactly at the end does not count), so a printer whose text
    /// costs work (smaps walks page tables) may stop. A window of no bytes
    /// (the probe at open) is full from the start. Linux: seq_has_overflowed()
    public var isFull: Bool { capacity == 0 || written > start + capacity }

    /// Counts `count` bytes of text that lie wholly before the window, without
    /// their bytes: a printer that knows how long a part would be skips
    /// printing it (smaps skips the page walk too).
    public mutating func skip(_ count: Int) {
        precondition(written + count <= start, "skipped text reaches into the window")
        written += count
    }

    private mutating func append(_ utf8: UnsafeBufferPointer<UInt8>) {
        let count = utf8.count
        defer { written += count }
        let end = start + capacity
        guard written + count > start, written < end else { return }
        let from = max(start - written, 0), to = min(end - written, count)
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[from..<to]))
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
        let n = s.utf8.count
        return n >= width ? s : String(repeating: " ", count: width - n) + s
    }
    /// Left-align in `width` columns (printf "%-*s").
    public static func padRight(_ s: String, _ width: Int) -> String {
        let n = s.utf8.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    // The same straight into a sink, with no String made: the long /proc
    // files (maps, smaps: thousands of numbers per read) print with these.

    /// `v` in decimal, right-aligned in `width` columns (printf "%*llu").
    public static func writeDec<Sink: TextSink>(_ v: UInt64, width: Int = 0, to out: inout Sink) {
        writeDigits(width: width, fill: UInt8(ascii: " "), to: &out) { buffer, at in
            var rest = v
            repeat {
                at -= 1
                buffer[at] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
        }
    }

    /// `v` in lower-case hexadecimal, zero-padded to `digits` (printf "%0*llx").
    public static func writeHex<Sink: TextSink>(_ v: UInt64, digits: Int = 0, to out: inout Sink) {
        writeDigits(width: digits, fill: UInt8(ascii: "0"), to: &out) { buffer, at in
            var rest = v
            repeat {
                at -= 1
                let digit = UInt8(truncatingIfNeeded: rest & 0xf)
                buffer[at] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                rest >>= 4
            } while rest > 0
        }
    }

    /// Digits that `digits` writes right to left, ending at the index it is
    /// given (moving it down), filled on the left to `width`, in a buffer on
    /// the stack.
    private static func writeDigits<Sink: TextSink>(
        width: Int, fill: UInt8, to out: inout Sink,
        _ digits: (UnsafeMutableBufferPointer<UInt8>, inout Int) -> Void
    ) {
        let size = max(width, 20)                    // 2^64 has 20 decimal digits
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { buffer in
            var at = size
            digits(buffer, &at)
            while size - at < width {
                at -= 1
                buffer[at] = fill
            }
            out.write(utf8: UnsafeBufferPointer(rebasing: buffer[at..<size]))
        }
    }
}
