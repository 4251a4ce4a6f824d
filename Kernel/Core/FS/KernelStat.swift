// What stat(2) reports about an inode, and the byte layout x86-64 Linux copies
// to user space: 144 bytes, every field at a fixed offset (struct stat in
// arch/x86/include/uapi/asm/stat.h). Packing it by hand keeps the layout
// independent of how Swift would lay out a struct.

/// Seconds and nanoseconds. Linux: struct timespec64
public struct Timespec: Equatable, Sendable {
    public var seconds: Int64
    public var nanoseconds: Int64

    public init(seconds: Int64, nanoseconds: Int64 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// Linux: struct kstat
public struct KernelStat: Equatable, Sendable {
    public var device: DeviceNumber
    public var ino: UInt64
    public var mode: UInt32
    public var nlink: UInt64
    public var uid: UInt32
    public var gid: UInt32
    public var rdev: DeviceNumber
    public var size: Int64
    /// Preferred I/O size. Linux: blksize (PAGE_SIZE for memory file systems)
    public var blockSize: Int64
    /// 512-byte units allocated. Linux: blocks
    public var blocks: Int64
    public var accessTime: Timespec
    public var modifyTime: Timespec
    public var changeTime: Timespec

    /// sizeof(struct stat) on x86-64.
    public static let byteSize = 144

    /// Writes the x86-64 `struct stat` layout to `buffer` (byteSize bytes). Linux: cp_new_stat()
    public func write(to buffer: UnsafeMutableRawPointer) {
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: Self.byteSize)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        put(device.encoded, 0)          // st_dev
        put(ino, 8)                     // st_ino
        put(nlink, 16)                  // st_nlink
        put(mode, 24)                   // st_mode
        put(uid, 28)                    // st_uid
        put(gid, 32)                    // st_gid; 4 bytes of padding at 36
        put(rdev.encoded, 40)           // st_rdev
        put(size, 48)                   // st_size
        put(blockSize, 56)              // st_blksize
        put(blocks, 64)                 // st_blocks
        put(accessTime.seconds, 72)     // st_atime, st_atime_nsec
        put(accessTime.nanoseconds, 80)
        put(modifyTime.seconds, 88)     // st_mtime, st_mtime_nsec
        put(modifyTime.nanoseconds, 96)
        put(changeTime.seconds, 104)    // st_ctime, st_ctime_nsec
        put(changeTime.nanoseconds, 112) // then 3 unused longs up to 144
    }
}

extension Inode {
    /// Linux: generic_fillattr()
    public func stat() -> KernelStat {
        var rdev = DeviceNumber(major: 0, minor: 0)
        if case .characterDevice(let number) = kind { rdev = number }
        let pageBytes = Int64(pageSize)
        // Memory file systems hold whole pages: i_blocks counts 512-byte sectors of them.
        let pages = (Int64(size) + pageBytes - 1) / pageBytes
        let time = Timespec(seconds: mtime)
        return KernelStat(device: superBlock.device, ino: ino, mode: mode, nlink: UInt64(nlink), uid: uid, gid: gid,
                          rdev: rdev, size: Int64(size), blockSize: pageBytes, blocks: pages * (pageBytes / 512),
                          accessTime: time, modifyTime: time, changeTime: time)
    }
}
