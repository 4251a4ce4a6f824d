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
    /// Which of read and write would not block now; with a `table`, the
    /// caller (poll, select) also goes on the wait queues a change to that
    /// answer wakes. It runs with the caller marked sleeping: spinlocks and
    /// peeks only, no sleeping lock. Linux: the poll member of file_operations
    func poll(file: OpenFile, table: PollTable?) -> PollEvents
    /// A file of this device is being opened with `flags` (O_NOCTTY among
    /// them); not called for pipe ends. Linux: the open member of file_operations
    func open(file: OpenFile, flags: OpenFlags) throws(Errno)
}

extension CharacterDevice {
    func open(file: OpenFile, flags: OpenFlags) throws(Errno) {}

    /// A driver that never blocks (/dev/null, /dev/zero) need not say so.
    /// Linux: DEFAULT_POLLMASK when f_op->poll is NULL
    func poll(file: OpenFile, table: PollTable?) -> PollEvents { PollEvents.neverBlocks }
}

/// The drivers by device number. Linux: cdev_map and kobj_lookup()
enum CharacterDevices {
    /// nil when no driver has the number: open fails with ENXIO.
    static func driver(for number: DeviceNumber) -> (any CharacterDevice)? {
        switch number.major {
        case 1: MemoryDevice.driver(minor: number.minor)
        case 5 where number == .console: ConsoleDevice.shared
        case 5 where number == .tty: ControllingTerminal.shared
        default: nil
        }
    }
}
