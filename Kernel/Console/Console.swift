// The kernel console: every byte goes to the serial port (with CR before LF, as
// Linux's serial console does) and to the VGA text mirror. Every CPU writes to
// it, interrupt handlers too: `lock` keeps one write call's bytes together (a
// log line is never cut by another CPU's) and the VGA cursor consistent. A
// panic report bypasses it, since the panicking CPU may hold it.
// Linux: kernel/printk/printk.c console drivers, the UART's port->lock

enum Console {
    /// The serial port and the VGA cursor. Interrupts off while held (an
    /// interrupt handler may print); innermost but for the scheduler's locks.
    /// Linux: uart_port->lock
    static let lock = SpinLock(LockClass("&port->lock"))

    static func initialize() {
        Serial.initialize()
        VGAText.clear()
    }

    static func write(_ byte: UInt8) {
        withLock { put(byte) }
    }

    /// Runs `body` holding the console (none for a panic report).
    @inline(__always)
    private static func withLock(_ body: () -> Void) {
        if Panic.inProgress { return body() }
        lock.lock()
        body()
        lock.unlock()
    }

    /// One byte out, the lock held.
    private static func put(_ byte: UInt8) {
        if byte == 0x0a { Serial.write(0x0d) }
        Serial.write(byte)
        VGAText.write(byte)
    }

    /// Bytes that stay together on the console.
    static func write(_ bytes: UnsafeRawBufferPointer) {
        withLock { for b in bytes { put(b) } }
    }

    static func write(_ s: StaticString) {
        s.withUTF8Buffer { bytes in withLock { for b in bytes { put(b) } } }
    }

    /// `0x` and the hex digits of `value`, without building a String: for
    /// messages printed with interrupts off, which must not allocate.
    static func write(hex value: UInt64) {
        withLock {
            put(0x30); put(0x78)         // "0x"
            var shift = 60
            while shift > 0 && (value >> UInt64(shift)) & 0xf == 0 { shift -= 4 }
            while shift >= 0 {
                let digit = UInt8((value >> UInt64(shift)) & 0xf)
                put(digit < 10 ? 0x30 + digit : 0x57 + digit)
                shift -= 4
            }
        }
    }

    static func write(_ s: String) {
        var s = s
        s.withUTF8 { bytes in withLock { for b in bytes { put(b) } } }
    }
}

/// The console as a TextSink, so Kernel/Core printers can write to it directly.
struct ConsoleSink: TextSink {
    mutating func write(_ s: StaticString) { Console.write(s) }
    mutating func write(_ s: String) { Console.write(s) }
}

/// Swift's `print` ends here. C: putchar()
@_cdecl("putchar")
func putchar(_ c: CInt) -> CInt {
    Console.write(UInt8(truncatingIfNeeded: c))
    return c
}
