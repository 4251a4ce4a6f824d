// The kernel console: every byte goes to the serial port (with CR before LF, as
// Linux's serial console does) and to the VGA text mirror.
// Linux: kernel/printk/printk.c console drivers

enum Console {
    static func initialize() {
        Serial.initialize()
        VGAText.clear()
    }

    static func write(_ byte: UInt8) {
        if byte == 0x0a { Serial.write(0x0d) }
        Serial.write(byte)
        VGAText.write(byte)
    }

    static func write(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { write(b) } }
    }

    /// `0x` and the hex digits of `value`, without building a String: for
    /// messages printed with interrupts off, which must not allocate.
    static func write(hex value: UInt64) {
        write("0x")
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xf == 0 { shift -= 4 }
        while shift >= 0 {
            let digit = UInt8((value >> UInt64(shift)) & 0xf)
            write(digit < 10 ? 0x30 + digit : 0x57 + digit)
            shift -= 4
        }
    }

    static func write(_ s: String) {
        var s = s
        s.withUTF8 { for b in $0 { write(b) } }
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
