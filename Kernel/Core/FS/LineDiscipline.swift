// Canonical ("cooked") terminal input: the kernel, not the program, collects a
// line while the user types it, echoing characters and handling erase keys, and
// read(2) returns only once Enter completes the line. Keel's console is always
// in this mode, as a Linux tty is by default.

/// Line editing for the console. Linux: n_tty in canonical mode with ECHO, ECHOE,
/// ECHOKE, ECHOCTL and ICRNL (drivers/tty/n_tty.c)
public struct LineDiscipline {
    /// Longest line; further characters are dropped until Enter. Linux: N_TTY_BUF_SIZE - 1
    public static let maxLineLength = 4095

    /// The line being typed.
    private var editing: [UInt8] = []
    /// Completed lines not yet read; an empty one is an end of file (^D on an empty line).
    private var completed: [[UInt8]] = []
    /// How much of completed[0] earlier reads took.
    private var readOffset = 0

    public init() {}

    /// True when a read would not block.
    public var hasInput: Bool { !completed.isEmpty }
    /// Bytes of whole lines not yet read, what FIONREAD reports. Linux: n_tty's input_available_p() count
    public var pendingBytes: Int { completed.reduce(0) { $0 + $1.count } - readOffset }

    /// Handles one byte from the keyboard (serial line) and appends to `echo` what
    /// the terminal should show. Linux: n_tty_receive_char() and its echo helpers
    public mutating func receive(_ byte: UInt8, echo: inout [UInt8]) {
        let cc = Termios.console.controlCharacters
        switch byte {
        case UInt8(ascii: "\r"), UInt8(ascii: "\n"):            // ICRNL: Enter sends CR
            editing.append(UInt8(ascii: "\n"))
            echo.append(UInt8(ascii: "\n"))
            completeLine()
        case cc[Termios.VEOF]:                                  // ^D: the line so far, no newline
            completeLine()
        case cc[Termios.VERASE], 0x08:                          // DEL or ^H: one character
            eraseCharacter(echo: &echo)
        case cc[Termios.VKILL]:                                 // ^U: the whole line
            while !editing.isEmpty { eraseCharacter(echo: &echo) }
        default:
            guard editing.count < Self.maxLineLength else { return }
            editing.append(byte)
            if Self.isControl(byte) {                           // ECHOCTL: shown as ^X
                echo.append(UInt8(ascii: "^"))
                echo.append(byte ^ 0x40)
            } else {
                echo.append(byte)
            }
        }
    }

    /// Up to `count` bytes of the oldest completed line, never more than one line;
    /// what is left of it stays for the next read. nil when no line is complete;
    /// empty at end of file. Linux: canon_copy_from_read_buf()
    public mutating func read(upTo count: Int) -> [UInt8]? {
        guard count > 0, let line = completed.first else { return completed.isEmpty ? nil : [] }
        let end = min(line.count, readOffset + count)
        let bytes = Array(line[readOffset..<end])
        readOffset = end
        if readOffset == line.count {
            completed.removeFirst()
            readOffset = 0
        }
        return bytes
    }

    private mutating func completeLine() {
        completed.append(editing)
        editing = []
    }

    /// Removes the last character (all bytes of a UTF-8 sequence) and rubs it out
    /// on screen: "\b \b" per column it took. Linux: eraser() with ECHOE
    private mutating func eraseCharacter(echo: inout [UInt8]) {
        guard let last = editing.popLast() else { return }
        var lead = last
        while lead & 0xc0 == 0x80, let previous = editing.popLast() { lead = previous }
        let columns = Self.isControl(lead) ? 2 : 1
        for _ in 0..<columns { echo += [0x08, UInt8(ascii: " "), 0x08] }
    }

    /// Characters echoed as ^X: C0 controls other than tab, and DEL.
    private static func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7f
    }
}
