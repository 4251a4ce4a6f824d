// A tmpfs file's bytes: whole pages of memory by index, made when first
// written and charged to the file system's size. A page never written is a
// hole and reads as zeros; truncate gives pages back. The pages are the file's
// own (a mapping of the file copies them on fault until the page cache lands).
//
// Locks: `lock` (a spinlock) protects the page index and the size; readers and
// page faults take only it, for one copy of at most one kernel buffer, so a
// reader never holds it across a user copy. `writeLock` (i_rwsem, sleeping)
// serialises writers and truncate across all their steps, their user copies
// included; the order is i_rwsem, then mmap_lock (a fault in that user copy),
// then `lock`.
// Linux: mm/shmem.c (shmem_file_read_iter, shmem_write_begin/end,
// shmem_setattr, shmem_undo_range, shmem_evict_inode)

import Synchronization

final class RamFile: FileContents, @unchecked Sendable {   // fields under the locks below
    private let fileSystem: RamFileSystem
    /// Protected by `lock`.
    private var pages = PageIndex()
    /// i_size: written under `lock`, read without it for stat and lseek.
    private let length = Atomic<Int>(0)
    /// Linux: shmem_inode_info.lock
    private let lock = SpinLock(RamFile.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&info->lock")
    /// Linux: inode->i_rwsem
    private let writeLock = SleepLock(RamFile.writeLockClass)
    private static let writeLockClass = LockClass("&inode->i_rwsem", sleeping: true)
    /// The largest tmpfs file: 2^43 bytes, far beyond any memory Keel runs in,
    /// and small enough that no offset arithmetic can overflow. Linux: MAX_LFS_FILESIZE
    static let maxSize = 1 << 43

    init(_ fileSystem: RamFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The last reference to the file (its last name, open file or mapping)
    /// gives its pages back. Linux: shmem_evict_inode()
    deinit {
        var freed = 0
        pages.removeAll { frame in
            PageAllocator.free(frame)
            freed += 1
        }
        fileSystem.unchargePages(freed)
    }

    var size: Int { length.load(ordering: .relaxed) }
    var allocatedBytes: Int { lock.withLock { pages.count } * Int(pageSize) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard let target = buffer.baseAddress, offset >= 0 else { return 0 }
        lock.lock()
        defer { lock.unlock() }
        guard offset < size else { return 0 }
        let end = offset + min(buffer.count, size - offset)
        var position = offset
        while position < end {
            let index = UInt64(position) / pageSize, within = position % Int(pageSize)
            let count = min(end - position, Int(pageSize) - within)
            if let frame = pages[index] {
                (target + (position - offset)).copyMemory(from: DirectMap.pointer(frame + UInt64(within), as: UInt8.self),
                                                          byteCount: count)
            } else {
                (target + (position - offset)).initializeMemory(as: UInt8.self, repeating: 0, count: count)
            }
            position += count
        }
        return max(0, end - offset)
    }

    /// Fills pages from `buffer`, making the ones missing. A full file system
    /// (ENOSPC) or memory (ENOMEM) after some bytes gives a short count.
    /// Linux: shmem_write_begin() → shmem_get_folio(SGP_WRITE), then shmem_write_end()
    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard let source = buffer.baseAddress, buffer.count > 0 else { return 0 }
        guard offset >= 0, offset < Self.maxSize else { throw .EFBIG }
        let end = offset + min(buffer.count, Self.maxSize - offset)
        lock.lock()
        defer { lock.unlock() }
        var position = offset
        while position < end {
            let index = UInt64(position) / pageSize, within = position % Int(pageSize)
            let count = min(end - position, Int(pageSize) - within)
            let frame: PhysAddr
            if let existing = pages[index] {
                frame = existing
            } else {
                guard fileSystem.chargePages(1) else { break }
                guard let fresh = PageAllocator.allocate(flags: .zero) else {
                    fileSystem.unchargePages(1)
                    if position == offset { throw .ENOMEM }
                    break
                }
                pages.insert(fresh, at: index)
                frame = fresh
            }
            DirectMap.pointer(frame + UInt64(within), as: UInt8.self).update(
                from: (source + (position - offset)).assumingMemoryBound(to: UInt8.self), count: count)
            position += count
        }
        guard position > offset else { throw .ENOSPC }
        if position > size { length.store(position, ordering: .relaxed) }
        return position - offset
    }

    /// Linux: shmem_fallocate()
    func allocate(offset: Int, length: Int) throws(Errno) {
        guard offset >= 0, length > 0 else { throw .EINVAL }
        guard length <= Self.maxSize - offset else { throw .EFBIG }
        lock.lock()
        defer { lock.unlock() }
        let first = UInt64(offset) / pageSize, end = (UInt64(offset + length) + pageSize - 1) / pageSize
        for index in first..<end where pages[index] == nil {
            guard fileSystem.chargePages(1) else { throw .ENOSPC }
            guard let frame = PageAllocator.allocate(flags: .zero) else {
                fileSystem.unchargePages(1)
                throw .ENOMEM
            }
            pages.insert(frame, at: index)
        }
        if offset + length > size { self.length.store(offset + length, ordering: .relaxed) }
    }

    /// Linux: shmem_setattr() → shmem_truncate_range()
    func truncate(to newSize: Int) throws(Errno) {
        guard newSize >= 0 else { throw .EINVAL }
        guard newSize <= Self.maxSize else { throw .EFBIG }
        lock.lock()
        defer { lock.unlock() }
        if newSize < size {
            // The part of the last page past the new end must read as zeros if the file grows again.
            let within = newSize % Int(pageSize)
            if within != 0, let frame = pages[UInt64(newSize) / pageSize] {
                DirectMap.pointer(frame + UInt64(within), as: UInt8.self).initialize(repeating: 0,
                                                                                     count: Int(pageSize) - within)
            }
            let firstWhole = (UInt64(newSize) + pageSize - 1) / pageSize
            var freed = 0
            pages.removeAll(from: firstWhole) { frame in
                PageAllocator.free(frame)
                freed += 1
            }
            fileSystem.unchargePages(freed)
        }
        length.store(newSize, ordering: .relaxed)
    }

    func lockForWriting() { writeLock.lock() }
    func unlockForWriting() { writeLock.unlock() }
    func sync() throws(Errno) {}
}
