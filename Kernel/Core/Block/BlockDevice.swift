// What a disk looks like to the buffer cache: numbered 512-byte sectors that
// can be read and written, several at a time. A driver (virtio-blk) implements
// it in the kernel; the host tests implement it over an image file or memory.

/// Linux: struct block_device with its gendisk's submit_bio()
public protocol BlockDevice: AnyObject {
    /// The disk's name ("vda"). Linux: disk->disk_name
    var name: String { get }
    /// Size in 512-byte sectors. Linux: get_capacity()
    var sectorCount: UInt64 { get }
    /// Reads `buffer.count` bytes (a multiple of 512) starting at `sector`.
    /// Sleeps until the device is done; EIO if it reports an error.
    func read(sector: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno)
    /// Writes `buffer.count` bytes (a multiple of 512) starting at `sector`.
    func write(sector: UInt64, from buffer: UnsafeRawBufferPointer) throws(Errno)
    /// Makes earlier writes durable (virtio VIRTIO_BLK_T_FLUSH). Linux: blkdev_issue_flush()
    func flush() throws(Errno)
    /// Reads (or with `write`, writes) whole 4 KiB pages that lie one after
    /// another on the disk from `sector`, each at its own address in memory:
    /// a driver sends them as one request with a segment per page where the
    /// device allows (a scatter-gather list), so a run of swap slots costs
    /// the disk one trip. Linux: a bio of several bio_vecs (swap writes the
    /// block layer's plug merged, the pages of one swap read-ahead)
    func transferPages(_ pages: UnsafeBufferPointer<UnsafeMutableRawPointer>, sector: UInt64, write: Bool) throws(Errno)
}

extension BlockDevice {
    /// A page at a time, for devices with nothing better (the host tests').
    public func transferPages(_ pages: UnsafeBufferPointer<UnsafeMutableRawPointer>, sector: UInt64,
                              write: Bool) throws(Errno) {
        let sectorsPerPage = UInt64(4096 / 512)
        for (i, page) in pages.enumerated() {
            let at = sector + UInt64(i) * sectorsPerPage
            if write {
                try self.write(sector: at, from: UnsafeRawBufferPointer(start: page, count: 4096))
            } else {
                try read(sector: at, into: UnsafeMutableRawBufferPointer(start: page, count: 4096))
            }
        }
    }
}
