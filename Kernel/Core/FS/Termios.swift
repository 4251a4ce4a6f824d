// The terminal settings a program reads with ioctl(TCGETS) (isatty, tcgetattr)
// and the window size it reads with TIOCGWINSZ (stdio's line buffering, `ls`
// columns). Keel's console is a serial line in canonical mode with echo, so it
// reports what Linux reports for its serial console.

/// Linux: struct termios of include/uapi/asm-generic/termbits.h, the 36 bytes TCGETS
/// copies (C libraries' struct termios is larger; the tail is theirs)
public struct Termios: Equatable, Sendable {
    /// Linux: c_iflag, c_oflag, c_cflag, c_lflag (tcflag_t)
    public var inputFlags: UInt32
    public var outputFlags: UInt32
    public var controlFlags: UInt32
    public var localFlags: UInt32
    /// Linux: c_line (N_TTY = 0)
    public var lineDiscipline: UInt8
    /// Linux: c_cc[NCCS], NCCS = 19
    public var controlCharacters: [UInt8]

    public static let byteSize = 36
    public static let controlCharacterCount = 19

    // c_iflag bits
    public static let ICRNL: UInt32 = 0o400
    public static let IXON: UInt32 = 0o2000
    // c_oflag bits
    public static let OPOST: UInt32 = 0o1
    public static let ONLCR: UInt32 = 0o4
    // c_cflag bits
    public static let CS8: UInt32 = 0o60
    public static let CREAD: UInt32 = 0o200
    public static let HUPCL: UInt32 = 0o2000
    public static let CLOCAL: UInt32 = 0o4000
    public static let B115200: UInt32 = 0o10002
    // c_lflag bits
    public static let ISIG: UInt32 = 0o1
    public static let ICANON: UInt32 = 0o2
    public static let ECHO: UInt32 = 0o10
    public static let ECHOE: UInt32 = 0o20
    public static let ECHOK: UInt32 = 0o40
    public static let ECHOCTL: UInt32 = 0o1000
    public static let ECHOKE: UInt32 = 0o4000
    public static let IEXTEN: UInt32 = 0o100000
    /// The c_cc slots the line discipline reads. Linux: VINTR, VQUIT, VERASE,
    /// VKILL, VEOF, VTIME, VMIN, VSUSP
    public static let VINTR = 0, VQUIT = 1, VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6, VSUSP = 10

    public init(inputFlags: UInt32, outputFlags: UInt32, controlFlags: UInt32, localFlags: UInt32,
                lineDiscipline: UInt8, controlCharacters: [UInt8]) {
        self.inputFlags = inputFlags
        self.outputFlags = outputFlags
        self.controlFlags = controlFlags
        self.localFlags = localFlags
        self.lineDiscipline = lineDiscipline
        self.controlCharacters = controlCharacters
    }

    /// Reads the 36-byte kernel layout (TCSETS). Linux: user_termios_to_kernel_termios()
    public init(from buffer: UnsafeRawPointer) {
        inputFlags = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        outputFlags = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        controlFlags = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        localFlags = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        lineDiscipline = buffer.load(fromByteOffset: 16, as: UInt8.self)
        controlCharacters = (0..<Self.controlCharacterCount).map { buffer.load(fromByteOffset: 17 + $0, as: UInt8.self) }
    }

    /// A serial console at 115200 baud 8N1 in canonical mode with echo.
    /// Linux: tty_std_termios (drivers/tty/tty_io.c) with the 8250 console's c_cflag
    public static let console = Termios(
        inputFlags: ICRNL | IXON,
        outputFlags: OPOST | ONLCR,
        controlFlags: B115200 | CS8 | CREAD | HUPCL | CLOCAL,
        localFlags: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
        lineDiscipline: 0,
        // ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, VSWTC 0, ^Q ^S ^Z, VEOL 0, ^R ^O ^W ^V, VEOL2 0. Linux: INIT_C_CC
        controlCharacters: [0o3, 0o34, 0o177, 0o25, 0o4, 0, 1, 0, 0o21, 0o23, 0o32, 0, 0o22, 0o17, 0o27, 0o26, 0, 0, 0])

    /// Writes the 36-byte kernel layout. Linux: kernel_termios_to_user_termios()
    public func write(to buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: inputFlags.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: outputFlags.littleEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: controlFlags.littleEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: localFlags.littleEndian, toByteOffset: 12, as: UInt32.self)
        buffer.storeBytes(of: lineDiscipline, toByteOffset: 16, as: UInt8.self)
        for i in 0..<Self.controlCharacterCount {
            let c: UInt8 = i < controlCharacters.count ? controlCharacters[i] : 0
            buffer.storeBytes(of: c, toByteOffset: 17 + i, as: UInt8.self)
        }
    }
}

/// Linux: struct winsize (TIOCGWINSZ)
public struct WindowSize: Equatable, Sendable {
    public var rows: UInt16
    public var columns: UInt16

    public init(rows: UInt16, columns: UInt16) {
        self.rows = rows
        self.columns = columns
    }

    public static let byteSize = 8
    /// The VGA text screen Keel mirrors the console to.
    public static let console = WindowSize(rows: 25, columns: 80)

    /// ws_row, ws_col, ws_xpixel = 0, ws_ypixel = 0.
    public func write(to buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: rows.littleEndian, toByteOffset: 0, as: UInt16.self)
        buffer.storeBytes(of: columns.littleEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: UInt16(0), toByteOffset: 4, as: UInt16.self)
        buffer.storeBytes(of: UInt16(0), toByteOffset: 6, as: UInt16.self)
    }
}
