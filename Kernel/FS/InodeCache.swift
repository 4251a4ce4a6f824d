// The inode cache of a disk file system: on-disk inode number → the one Inode
// object that stands for it while it is in use. Its records are objects of
// their own slab cache, "ext2_inode_cache", so /proc/slabinfo shows how many
// inodes are cached, as Linux's does (there the cache holds the inodes
// themselves; Keel's Inode is a Swift object, so the slab holds the record that
// keeps it). Not locked: its owner (the mount's lock) serialises every use.
// Linux: the inode hash (inode_hashtable, find_inode_fast(), insert_inode_locked())

/// One cached inode, in slab memory.
private struct CachedInode {
    var next: UnsafeMutablePointer<CachedInode>?
    var ino: UInt32
    /// The reference the cache holds.
    var inode: Unmanaged<Inode>
}

struct InodeCache {
    private static let bucketCount = 256
    nonisolated(unsafe) private static var slab: KmemCacheRef? = nil
    private var buckets: UnsafeMutablePointer<UnsafeMutablePointer<CachedInode>?>
    private(set) var count = 0

    init() {
        buckets = UnsafeMutablePointer.allocate(capacity: Self.bucketCount)
        buckets.initialize(repeating: nil, count: Self.bucketCount)
    }

    /// Linux: find_inode_fast()
    subscript(ino: UInt32) -> Inode? {
        var node = buckets[Int(ino) % Self.bucketCount]
        while let record = node {
            if record.pointee.ino == ino { return record.pointee.inode.takeUnretainedValue() }
            node = record.pointee.next
        }
        return nil
    }

    /// Caches `inode` as `ino` (which is not cached); ENOMEM without a record.
    /// Linux: insert_inode_locked()
    mutating func insert(_ inode: Inode, as ino: UInt32) throws(Errno) {
        if Self.slab == nil {
            Self.slab = Slab.createCache("ext2_inode_cache", size: MemoryLayout<CachedInode>.stride,
                                         align: MemoryLayout<CachedInode>.alignment)
        }
        guard let slab = Self.slab, let raw = Slab.alloc(slab) else { throw .ENOMEM }
        let record = raw.bindMemory(to: CachedInode.self, capacity: 1)
        let bucket = Int(ino) % Self.bucketCount
        record.initialize(to: CachedInode(next: buckets[bucket], ino: ino, inode: Unmanaged.passRetained(inode)))
        buckets[bucket] = record
        count += 1
    }

    /// Takes `ino` out of the cache, handing back the cache's reference.
    /// Linux: remove_inode_hash()
    mutating func remove(_ ino: UInt32) -> Inode? {
        let bucket = Int(ino) % Self.bucketCount
        var previous: UnsafeMutablePointer<CachedInode>? = nil
        var node = buckets[bucket]
        while let record = node {
            if record.pointee.ino == ino {
                if let previous { previous.pointee.next = record.pointee.next } else { buckets[bucket] = record.pointee.next }
                let inode = record.pointee.inode.takeRetainedValue()
                record.deinitialize(count: 1)
                Slab.free(Self.slab!, UnsafeMutableRawPointer(record))
                count -= 1
                return inode
            }
            previous = record
            node = record.pointee.next
        }
        return nil
    }

    /// Every cached inode number.
    var inodeNumbers: [UInt32] {
        var numbers: [UInt32] = []
        for bucket in 0..<Self.bucketCount {
            var node = buckets[bucket]
            while let record = node {
                numbers.append(record.pointee.ino)
                node = record.pointee.next
            }
        }
        return numbers
    }
}
