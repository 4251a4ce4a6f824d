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

extension BlockDeviceStatistics {
    /// /sys/block/<disk>/stat: Linux's 17 fields, each right-aligned in 8
    /// columns: read I/Os, read merges, read sectors, read ticks, the same
    /// four for writes, in_flight, io_ticks, time_in_queue, four discard
    /// fields, flush I/Os, flush ticks. Keel merges no requests (a caller
    /// that wants one request makes one, as swap's runs do), keeps no times
    /// and has no discard: those are 0. Linux: part_stat_show()
    public var statLine: String {
        let fields: [UInt64] = [readRequests, 0, sectorsRead, 0, writeRequests, 0, sectorsWritten, 0,
                                inFlight, 0, 0, 0, 0, 0, 0, flushRequests, 0]
        var line = ""
        for (i, value) in fields.enumerated() {
            let digits = String(value)
            if i > 0 { line += " " }
            line += String(repeating: " ", count: max(0, 8 - digits.count)) + digits
        }
        return line + "\n"
    }
}

