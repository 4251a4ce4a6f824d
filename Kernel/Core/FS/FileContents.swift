// Where a regular file's bytes are, whatever file system holds them: tmpfs keeps
// them in pages of memory (Kernel/FS/RamFile.swift), ext2 on a disk. The VFS only
// sees this protocol. Every call copies between the file and a kernel buffer;
// copying to and from user memory happens outside, so a user copy that faults
// never runs under a file system's lock (the fault may need that lock to read
// a mapped file: the order is writer's lock, then mmap_lock, then the contents'
// own lock).

/// Linux: a regular inode's address_space with its file_operations' read_iter,
/// write_iter and the inode's setattr for the size
public protocol FileContents: AnyObject {
    /// Linux: i_size
    var size: Int { get }
    /// Bytes of storage the file holds (st_blocks * 512). Linux: i_blocks << 9
    var allocatedBytes: Int { get }
    /// Copies up to `buffer.count` bytes from `offset` on; 0 at or past the end.
    /// Holes read as zeros. Linux: filemap_read()
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int
    /// Writes `buffer` at `offset`, growing the file; returns how many bytes were
    /// written, short when the file system filled up after some (ENOSPC when
    /// none fit). EFBIG past the largest file. Linux: generic_perform_write()
    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int
    /// Cuts or extends (with a hole) the file to `size` bytes. Linux: the size
    /// part of setattr (truncate_setsize() and the file system's block freeing)
    func truncate(to size: Int) throws(Errno)
    /// Makes sure bytes `offset..<offset+length` have storage, so later writes
    /// there cannot fail for space, growing the file to cover them; existing
    /// bytes are left alone. Linux: fallocate(mode 0)
    func allocate(offset: Int, length: Int) throws(Errno)
    /// Serialises writers of this file: a write, an append's "size then write"
    /// and truncate hold it across all their steps, user copies included.
    /// A reader never takes it. Linux: inode_lock() (i_rwsem held for writing)
    func lockForWriting()
    func unlockForWriting()
    /// Makes the bytes durable. Memory file systems have nothing to do.
    /// Linux: file_operations.fsync
    func sync() throws(Errno)
}
