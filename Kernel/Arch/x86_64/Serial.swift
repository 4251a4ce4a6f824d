// The first serial port, COM1: Keel's console on QEMU's stdio.
// Linux: drivers/tty/serial/8250/8250_early.c

/// A polled 16550 UART at I/O port 0x3f8, 115200 baud, 8 data bits, no parity, 1 stop bit.
enum Serial {
    private static let base: UInt16 = 0x3f8
    private static let lineStatus = base + 5
    private static let transmitEmpty: UInt8 = 0x20
    private static let dataReady: UInt8 = 0x01

    static func initialize() {
        outb(base + 1, 0x00)        // no interrupts: the console is polled
        outb(base + 3, 0x80)        // DLAB on: the next two bytes are the divisor
        outb(base + 0, 0x01)        // 115200 / 1
        outb(base + 1, 0x00)
        outb(base + 3, 0x03)        // DLAB off, 8N1
        outb(base + 2, 0xc7)        // FIFO on, cleared, 14-byte threshold
        outb(base + 4, 0x03)        // DTR, RTS
    }

    static func write(_ byte: UInt8) {
        while inb(lineStatus) & transmitEmpty == 0 { cpu_pause() }
        outb(base, byte)
    }

    /// A received byte is waiting.
    static var hasInput: Bool { inb(lineStatus) & dataReady != 0 }

    /// A received byte, if one is waiting.
    static func read() -> UInt8? {
        inb(lineStatus) & dataReady != 0 ? inb(base) : nil
    }
}
