// Device numbers: which driver (major) and which of its devices (minor). An
// inode of a character device stores one (i_rdev); every inode also reports the
// device of the file system holding it (st_dev), which /proc/<pid>/maps prints.

/// Linux: dev_t with MAJOR(), MINOR(), MKDEV()
public struct DeviceNumber: Hashable, Sendable {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// The 32-bit dev_t mknod(2) takes: minor's low byte, major's 12 bits,
    /// then minor's other 12 bits. Linux: new_decode_dev()
    public init(decoding dev: UInt32) {
        major = (dev & 0xfff00) >> 8
        minor = (dev & 0xff) | ((dev >> 12) & 0xfff00)
    }

    /// The 64-bit encoding stat(2) reports and glibc's makedev() builds: minor's low
    /// byte, then major's low 12 bits, then the rest of minor, then the rest of major.
    /// Linux: new_encode_dev() (equal to it for every major below 4096)
    public var encoded: UInt64 {
        let major = UInt64(major), minor = UInt64(minor)
        return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32)
    }

    /// Linux: the "console" entry of Documentation/admin-guide/devices.txt (char 5, 1)
    public static let console = DeviceNumber(major: 5, minor: 1)
    /// The caller's controlling terminal. Linux: /dev/tty (char 5, 0)
    public static let tty = DeviceNumber(major: 5, minor: 0)
}
