// ext2 on a disk, as the VFS sees it: the on-disk work is Kernel/Core/FS/Ext2
// (host-tested); this file gives it inodes, directories and file contents the
// path walk and the system calls use, one lock, and an inode cache.
//
// The inode cache: one Inode object per on-disk inode in use, so that two
// names of one file are the same inode (rename, link and the dentry cache
// compare them by identity). An inode nobody else holds (no open file, name
// in a walk, mapping or cached name) leaves the cache when it grows past its
// limit; one whose last name went away (unlink while open) is freed on the
// disk when its last user lets go, which the cache notices at its next
// operation, at sync and at unmount. Linux: iget_locked(), iput() →
// iput_final() → ext2_evict_inode()
//
// Locking: the mount's `lock` (a sleeping lock) serialises every call into the
// Core file system and the inode cache. It is the innermost sleeping lock: it
// comes after namespace_sem (names), a file's i_rwsem (writers) and mmap_lock
// (a fault reading a mapped file); no user memory is touched under it.
// Linux: ext2 locks per inode (i_rwsem, ei->i_meta_lock), per group
// (sb_bgl_lock) and per buffer; one lock per mount is simpler and correct.

import Synchronization

final class Ext2Mount: FileSystemOperations {
    let fs: Ext2FileSystem
    /// The VFS super block; it owns this object (its `operations`), so this
    /// back reference does not retain it.
    unowned(unsafe) var superBlock: SuperBlock
    private let lock = SleepLock(Ext2Mount.lockClass)
    private static let lockClass = LockClass("&sbi->s_lock", sleeping: true)
    /// Protected by `lock`.
    private var inodes = InodeCache()
    /// Inodes with no names left, to free on the disk once unused. Protected by `lock`.
    private var orphans: [UInt32] = []
    /// Set by umount: a file still open there (umount is lazy) gets EIO from
    /// then on, as after Linux's forced unmount. Protected by `lock`.
    private var isUnmounted = false
    /// Inodes kept without users before unused ones are let go.
    private static let cacheLimit = 1024
    /// Disks holding a mounted ext2, so one is not mounted twice. Protected by FS.lock (written).
    nonisolated(unsafe) private static var mountedDevices: [String] = []

    private init(fs: Ext2FileSystem, superBlock: SuperBlock) {
        self.fs = fs
        self.superBlock = superBlock
    }

    /// Mounts the ext2 on `device`: EBUSY if it is mounted already; EUCLEAN,
    /// EINVAL or EIO (with an "EXT2-fs (vda): error: ..." line) if it cannot
    /// be. Callers hold FS.lock for writing. Linux: ext2_fill_super()
    static func mount(_ device: any BlockDevice, number: DeviceNumber, source: String, readOnly: Bool) throws(Errno) -> Mount {
        guard !mountedDevices.contains(device.name) else { throw .EBUSY }
        let name = device.name
        let fs = try Ext2FileSystem.mount(device: device, readOnly: readOnly, cacheCapacity: 1024,
                                          memory: PageBufferMemory.shared,
                                          clock: { UInt32(truncatingIfNeeded: Clock.realtimeNanoseconds / 1_000_000_000) },
                                          report: { Log.error("EXT2-fs (\(name)): error: " + $0) })
        let placeholder = SuperBlock(device: number, isReadOnly: readOnly, typeName: "ext2", magic: FileSystemMagic.ext2)
        let mount = Ext2Mount(fs: fs, superBlock: placeholder)
        let superBlock = SuperBlock(device: number, isReadOnly: readOnly, typeName: "ext2", magic: FileSystemMagic.ext2,
                                    operations: mount)
        mount.superBlock = superBlock
        let root = try mount.locked { () throws(Errno) -> Inode in try mount.inodeLocked(2) }
        mountedDevices.append(device.name)
        Log.notice("EXT2-fs (\(name)): mounted filesystem \(readOnly ? "read-only" : "read-write"), \(fs.blockSize)-byte blocks")
        return Mount(source: source, path: "/", covered: nil, root: root, options: "")
    }

    /// Runs `body` holding the mount's lock; EIO once unmounted.
    func locked<R>(_ body: () throws(Errno) -> R) throws(Errno) -> R {
        lock.lock()
        defer { lock.unlock() }
        guard !isUnmounted else { throw .EIO }
        return try body()
    }

    /// The Inode for on-disk inode `ino`, from the cache or made from the disk.
    /// `lock` held. Linux: ext2_iget()
    func inodeLocked(_ ino: UInt32) throws(Errno) -> Inode {
        if let cached = inodes[ino] { return cached }
        let disk = try fs.readInode(ino)
        guard let type = disk.fileType else { throw .EUCLEAN }
        let kind: InodeKind
        switch type {
        case .regular: kind = .regular(Ext2File(self, ino))
        case .directory: kind = .directory(CachedDirectory(Ext2Dir(self, ino), in: self))
        case .symlink: kind = .symlink(try fs.readlink(ino))
        case .characterDevice: kind = .characterDevice(disk.deviceNumber)
        case .blockDevice: kind = .blockDevice(disk.deviceNumber)
        case .fifo, .socket: kind = .fifo
        }
        let inode = Inode(ino: UInt64(ino), superBlock: superBlock, kind: kind, permissions: UInt32(disk.mode))
        copyAttributes(disk, to: inode)
        if inodes.count >= Self.cacheLimit { pruneLocked(all: true) }
        try inodes.insert(inode, as: ino)
        return inode
    }

    /// The VFS inode's attributes from the disk's, after a Core call changed them.
    private func copyAttributes(_ disk: Ext2Inode, to inode: Inode) {
        inode.permissions = UInt32(disk.mode) & permissionBitsMask
        inode.setOwner(uid: disk.uid, gid: disk.gid)
        inode.nlink = UInt32(disk.linksCount)
        inode.accessTime = FileTime(seconds: Int64(disk.accessTime))
        inode.modifyTime = FileTime(seconds: Int64(disk.modifyTime))
        inode.changeTime = FileTime(seconds: Int64(disk.changeTime))
        (inode.contents as? Ext2File)?.update(size: Int(disk.size), sectors: Int(disk.sectors))
    }

    /// Reads `ino`'s attributes again if it is cached. `lock` held.
    func refreshLocked(_ ino: UInt32) throws(Errno) {
        guard let inode = inodes[ino] else { return }
        copyAttributes(try fs.readInode(ino), to: inode)
    }

    /// Notes that `ino` lost its last name. `lock` held.
    func orphanLocked(_ ino: UInt32) {
        if let inode = inodes[ino] { inode.nlink = 0 }
        orphans.append(ino)
    }

    /// Lets go of cached inodes nobody else holds: orphans are freed on the
    /// disk; with `all`, every unused inode leaves the cache. `lock` held.
    /// Linux: iput_final() and prune_icache_sb()
    func pruneLocked(all: Bool) {
        let candidates = all ? inodes.inodeNumbers : orphans
        for ino in candidates {
            guard var inode = inodes.remove(ino) else { continue }
            if !isKnownUniquelyReferenced(&inode) {
                // Still in use; putting it back takes the record just freed.
                do throws(Errno) {
                    try inodes.insert(inode, as: ino)
                } catch {
                    Log.error("EXT2-fs: inode \(ino) left the cache while in use (\(error.name))")
                }
                continue
            }
            guard inode.nlink == 0 else { continue }
            orphans.removeAll { $0 == ino }
            do throws(Errno) {
                try fs.evict(ino)
            } catch {
                Log.error("EXT2-fs: cannot free inode \(ino): \(error.name)")
            }
        }
    }

    /// Linux: ext2_statfs()
    func statistics() -> FileSystemStats {
        let stats = fs.statfs()
        var result = FileSystemStats(type: FileSystemMagic.ext2, blockSize: stats.blockSize, blocks: UInt64(stats.blocks),
                                     freeBlocks: UInt64(stats.freeBlocks), availableBlocks: UInt64(stats.availableBlocks),
                                     files: UInt64(stats.inodes), freeFiles: UInt64(stats.freeInodes))
        result.nameMax = stats.nameMax
        return result
    }

    func sync() throws(Errno) {
        try locked { () throws(Errno) in
            pruneLocked(all: false)
            try fs.sync()
        }
    }

    /// Frees what unlinked inodes are no longer used, writes everything and
    /// marks the file system clean. Linux: ext2_put_super()
    func unmount() throws(Errno) {
        DentryCache.forgetAll(of: self)
        try locked { () throws(Errno) in
            pruneLocked(all: false)
            isUnmounted = true
            try fs.unmount()
        }
        Self.mountedDevices.removeAll { $0 == fs.device.name }
    }

    /// Anything but the root still in use (open, a current directory, mapped).
    var isBusy: Bool {
        dropCaches(.slab)
        return lock.withLock { inodes.count > 1 }
    }

    /// drop_caches: the disk's clean cached blocks no one holds (`.pageCache`);
    /// the cached names of this file system, then every inode they and no one
    /// else held (`.slab`; an unlinked one is freed on the disk). Dirty blocks
    /// stay. Linux: drop_pagecache_sb() on the block device's mapping;
    /// super_cache_scan() → prune_dcache_sb(), prune_icache_sb()
    func dropCaches(_ mode: DropCachesMode) {
        if mode.contains(.slab) { DentryCache.forgetAll(of: self) }
        lock.withLock {
            guard !isUnmounted else { return }
            if mode.contains(.pageCache) { fs.cache.dropClean() }
            if mode.contains(.slab) { pruneLocked(all: true) }
        }
    }

    /// Writes the VFS inode's mode, owner and times to the disk (chmod, chown,
    /// utimensat, a write's mtime). Linux: ext2_setattr() / ext2_write_inode()
    func writeAttributes(of inode: Inode) throws(Errno) {
        let ino = UInt32(truncatingIfNeeded: inode.ino)
        try locked { () throws(Errno) in
            let seconds = { (time: FileTime) in UInt32(truncatingIfNeeded: time.timespec.seconds) }
            try fs.setAttributes(ino, Ext2Attributes(mode: inode.permissions, uid: inode.uid, gid: inode.gid,
                                                     accessTime: seconds(inode.accessTime),
                                                     modifyTime: seconds(inode.modifyTime)))
            try refreshLocked(ino)
        }
    }
}

/// A regular file's bytes on the disk. Linux: ext2_file_operations with the
/// address-space operations of fs/ext2/inode.c
final class Ext2File: FileContents, @unchecked Sendable {   // the sizes are atomic
    private let mount: Ext2Mount
    private let ino: UInt32
    /// The disk inode's size and i_blocks as of the last Core call that
    /// changed them (the mount copies them in): stat and lseek read them
    /// without the lock. Linux: i_size, i_blocks in the VFS inode
    private let cachedSize = Atomic<Int>(0)
    private let cachedSectors = Atomic<Int>(0)
    /// Linux: inode->i_rwsem
    private let writeLock = SleepLock(Ext2File.writeLockClass)
    private static let writeLockClass = LockClass("&ext2->i_rwsem", sleeping: true)

    init(_ mount: Ext2Mount, _ ino: UInt32) {
        self.mount = mount
        self.ino = ino
    }

    var size: Int { cachedSize.load(ordering: .relaxed) }
    var allocatedBytes: Int { cachedSectors.load(ordering: .relaxed) * 512 }

    func update(size: Int, sectors: Int) {
        cachedSize.store(size, ordering: .relaxed)
        cachedSectors.store(sectors, ordering: .relaxed)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard offset >= 0 else { return 0 }
        return try mount.locked { () throws(Errno) -> Int in try mount.fs.read(ino, at: UInt64(offset), into: buffer) }
    }

    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard offset >= 0 else { throw .EINVAL }
        return try mount.locked { () throws(Errno) -> Int in
            mount.pruneLocked(all: false)          // an unlinked file's blocks may be free now
            let written = try mount.fs.write(ino, at: UInt64(offset), from: buffer)
            try mount.refreshLocked(ino)
            return written
        }
    }

    func truncate(to size: Int) throws(Errno) {
        guard size >= 0 else { throw .EINVAL }
        try mount.locked { () throws(Errno) in
            try mount.fs.truncate(ino, to: UInt64(size))
            try mount.refreshLocked(ino)
        }
    }

    /// Storage for the range: every block in it that reads as all zeros
    /// (a hole, or zeros on the disk) is written with zeros, which changes no
    /// byte and gives a hole its block. The file grows to cover the range.
    /// Linux: ext2 has no fallocate; this is what glibc's posix_fallocate()
    /// falls back to.
    func allocate(offset: Int, length: Int) throws(Errno) {
        guard offset >= 0, length > 0 else { throw .EINVAL }
        let block = mount.fs.blockSize
        try Slab.withBuffer(bytes: block) { (scratch) throws(Errno) in
            let end = offset + length
            var position = offset / block * block
            while position < end {
                scratch.initializeMemory(as: UInt8.self, repeating: 0)
                let read = try self.read(into: scratch, at: position)
                if !scratch.contains(where: { $0 != 0 }) {
                    let count = max(read, min(block, end - position))
                    let written = try write(from: UnsafeRawBufferPointer(rebasing: scratch[0..<count]), at: position)
                    guard written == count else { throw .ENOSPC }
                }
                position += block
            }
        }
    }

    func lockForWriting() { writeLock.lock() }
    func unlockForWriting() { writeLock.unlock() }

    func sync() throws(Errno) {
        try mount.sync()
    }
}

/// A directory on the disk. Linux: ext2_dir_inode_operations, ext2_dir_operations
final class Ext2Dir: DirectoryOperations {
    private let mount: Ext2Mount
    private let ino: UInt32

    init(_ mount: Ext2Mount, _ ino: UInt32) {
        self.mount = mount
        self.ino = ino
    }

    func lookup(_ name: String) throws(Errno) -> Inode? {
        try mount.locked { () throws(Errno) -> Inode? in
            guard let found = try mount.fs.lookup(ino, name) else { return nil }
            return try mount.inodeLocked(found)
        }
    }

    func entries() throws(Errno) -> [DirectoryEntry] {
        try mount.locked { () throws(Errno) -> [DirectoryEntry] in
            try mount.fs.readDirectory(ino).filter { $0.name != "." && $0.name != ".." }
        }
    }

    func create(_ name: String, _ kind: NewInodeKind, permissions: UInt32, owner: Credentials,
                in directory: Inode) throws(Errno) -> Inode {
        try mount.locked { () throws(Errno) -> Inode in
            mount.pruneLocked(all: false)
            let fs = mount.fs
            let made: UInt32
            switch kind {
            case .directory:
                made = try fs.mkdir(in: ino, name, mode: permissions, uid: owner.uid, gid: owner.gid)
            case .symlink(let target):
                made = try fs.symlink(in: ino, name, target: target, uid: owner.uid, gid: owner.gid)
            case .characterDevice(let number), .blockDevice(let number):
                made = try fs.create(in: ino, name, mode: kind.fileType.rawValue | permissions, device: number,
                                     uid: owner.uid, gid: owner.gid)
            case .regular, .fifo:
                made = try fs.create(in: ino, name, mode: kind.fileType.rawValue | permissions, uid: owner.uid, gid: owner.gid)
            }
            try mount.refreshLocked(ino)
            return try mount.inodeLocked(made)
        }
    }

    func link(_ inode: Inode, as name: String, in directory: Inode) throws(Errno) {
        let target = UInt32(truncatingIfNeeded: inode.ino)
        try mount.locked { () throws(Errno) in
            try mount.fs.link(target, in: ino, name)
            try mount.refreshLocked(target)
            try mount.refreshLocked(ino)
        }
    }

    func remove(_ name: String, _ inode: Inode, in directory: Inode) throws(Errno) {
        let target = UInt32(truncatingIfNeeded: inode.ino)
        try mount.locked { () throws(Errno) in
            if inode.isDirectory {
                try mount.fs.rmdir(in: ino, name)
                mount.orphanLocked(target)
            } else if try mount.fs.unlink(in: ino, name) {
                mount.orphanLocked(target)
            } else {
                try mount.refreshLocked(target)
            }
            try mount.refreshLocked(ino)
            mount.pruneLocked(all: false)
        }
    }

    func rename(_ name: String, _ inode: Inode, in directory: Inode, to newName: String,
                in newDirectory: Inode, replacing replaced: Inode?) throws(Errno) {
        let newParent = UInt32(truncatingIfNeeded: newDirectory.ino)
        try mount.locked { () throws(Errno) in
            let result = try mount.fs.rename(from: ino, name, to: newParent, newName)
            if let gone = result.replaced {
                if result.replacedIsUnlinked { mount.orphanLocked(gone) } else { try mount.refreshLocked(gone) }
            }
            try mount.refreshLocked(UInt32(truncatingIfNeeded: inode.ino))
            try mount.refreshLocked(ino)
            try mount.refreshLocked(newParent)
            mount.pruneLocked(all: false)
        }
    }
}
