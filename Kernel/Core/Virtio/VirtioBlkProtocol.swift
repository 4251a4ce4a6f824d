// What a virtio block device understands (virtio 1.2 section 5.2): its
// configuration fields, the request header and status byte, and how a large
// transfer is cut into requests the device accepts. The driver is
// Kernel/Drivers/VirtioBlk.swift. Linux: include/uapi/linux/virtio_blk.h,
// drivers/block/virtio_blk.c

public enum VirtioBlk {
    /// PCI device ID of a modern (virtio 1.x) block device: 0x1040 + device type 2.
    public static let modernDeviceID: UInt16 = 0x1042
    /// The transitional device QEMU offers unless told disable-legacy=on.
    public static let transitionalDeviceID: UInt16 = 0x1001
    public static let vendorID: UInt16 = 0x1af4

    /// Feature bits. Linux: VIRTIO_BLK_F_*
    public static let featureSizeMax: UInt64 = 1 << 1, featureSegMax: UInt64 = 1 << 2
    public static let featureReadOnly: UInt64 = 1 << 5, featureBlockSize: UInt64 = 1 << 6
    public static let featureFlush: UInt64 = 1 << 9

    /// Device configuration offsets. Linux: struct virtio_blk_config
    public static let configCapacity = 0, configSizeMax = 8, configSegMax = 12

    /// Request types. Linux: VIRTIO_BLK_T_IN, _OUT, _FLUSH
    public enum RequestType: UInt32, Sendable { case read = 0, write = 1, flush = 4 }
    /// The status byte the device writes last. Linux: VIRTIO_BLK_S_OK, _IOERR, _UNSUPP
    public static let statusOK: UInt8 = 0, statusIOError: UInt8 = 1, statusUnsupported: UInt8 = 2

    public static let sectorSize = 512
    /// Bytes of the header that starts every request: type, reserved, sector. Linux: struct virtio_blk_outhdr
    public static let headerSize = 16

    /// Writes a request header into `bytes` (16 bytes, little-endian).
    public static func writeHeader(_ type: RequestType, sector: UInt64, to bytes: UnsafeMutableRawPointer) {
        bytes.storeBytes(of: type.rawValue.littleEndian, toByteOffset: 0, as: UInt32.self)
        bytes.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        bytes.storeBytes(of: sector.littleEndian, toByteOffset: 8, as: UInt64.self)
    }
}

/// How much one request may carry. Linux: the queue limits virtblk_probe()
/// sets (max_segments, max_segment_size, max_hw_sectors)
public struct VirtioBlkLimits: Equatable, Sendable {
    /// Data buffers per request: the device's seg_max, and the ring's room
    /// beside the header and status descriptors.
    public let maxSegments: Int
    /// Bytes per data buffer: the device's size_max, else no limit but the request's.
    public let maxSegmentBytes: Int
    /// Bytes per request, a multiple of the sector size.
    public let maxRequestBytes: Int

    /// Keel's own cap on one request (Linux's max_sectors_kb default is 1280 KiB).
    public static let requestCap = 256 * 1024

    /// `segMax`/`sizeMax` are nil when the device did not offer the feature (or said 0).
    public init(queueSize: Int, segMax: UInt32?, sizeMax: UInt32?, pageBytes: Int) {
        let ring = max(1, queueSize - 2)
        maxSegments = min(ring, segMax.map { max(1, Int($0)) } ?? ring)
        // A bounce buffer is a list of single pages: a segment is at least a page
        // long unless the device says less (then a page holds several).
        let sizeLimit = sizeMax.map { max(VirtioBlk.sectorSize, Int($0) & ~(VirtioBlk.sectorSize - 1)) }
        maxSegmentBytes = min(sizeLimit ?? Self.requestCap, Self.requestCap)
        // Bounce pages are split at sizeLimit too, so each page may need several segments.
        let perPage = (pageBytes + maxSegmentBytes - 1) / maxSegmentBytes
        let bySegments = maxSegments / perPage * pageBytes
        maxRequestBytes = max(VirtioBlk.sectorSize, min(Self.requestCap, bySegments))
    }

    /// Cuts the physically contiguous range [address, address + length) into
    /// segments of at most maxSegmentBytes (appended to `into`).
    public func segments(address: UInt64, length: Int, deviceWrites: Bool, into list: inout [VirtqueueBuffer]) {
        var done = 0
        while done < length {
            let n = min(length - done, maxSegmentBytes)
            list.append(VirtqueueBuffer(address: address + UInt64(done), length: UInt32(n), deviceWrites: deviceWrites))
            done += n
        }
    }
}

/// Sizes as Linux's string_get_size() prints them: three significant digits,
/// "1.05 MB", "67.1 MB", "268 MB" (units of 1000) or "64.0 MiB" (1024).
public enum DiskSize {
    public static func describe(bytes: UInt64, binary: Bool) -> String {
        let unitSize: UInt64 = binary ? 1024 : 1000
        let units = binary ? ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] : ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var whole = bytes, remainder: UInt64 = 0, unit = 0
        while whole >= unitSize && unit < units.count - 1 {
            remainder = whole % unitSize
            whole /= unitSize
            unit += 1
        }
        if unit == 0 { return String(whole) + " B" }
        // Three significant digits: the fraction in thousandths, then rounded to what fits.
        var thousandths = remainder * 1000 / unitSize
        let fractionDigits = whole >= 100 ? 0 : whole >= 10 ? 1 : 2
        var scale: UInt64 = 1
        for _ in fractionDigits..<3 { scale *= 10 }
        thousandths = (thousandths + scale / 2) / scale          // rounded to fractionDigits
        var integer = whole
        var limit: UInt64 = 1
        for _ in 0..<fractionDigits { limit *= 10 }
        if thousandths >= limit { integer += 1; thousandths -= limit }
        guard fractionDigits > 0 else { return String(integer) + " " + units[unit] }
        var fraction = String(thousandths)
        while fraction.count < fractionDigits { fraction = "0" + fraction }
        return String(integer) + "." + fraction + " " + units[unit]
    }
}
