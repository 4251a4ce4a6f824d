// The terminal's line discipline: what the kernel does with the bytes typed
// before a program reads them. In canonical ("cooked") mode, the default, it
// collects a line while the user types it, echoing characters and handling the
// erase keys, and read(2) returns only once Enter completes the line. With
// ICANON off ("raw", as shells with line editing and full-screen programs set
// it) every byte is readable at once and VMIN/VTIME say how many a read waits
// for. With ISIG, ^C, ^\ and ^Z do not go to the program: the terminal turns
// them into SIGINT, SIGQUIT and SIGTSTP for the foreground process group
// (Kernel/FS/ConsoleDevice.swift sends them).

/// Line editing and input modes for the console. Linux: n_tty (drivers/tty/n_tty.c)
/// with ECHO, ECHOE, ECHOKE, ECHOCTL, ICRNL and ISIG
public struct LineDiscipline {
    /// Longest line; further characters are dropped until Enter. Linux: N_TTY_BUF_SIZE - 1
    public static let maxLineLength = 4095
    /// Most bytes kept in raw mode before further input is dropped. Linux: N_TTY_BUF_SIZE
    public static let maxRawBytes = 4096

    /// A signal a typed character asks for. Linux: n_tty_receive_signal_char()
    public enum SignalRequest: Equatable {
        /// VINTR (^C): SIGINT
        case interrupt
        /// VQUIT (^\): SIGQUIT
        case quit
        /// VSUSP (^Z): SIGTSTP
        case suspend
    }

    /// The modes (tcsetattr). Changing ICANON moves what is waiting between
    /// the line and raw buffers: use `setTermios`.
    public private(set) var termios = Termios.console
    /// The line being typed (canonical mode).
    private var editing: [UInt8] = []
    /// Completed lines not yet read; an empty one is an end of file (^D on an empty line).
    private var completed: [[UInt8]] = []
    /// How much of completed[0] earlier reads took.
    private var readOffset = 0
    /// The bytes of `completed` not read yet.
    private var unreadLineBytes = 0
    /// Bytes typed in raw mode, not yet read.
    private var raw: [UInt8] = []

    public init() {}

    public var isCanonical: Bool { termios.localFlags & Termios.ICANON != 0 }

    /// Bytes a raw read may take now, or whether a canonical read would not block.
    public var hasInput: Bool { isCanonical ? !completed.isEmpty : !raw.isEmpty }
    /// Bytes waiting to be read (FIONREAD).
    public var readableCount: Int {
        isCanonical ? unreadLineBytes : raw.count
    }

    /// New modes. Leaving canonical mode makes the line typed so far readable
    /// as raw bytes; entering it makes waiting raw bytes readable as one line.
    /// Linux: n_tty_set_termios()
    public mutating func setTermios(_ new: Termios) {
        let wasCanonical = isCanonical
        termios = new
        if wasCanonical && !isCanonical {
            if let first = completed.first { completed[0] = Array(first[readOffset...]) }
            raw += completed.flatMap { $0 } + editing
            completed = []
            editing = []
            readOffset = 0
            unreadLineBytes = 0
        } else if !wasCanonical && isCanonical && !raw.isEmpty {
            editing = raw
            raw = []
            completeLine()
        }
    }

    /// Throws away what was typed and not read. Linux: n_tty_flush_buffer() (TCFLSH, TCSETSF)
    public mutating func flushInput() {
        editing = []
        completed = []
        raw = []
        readOffset = 0
        unreadLineBytes = 0
    }

    /// Handles one byte from the keyboard (serial line) and appends to `echo` what
    /// the terminal should show; returns the signal it asks for, if any.
    /// Linux: n_tty_receive_char() and its echo helpers
    @discardableResult
    public mutating func receive(_ byte: UInt8, echo: inout [UInt8]) -> SignalRequest? {
        let cc = termios.controlCharacters
        var byte = byte
        if byte == UInt8(ascii: "\r") && termios.inputFlags & Termios.ICRNL != 0 { byte = UInt8(ascii: "\n") }
        if termios.localFlags & Termios.ISIG != 0 {
            let signal: SignalRequest? = Self.matches(byte, cc[Termios.VINTR]) ? .interrupt
                : Self.matches(byte, cc[Termios.VQUIT]) ? .quit
                : Self.matches(byte, cc[Termios.VSUSP]) ? .suspend : nil
            if let signal {
                flushInput()                                    // Linux: isig() without NOFLSH
                echoCharacter(byte, echo: &echo)
                return signal
            }
        }
        guard isCanonical else {
            if raw.count < Self.maxRawBytes { raw.append(byte) }
            echoCharacter(byte, echo: &echo)
            return nil
        }
        // What waits unread is bounded: beyond it, only the keys that end
        // or edit a line still count. Linux: N_TTY_BUF_SIZE
        let full = readableCount + editing.count >= Self.maxRawBytes
        switch byte {
        case UInt8(ascii: "\n"):
            if full {
                guard !editing.isEmpty else { return nil }
                editing.removeLast()
            }
            editing.append(byte)
            if echoes { echo.append(byte) }
            completeLine()
        case _ where Self.matches(byte, cc[Termios.VEOF]):      // ^D: the line so far, no newline
            completeLine()
        case _ where Self.matches(byte, cc[Termios.VERASE]) || byte == 0x08:     // DEL or ^H: one character
            eraseCharacter(echo: &echo)
        case _ where Self.matches(byte, cc[Termios.VKILL]):     // ^U: the whole line
            while !editing.isEmpty { eraseCharacter(echo: &echo) }
        default:
            guard editing.count < Self.maxLineLength && !full else { return nil }
            editing.append(byte)
            echoCharacter(byte, echo: &echo)
        }
        return nil
    }

    /// Up to `count` bytes of the oldest completed line, never more than one line;
    /// what is left of it stays for the next read. nil when no line is complete;
    /// empty at end of file. In raw mode: up to `count` of the bytes waiting,
    /// nil when there are none. Linux: canon_copy_from_read_buf(), copy_from_read_buf()
    public mutating func read(upTo count: Int) -> [UInt8]? {
        guard isCanonical else {
            guard !raw.isEmpty else { return nil }
            let n = min(count, raw.count)
            defer { raw.removeFirst(n) }
            return Array(raw[0..<n])
        }
        guard count > 0, let line = completed.first else { return completed.isEmpty ? nil : [] }
        let end = min(line.count, readOffset + count)
        let bytes = Array(line[readOffset..<end])
        unreadLineBytes -= end - readOffset
        readOffset = end
        if readOffset == line.count {
            completed.removeFirst()
            readOffset = 0
        }
        return bytes
    }

    private var echoes: Bool { termios.localFlags & Termios.ECHO != 0 }

    /// A control character matches unless disabled (_POSIX_VDISABLE, 0).
    private static func matches(_ byte: UInt8, _ control: UInt8) -> Bool {
        control != 0 && byte == control
    }

    private mutating func completeLine() {
        unreadLineBytes += editing.count
        completed.append(editing)
        editing = []
    }

    /// Echoes a character typed, as ^X for a control character (ECHOCTL).
    private func echoCharacter(_ byte: UInt8, echo: inout [UInt8]) {
        guard echoes else { return }
        if Self.isControl(byte) && byte != UInt8(ascii: "\n") && termios.localFlags & Termios.ECHOCTL != 0 {
            echo.append(UInt8(ascii: "^"))
            echo.append(byte ^ 0x40)
        } else {
            echo.append(byte)
        }
    }

    /// Removes the last character (all bytes of a UTF-8 sequence) and rubs it out
    /// on screen: "\b \b" per column it took. Linux: eraser() with ECHOE
    private mutating func eraseCharacter(echo: inout [UInt8]) {
        guard let last = editing.popLast() else { return }
        var lead = last
        while lead & 0xc0 == 0x80, let previous = editing.popLast() { lead = previous }
        guard echoes else { return }
        let columns = Self.isControl(lead) ? 2 : 1
        for _ in 0..<columns { echo += [0x08, UInt8(ascii: " "), 0x08] }
    }

    /// Characters echoed as ^X: C0 controls other than tab, and DEL.
    private static func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7f
    }
}
