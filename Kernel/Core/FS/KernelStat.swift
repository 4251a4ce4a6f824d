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

extension KernelStat {
    /// sizeof(struct statx).
    public static let statxByteSize = 256
    /// The fields every statx fills. Linux: STATX_BASIC_STATS (type, mode, nlink,
    /// uid, gid, atime, mtime, ctime, ino, size, blocks)
    public static let statxBasicStats: UInt32 = 0x7ff

    /// Writes `struct statx` (include/uapi/linux/stat.h). Linux: cp_statx()
    public func writeStatx(to buffer: UnsafeMutableRawPointer, mountID: UInt64) {
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: Self.statxByteSize)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        func putTime(_ time: Timespec, _ offset: Int) {
            put(time.seconds, offset)
            put(UInt32(truncatingIfNeeded: time.nanoseconds), offset + 8)
        }
        put(Self.statxBasicStats, 0x00)                  // stx_mask
        put(UInt32(truncatingIfNeeded: blockSize), 0x04) // stx_blksize
        put(UInt32(truncatingIfNeeded: nlink), 0x10)     // stx_nlink
        put(uid, 0x14)
        put(gid, 0x18)
        put(UInt16(truncatingIfNeeded: mode), 0x1c)      // stx_mode
        put(ino, 0x20)
        put(size, 0x28)
        put(blocks, 0x30)
        putTime(accessTime, 0x40)                        // stx_atime; stx_btime at 0x50 stays 0
        putTime(changeTime, 0x60)
        putTime(modifyTime, 0x70)
        put(rdev.major, 0x80)
        put(rdev.minor, 0x84)
        put(device.major, 0x88)
        put(device.minor, 0x8c)
        put(mountID, 0x90)                               // stx_mnt_id
    }
}

extension Inode {
    /// Linux: generic_fillattr()
    public func stat() -> KernelStat {
        let pageBytes = Int64(pageSize)
        // A file's storage in 512-byte sectors: its contents say (whole pages in
        // memory, blocks on a disk).
        let allocated = Int64(contents?.allocatedBytes ?? 0)
        return KernelStat(device: superBlock.device, ino: ino, mode: mode, nlink: UInt64(nlink), uid: uid, gid: gid,
                          rdev: deviceNumber ?? DeviceNumber(major: 0, minor: 0), size: Int64(size),
                          blockSize: pageBytes, blocks: allocated / 512,
                          accessTime: accessTime.timespec, modifyTime: modifyTime.timespec,
                          changeTime: changeTime.timespec)
    }
}
