// The VGA text screen (80x25 at physical 0xb8000): a mirror of the serial
// console for anyone watching QEMU's window instead of the terminal.

/// Linux: drivers/video/console/vgacon.c (much simplified)
enum VGAText {
    private static let columns = 80
    private static let rows = 25
    private static let attribute: UInt16 = 0x0700      // light grey on black
    nonisolated(unsafe) private static var column = 0
    nonisolated(unsafe) private static var row = 0

    private static var cells: UnsafeMutablePointer<UInt16> {
        UnsafeMutablePointer(bitPattern: UInt(PhysAddr(0xb8000).directMapped.value))!
    }

    static func clear() {
        for i in 0..<(columns * rows) { cells[i] = attribute | 0x20 }
        column = 0
        row = 0
    }

    static func write(_ byte: UInt8) {
        switch byte {
        case 0x0a: newline()
        case 0x0d: column = 0
        default:
            cells[row * columns + column] = attribute | UInt16(byte)
            column += 1
            if column == columns { newline() }
        }
    }

    private static func newline() {
        column = 0
        row += 1
        guard row == rows else { return }
        row = rows - 1
        for i in 0..<(columns * (rows - 1)) { cells[i] = cells[i + columns] }
        for i in 0..<columns { cells[(rows - 1) * columns + i] = attribute | 0x20 }
    }
}
