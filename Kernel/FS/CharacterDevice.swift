// Character devices: an inode of type S_IFCHR holds only a device number; opening
// it finds the driver registered for that number, and the open file's reads,
// writes and ioctls go to the driver. Linux: struct cdev, chrdev_open()
// (fs/char_dev.c), and the file_operations a driver supplies

/// What a driver does for an open device file. Linux: the read/write/unlocked_ioctl
/// members of a driver's file_operations
protocol CharacterDevice: AnyObject {
    func read(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int
    func write(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int
    /// ENOTTY for a command the device does not know. Linux: unlocked_ioctl
    func ioctl(_ command: UInt32, argument: VirtAddr, file: OpenFile) throws(Errno) -> Int
    /// What a read or write would do now without waiting. Linux: file_operations.poll
    func poll(file: OpenFile) -> PollEvents
    /// The device notices new input only when asked (the serial port, whose
    /// interrupt is off): poll looks again every tick instead of waiting for
    /// a wake-up. Linux has no such devices (its serial driver takes interrupts)
    var isPolledByTicks: Bool { get }
}

extension CharacterDevice {
    /// A device that never makes anyone wait. Linux: DEFAULT_POLLMASK
    func poll(file: OpenFile) -> PollEvents { .always }
    var isPolledByTicks: Bool { false }
}

/// The drivers by device number. Linux: cdev_map and kobj_lookup()
enum CharacterDevices {
    /// nil when no driver has the number: open fails with ENXIO.
    static func driver(for number: DeviceNumber) -> (any CharacterDevice)? {
        switch number.major {
        case 1: MemoryDevice.driver(minor: number.minor)
        case 5 where number == .console: ConsoleDevice.shared
        default: nil
        }
    }
}
