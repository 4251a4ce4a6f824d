// /dev/console: the serial line as a terminal. Writes go to the kernel console
// (serial port and VGA mirror); reads wait for a line typed on the serial port,
// edited and echoed by the line discipline. The port is polled (its interrupt is
// off), so a reader with nothing to read yields the CPU and polls again.
// Linux: drivers/tty/tty_io.c (tty_read, tty_write, tty_ioctl) over n_tty and
// the 8250 serial driver

final class ConsoleDevice: CharacterDevice {
    nonisolated(unsafe) static let shared = ConsoleDevice()

    /// Input typed but not yet read, shared by every reader. Protected by
    /// `readLock`. Linux: tty->disc_data
    private var discipline = LineDiscipline()
    /// Readers on several CPUs take turns at the port and the line discipline;
    /// a sleeping lock, held while the line is copied out (which may fault).
    /// Writers never take it. Linux: tty->atomic_read_lock
    private let readLock = SleepLock(LockClass("&tty->atomic_read_lock", sleeping: true))

    /// Linux: TCGETS, TIOCGWINSZ (include/uapi/asm-generic/ioctls.h)
    static let TCGETS: UInt32 = 0x5401
    static let TIOCGWINSZ: UInt32 = 0x5413
    /// Bytes waiting to be read. Linux: TIOCINQ (FIONREAD)
    static let TIOCINQ: UInt32 = 0x541b

    /// One line at most, waiting for it unless O_NONBLOCK. EINTR when a signal
    /// arrives while waiting. Linux: n_tty_read()
    func read(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        let wanted = buffer.remaining
        guard wanted > 0 else { return 0 }
        while true {
            readLock.lock()
            receivePending()
            if let line = discipline.read(upTo: wanted) {
                defer { readLock.unlock() }
                return try line.withBytes { (bytes) throws(Errno) in try buffer.copyOut(bytes) }
            }
            readLock.unlock()
            if file.flags.contains(.nonBlocking) { throw .EAGAIN }
            if Signals.interrupted(Scheduler.current) { throw .EINTR }
            Scheduler.yield()
        }
    }

    /// Readable once a whole line waits (the port is read now, as a read would).
    /// Linux: n_tty_poll()
    func poll(file: OpenFile) -> PollEvents {
        readLock.withLock { () -> PollEvents in
            receivePending()
            return discipline.hasInput ? [.input, .readNormal, .output, .writeNormal] : [.output, .writeNormal]
        }
    }

    var isPolledByTicks: Bool { true }

    /// Linux: tty_write() → n_tty_write() (ONLCR: Console adds CR before LF)
    func write(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        var chunk = [UInt8](repeating: 0, count: 256)
        var written = 0
        // A fault after the first bytes ends the buffer (a short count); a signal
        // ends a long write, as n_tty_write()'s signal_pending() check does.
        while buffer.remaining > 0 && !(written > 0 && Signals.interrupted(Scheduler.current)) {
            let n = try chunk.withMutableBytes { (bytes) throws(Errno) in try buffer.copyIn(bytes) }
            chunk.withUnsafeBytes { Console.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            written += n
            Scheduler.condResched()
        }
        return written
    }

    /// Linux: tty_ioctl() → n_tty_ioctl_helper() / tty_mode_ioctl()
    func ioctl(_ command: UInt32, argument: VirtAddr, file: OpenFile) throws(Errno) -> Int {
        switch command {
        case Self.TCGETS:
            try Self.copyOut(to: argument, count: Termios.byteSize) { Termios.console.write(to: $0) }
        case Self.TIOCINQ:
            let waiting = readLock.withLock { () -> Int in
                receivePending()
                return discipline.pendingBytes
            }
            try UserCopy.write(Int32(waiting), at: argument)
        case Self.TIOCGWINSZ:
            try Self.copyOut(to: argument, count: WindowSize.byteSize) { WindowSize.console.write(to: $0) }
        default:
            throw .ENOTTY
        }
        return 0
    }

    /// Packs a `count`-byte struct with `fill` and copies it to user space.
    private static func copyOut(to address: VirtAddr, count: Int,
                                _ fill: (UnsafeMutableRawPointer) -> Void) throws(Errno) {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { fill($0.baseAddress!) }
        try bytes.copyOut(to: address)
    }

    /// Feeds every byte waiting at the serial port to the line discipline and
    /// echoes. Linux: the receive interrupt → n_tty_receive_buf()
    private func receivePending() {
        var echo: [UInt8] = []
        while let byte = Serial.read() { discipline.receive(byte, echo: &echo) }
        echo.withUnsafeBytes { Console.write($0) }
    }
}
