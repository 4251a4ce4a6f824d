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
        case .regular: kind = .regular(AddressSpace(Ext2File(self, ino), size: Int(clamping: disk.size)))
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
        // The size is the page cache's (it moves as bytes are copied in);
        // the disk's follows it. Linux: i_size is the VFS inode's
        (inode.mapping?.operations as? Ext2File)?.update(sectors: Int(disk.sectors))
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
    /// disk, their cached pages (dirty ones too) dropped; with `all`, every
    /// other unused inode leaves the cache with its clean pages. An inode
    /// with dirty pages stays until the flusher has written them. `lock` held.
    /// Linux: iput_final() and prune_icache_sb(), evict() → truncate_inode_pages_final()
    func pruneLocked(all: Bool) {
        let candidates = all ? inodes.inodeNumbers : orphans
        for ino in candidates {
            guard var inode = inodes.remove(ino) else { continue }
            let mapping = inode.mapping
            let dirty = inode.nlink > 0 && (mapping?.dirtyCount ?? 0) > 0
            if dirty || !isKnownUniquelyReferenced(&inode) {
                // Still in use; putting it back takes the record just freed.
                do throws(Errno) {
                    try inodes.insert(inode, as: ino)
                } catch {
                    Log.error("EXT2-fs: inode \(ino) left the cache while in use (\(error.name))")
                }
                continue
            }
            (mapping?.operations as? Ext2File)?.isFreed = inode.nlink == 0
            mapping?.evict()
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

    /// The files' dirty pages, then every dirty buffer and the super block.
    /// Linux: sync_filesystem() → sync_inodes_sb() + ext2_sync_fs() + sync_blockdev()
    func sync() throws(Errno) {
        Writeback.writebackAll(of: superBlock)
        try locked { () throws(Errno) in
            pruneLocked(all: false)
            try fs.sync()
        }
    }

    var hasDirtyMetadata: Bool { lock.withLock { !isUnmounted && fs.cache.hasDirtyBuffers } }

    /// The buffers only: the flusher's pass, and fsync after the file's pages.
    func writeMetadata() throws(Errno) {
        try locked { () throws(Errno) in try fs.sync() }
    }

    /// Frees what unlinked inodes are no longer used, writes everything and
    /// marks the file system clean. Files still open there (umount is lazy)
    /// lose their cached pages with the rest. Linux: ext2_put_super()
    func unmount() throws(Errno) {
        Writeback.writebackAll(of: superBlock)
        DentryCache.forgetAll(of: self)
        try locked { () throws(Errno) in
            pruneLocked(all: false)
            for ino in inodes.inodeNumbers { inodes[ino]?.mapping?.evict() }
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

/// What ext2 does for a regular file's page cache: pages read from and
/// written to the file's blocks, blocks found before bytes are dirtied, the
/// size kept in the disk inode. Linux: ext2_aops (fs/ext2/inode.c) and ext2_setsize()
final class Ext2File: AddressSpaceOperations, @unchecked Sendable {   // the sector count is atomic
    private let mount: Ext2Mount
    private let ino: UInt32
    /// i_blocks as of the last Core call that changed it (the mount copies
    /// it in): stat reads it without the lock. Linux: i_blocks in the VFS inode
    private let cachedSectors = Atomic<Int>(0)
    /// Set when the inode is freed on the disk: a write-back still under way
    /// (the flusher held the page cache) must not write into freed blocks.
    /// Protected by the mount's lock.
    var isFreed = false

    init(_ mount: Ext2Mount, _ ino: UInt32) {
        self.mount = mount
        self.ino = ino
    }

    var isShmem: Bool { false }
    var fileSystem: AnyObject { mount }
    var maxSize: Int { Int(clamping: mount.fs.maxFileSize) }
    var allocatedBytes: Int { cachedSectors.load(ordering: .relaxed) * 512 }

    func update(sectors: Int) { cachedSectors.store(sectors, ordering: .relaxed) }

    /// Linux: ext2_read_folio() → mpage_read_folio() over ext2_get_block()
    func readPage(_ index: UInt64, into page: UnsafeMutableRawBufferPointer) throws(Errno) {
        let read = try mount.locked { () throws(Errno) -> Int in
            try mount.fs.read(ino, at: index * pageSize, into: page)
        }
        if read < page.count {
            UnsafeMutableRawBufferPointer(rebasing: page[read...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// The blocks were found when the bytes were dirtied (`reserve`), so this
    /// only copies into their buffers. Linux: ext2_writepages() → mpage_writepages()
    func writePage(_ index: UInt64, from bytes: UnsafeRawBufferPointer) throws(Errno) {
        let written = try mount.locked { () throws(Errno) -> Int in
            guard !isFreed else { return bytes.count }      // the file is gone: nothing to keep
            let written = try mount.fs.write(ino, at: index * pageSize, from: bytes, touchingTimes: false)
            try mount.refreshLocked(ino)
            return written
        }
        guard written == bytes.count else { throw .ENOSPC }
    }

    func reserve(at offset: Int, count: Int) throws(Errno) -> Int {
        guard offset >= 0 else { throw .EINVAL }
        return try mount.locked { () throws(Errno) -> Int in
            mount.pruneLocked(all: false)          // an unlinked file's blocks may be free now
            let room = try mount.fs.reserve(ino, at: UInt64(offset), count: count)
            try mount.refreshLocked(ino)
            return room
        }
    }

    func setStorageSize(_ size: Int) throws(Errno) {
        guard size >= 0 else { throw .EINVAL }
        try mount.locked { () throws(Errno) in
            try mount.fs.truncate(ino, to: UInt64(size))
            try mount.refreshLocked(ino)
        }
    }

    func syncStorage() throws(Errno) { try mount.writeMetadata() }

    /// Disk files are not charged page by page: their room is blocks (`reserve`).
    func chargePage() -> Bool { true }
    func unchargePages(_ count: Int) {}
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

extension Ext2Mount {
    /// Where the first `pages` pages of the regular file `inode` lie on the
    /// disk, for swapon; nil if one of their blocks is a hole, EINVAL for
    /// blocks larger than a page. Linux: generic_swapfile_activate() → bmap()
    func swapExtents(of inode: Inode, pages: Int) throws(Errno) -> SwapExtents? {
        guard fs.blockSize <= Int(pageSize) else { throw .EINVAL }
        return try locked { () throws(Errno) -> SwapExtents? in
            let ino = UInt32(truncatingIfNeeded: inode.ino)
            let disk = try fs.readInode(ino)
            return try SwapExtents.map(pages: pages, blockSize: fs.blockSize) { (block: UInt64) throws(Errno) -> UInt64 in
                UInt64(try fs.mapBlock(disk, ino: ino, block))
            }
        }
    }
}
