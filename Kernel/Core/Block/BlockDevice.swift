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
}
