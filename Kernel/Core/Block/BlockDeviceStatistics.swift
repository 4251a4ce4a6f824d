// What a disk has done since boot, the counters behind /proc/diskstats.
// Linux: struct disk_stats (block/genhd.c prints it in diskstats_show())

public struct BlockDeviceStatistics: Equatable, Sendable {
    /// Requests completed (a large transfer is several). Linux: ios[STAT_READ], ios[STAT_WRITE], ios[STAT_FLUSH]
    public var readRequests: UInt64 = 0, writeRequests: UInt64 = 0, flushRequests: UInt64 = 0
    /// 512-byte sectors moved. Linux: sectors[STAT_READ], sectors[STAT_WRITE]
    public var sectorsRead: UInt64 = 0, sectorsWritten: UInt64 = 0
    /// Requests the device answered with an error status.
    public var errors: UInt64 = 0
    /// Completion interrupts taken (one may complete several requests).
    public var interrupts: UInt64 = 0
    /// Times a request found the device's queue full and waited for room (Keel's own).
    public var queueFullWaits: UInt64 = 0
    /// Requests handed to the device and not yet completed. Linux: in_flight
    public var inFlight: UInt64 = 0

    public init() {}
}
