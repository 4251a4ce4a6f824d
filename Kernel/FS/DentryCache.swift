// The dentry cache: names a disk file system's directories were asked for,
// with what they led to, so the next walk through the same name reads no disk.
// An entry is positive (the inode) or negative (the name does not exist: a
// PATH search for a program, or a test for a file, asks for missing names
// again and again). Entries live in their own slab cache, "dentry", so
// /proc/slabinfo shows how many there are; the least recently used goes when
// the cache is full.
//
// A directory of a file system that wants the cache is wrapped in a
// `CachedDirectory`: its lookups ask the cache first, and its changes (create,
// link, remove, rename) forget or replace the names they touch, so the cache
// never disagrees with the disk. tmpfs needs none (its directories are held in
// memory anyway, as Linux's tmpfs lives in its dcache) and /proc must not be
// cached (its names come and go with processes).
//
// Locking: `dcache_lock` (a spinlock, interrupts on) protects the hash chains,
// the LRU list and the count. References to inodes an entry held are dropped
// after it (dropping the last one may free a file's pages).
// Linux: fs/dcache.c (d_lookup, d_add, d_delete, d_drop, the LRU and
// prune_dcache_sb); Linux made dcache_lock finer in 2.6.38.

/// One cached name, in slab memory. Linux: struct dentry
private struct CachedName {
    var hashNext: UnsafeMutablePointer<CachedName>?
    var older: UnsafeMutablePointer<CachedName>?     // toward the LRU tail
    var newer: UnsafeMutablePointer<CachedName>?
    /// The directory it is in (a reference). Linux: d_parent
    var directory: Unmanaged<CachedDirectory>
    /// What it leads to (a reference), nil for a negative entry. Linux: d_inode
    var inode: Unmanaged<Inode>?
    var hash: UInt64
    var length: Int
    /// The name, kept only if it fits. Linux: d_iname[DNAME_INLINE_LEN]
    var bytes: (UInt64, UInt64, UInt64, UInt64)
}

enum DentryCache {
    /// Longest name kept; longer ones are looked up on disk every time.
    /// Linux: DNAME_INLINE_LEN (32 on 64-bit)
    static let inlineNameLength = 32
    private static let bucketCount = 1024
    /// Most entries kept: one per 16 pages of memory (4096 at 256 MiB).
    private static var limit: Int { max(256, PageAllocator.managedPages / 16) }

    private static let lock = SpinLock(LockClass("dcache_lock"), disablesInterrupts: false)
    /// All protected by `lock`.
    nonisolated(unsafe) private static var buckets: UnsafeMutablePointer<UnsafeMutablePointer<CachedName>?>? = nil
    nonisolated(unsafe) private static var newest: UnsafeMutablePointer<CachedName>? = nil
    nonisolated(unsafe) private static var oldest: UnsafeMutablePointer<CachedName>? = nil
    nonisolated(unsafe) private static var entries = 0
    nonisolated(unsafe) private static var negativeEntries = 0
    nonisolated(unsafe) private static var cache: KmemCacheRef? = nil

    /// What the cache knows of `name` in `directory`.
    enum Answer { case unknown, missing, found(Inode) }

    /// Linux: d_lookup()
    static func lookup(_ name: String, in directory: CachedDirectory) -> Answer {
        guard let key = Key(name, directory) else { return .unknown }
        return lock.withLock {
            guard let entry = find(key) else { return .unknown }
            touch(entry)
            guard let inode = entry.pointee.inode else { return .missing }
            return .found(inode.takeUnretainedValue())
        }
    }

    /// Remembers that `name` in `directory` leads to `inode` (nil: to nothing),
    /// replacing what was known. Without memory for an entry it remembers
    /// nothing, which is always correct. Linux: d_add()
    static func remember(_ name: String, in directory: CachedDirectory, _ inode: Inode?) {
        guard let key = Key(name, directory) else { return }
        var dropped: [Unmanaged<AnyObject>] = []
        lock.withLock {
            if let old = find(key) { unlink(old, dropping: &dropped) }
            guard let entry = allocate() else { return }
            entry.initialize(to: CachedName(hashNext: nil, older: nil, newer: nil,
                                            directory: Unmanaged.passRetained(directory),
                                            inode: inode.map { Unmanaged.passRetained($0) }, hash: key.hash,
                                            length: key.length, bytes: key.bytes))
            let bucket = Int(key.hash % UInt64(bucketCount))
            entry.pointee.hashNext = buckets![bucket]
            buckets![bucket] = entry
            entry.pointee.older = newest
            newest?.pointee.newer = entry
            newest = entry
            if oldest == nil { oldest = entry }
            entries += 1
            if inode == nil { negativeEntries += 1 }
            while entries > limit, let victim = oldest { unlink(victim, dropping: &dropped) }
        }
        for reference in dropped { reference.release() }
    }

    /// Forgets `name` in `directory`. Linux: d_drop()
    static func forget(_ name: String, in directory: CachedDirectory) {
        guard let key = Key(name, directory) else { return }
        var dropped: [Unmanaged<AnyObject>] = []
        lock.withLock {
            if let entry = find(key) { unlink(entry, dropping: &dropped) }
        }
        for reference in dropped { reference.release() }
    }

    /// Forgets every name in the directories of `fileSystem` (before it is
    /// unmounted, so the cache holds none of its inodes). Linux: shrink_dcache_for_umount()
    static func forgetAll(of fileSystem: AnyObject) {
        var dropped: [Unmanaged<AnyObject>] = []
        lock.withLock {
            var node = oldest
            while let entry = node {
                node = entry.pointee.newer
                if entry.pointee.directory.takeUnretainedValue().fileSystem === fileSystem {
                    unlink(entry, dropping: &dropped)
                }
            }
        }
        for reference in dropped { reference.release() }
    }

    /// (entries, negative entries), for /proc/sys/fs/dentry-state's first and fifth fields.
    static var counts: (Int, Int) { lock.withLock { (entries, negativeEntries) } }

    /// A name and its directory as the hash chains compare them.
    private struct Key {
        var directory: ObjectIdentifier
        var hash: UInt64
        var length: Int
        var bytes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        init?(_ name: String, _ owner: CachedDirectory) {
            let utf8 = name.utf8
            guard utf8.count <= DentryCache.inlineNameLength else { return nil }
            directory = ObjectIdentifier(owner)
            length = utf8.count
            // FNV-1a over the name, mixed with the directory's address. Linux: full_name_hash()
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(UInt(bitPattern: directory))
            withUnsafeMutableBytes(of: &bytes) { raw in
                for (i, byte) in utf8.enumerated() {
                    raw[i] = byte
                    h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
                }
            }
            hash = h
        }

        func matches(_ entry: UnsafeMutablePointer<CachedName>) -> Bool {
            entry.pointee.hash == hash && entry.pointee.length == length
                && ObjectIdentifier(entry.pointee.directory.takeUnretainedValue()) == directory
                && entry.pointee.bytes == bytes
        }
    }

    private static func find(_ key: Key) -> UnsafeMutablePointer<CachedName>? {
        guard let buckets else { return nil }
        var node = buckets[Int(key.hash % UInt64(bucketCount))]
        while let entry = node {
            if key.matches(entry) { return entry }
            node = entry.pointee.hashNext
        }
        return nil
    }

    /// Moves `entry` to the newest end of the LRU list.
    private static func touch(_ entry: UnsafeMutablePointer<CachedName>) {
        guard newest != entry else { return }
        detachFromLRU(entry)
        entry.pointee.older = newest
        entry.pointee.newer = nil
        newest?.pointee.newer = entry
        newest = entry
        if oldest == nil { oldest = entry }
    }

    private static func detachFromLRU(_ entry: UnsafeMutablePointer<CachedName>) {
        if let newer = entry.pointee.newer { newer.pointee.older = entry.pointee.older } else { newest = entry.pointee.older }
        if let older = entry.pointee.older { older.pointee.newer = entry.pointee.newer } else { oldest = entry.pointee.newer }
    }

    /// Takes `entry` out of its chain and the LRU list and frees it; its
    /// references go to `dropped`, released after the lock.
    private static func unlink(_ entry: UnsafeMutablePointer<CachedName>, dropping dropped: inout [Unmanaged<AnyObject>]) {
        let bucket = Int(entry.pointee.hash % UInt64(bucketCount))
        if buckets![bucket] == entry {
            buckets![bucket] = entry.pointee.hashNext
        } else {
            var node = buckets![bucket]
            while let previous = node, previous.pointee.hashNext != entry { node = previous.pointee.hashNext }
            node?.pointee.hashNext = entry.pointee.hashNext
        }
        detachFromLRU(entry)
        entries -= 1
        dropped.append(Unmanaged.passUnretained(entry.pointee.directory.takeUnretainedValue() as AnyObject))
        if let inode = entry.pointee.inode {
            dropped.append(Unmanaged.passUnretained(inode.takeUnretainedValue() as AnyObject))
        } else {
            negativeEntries -= 1
        }
        entry.deinitialize(count: 1)
        Slab.free(cache!, UnsafeMutableRawPointer(entry))
    }

    /// A slab object for a new entry (the cache and hash table are made on
    /// first use); nil without memory.
    private static func allocate() -> UnsafeMutablePointer<CachedName>? {
        if cache == nil {
            cache = Slab.createCache("dentry", size: MemoryLayout<CachedName>.stride,
                                     align: MemoryLayout<CachedName>.alignment)
        }
        if buckets == nil {
            let table = UnsafeMutablePointer<UnsafeMutablePointer<CachedName>?>.allocate(capacity: bucketCount)
            table.initialize(repeating: nil, count: bucketCount)
            buckets = table
        }
        guard let cache, let raw = Slab.alloc(cache) else { return nil }
        return raw.bindMemory(to: CachedName.self, capacity: 1)
    }
}

/// A directory whose lookups go through the dentry cache. Its changes keep the
/// cache right: a new name replaces a negative entry, a removed one becomes
/// negative, a rename forgets both names.
final class CachedDirectory: DirectoryOperations {
    let directory: any DirectoryOperations
    /// The mounted file system the directory belongs to, for `forgetAll`.
    unowned(unsafe) let fileSystem: AnyObject

    init(_ directory: any DirectoryOperations, in fileSystem: AnyObject) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    func lookup(_ name: String) throws(Errno) -> Inode? {
        switch DentryCache.lookup(name, in: self) {
        case .found(let inode): return inode
        case .missing: return nil
        case .unknown:
            let inode = try directory.lookup(name)
            DentryCache.remember(name, in: self, inode)
            return inode
        }
    }

    func entries() throws(Errno) -> [DirectoryEntry] { try directory.entries() }

    func create(_ name: String, _ kind: NewInodeKind, permissions: UInt32, owner: Credentials,
                in inode: Inode) throws(Errno) -> Inode {
        DentryCache.forget(name, in: self)
        let made = try directory.create(name, kind, permissions: permissions, owner: owner, in: inode)
        DentryCache.remember(name, in: self, made)
        return made
    }

    func link(_ inode: Inode, as name: String, in directoryInode: Inode) throws(Errno) {
        DentryCache.forget(name, in: self)
        try directory.link(inode, as: name, in: directoryInode)
    }

    func remove(_ name: String, _ inode: Inode, in directoryInode: Inode) throws(Errno) {
        DentryCache.forget(name, in: self)
        try directory.remove(name, inode, in: directoryInode)
        DentryCache.remember(name, in: self, nil)
    }

    func rename(_ name: String, _ inode: Inode, in directoryInode: Inode, to newName: String,
                in newDirectory: Inode, replacing replaced: Inode?) throws(Errno) {
        DentryCache.forget(name, in: self)
        if let target = newDirectory.directory as? CachedDirectory { DentryCache.forget(newName, in: target) }
        try directory.rename(name, inode, in: directoryInode, to: newName, in: newDirectory, replacing: replaced)
    }
}
