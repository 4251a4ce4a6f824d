// One mounted file system: what its inodes have in common. Keel has tmpfs (the
// root, /dev and anything `mount -t tmpfs` makes), proc, ext2 on a disk, and
// pipefs, which is never mounted.

import Synchronization

/// What statfs(2) reports. Linux: struct kstatfs
public struct FileSystemStats: Equatable, Sendable {
    /// Linux: f_type, the file system's magic number
    public var type: UInt64
    /// Linux: f_bsize (and f_frsize)
    public var blockSize: Int
    public var blocks: UInt64
    public var freeBlocks: UInt64
    /// Free blocks an unprivileged user may use. Linux: f_bavail
    public var availableBlocks: UInt64
    public var files: UInt64
    public var freeFiles: UInt64
    /// Linux: f_namelen
    public var nameMax: Int = 255
    /// Linux: f_flags (ST_RDONLY = 1, ...)
    public var flags: UInt64 = 0

    public init(type: UInt64, blockSize: Int, blocks: UInt64, freeBlocks: UInt64, availableBlocks: UInt64,
                files: UInt64, freeFiles: UInt64) {
        self.type = type
        self.blockSize = blockSize
        self.blocks = blocks
        self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks
        self.files = files
        self.freeFiles = freeFiles
    }

    /// sizeof(struct statfs) on x86-64.
    public static let byteSize = 120

    /// Writes the x86-64 `struct statfs` layout; `fsid` is the device. Linux: do_statfs_native()
    public func write(to buffer: UnsafeMutableRawPointer, device: DeviceNumber) {
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: Self.byteSize)
        let fields: [UInt64] = [type, UInt64(blockSize), blocks, freeBlocks, availableBlocks, files, freeFiles,
                                UInt64(truncatingIfNeeded: device.encoded & 0xffff_ffff), UInt64(nameMax),
                                UInt64(blockSize), flags]
        for (i, value) in fields.enumerated() {
            buffer.storeBytes(of: value.littleEndian, toByteOffset: i * 8, as: UInt64.self)
        }
    }
}

/// What a file system does for a whole mount. Linux: struct super_operations
public protocol FileSystemOperations: AnyObject {
    /// Linux: super_operations.statfs
    func statistics() -> FileSystemStats
    /// Writes everything dirty to the disk. Linux: sync_filesystem()
    func sync() throws(Errno)
    /// The last act before power-off or umount: write everything and mark the
    /// file system clean on its disk. Linux: generic_shutdown_super() → put_super()
    func unmount() throws(Errno)
    /// Writes an inode's mode, owner and times, which the VFS just changed
    /// (chmod, chown, utimensat, a write's mtime), to where the file system
    /// keeps them. Linux: super_operations.write_inode / inode_operations.setattr
    func writeAttributes(of inode: Inode) throws(Errno)
    /// Lets go of what the file system keeps in memory for speed and no one
    /// uses, as drop_caches asks: clean cached blocks (`.pageCache`), unused
    /// names and inodes (`.slab`). Dirty data stays. Linux: drop_pagecache_sb(),
    /// and the super block's shrinker super_cache_scan() (prune_dcache_sb(),
    /// prune_icache_sb())
    func dropCaches(_ mode: DropCachesMode)
    /// Files or directories of this file system are in use besides its root:
    /// umount would pull them from under their users. Linux: may_umount_tree()
    var isBusy: Bool { get }
    /// Its own blocks (bitmaps, inode tables, directories) are newer in
    /// memory than on the disk. Linux: the block device inode being dirty
    var hasDirtyMetadata: Bool { get }
    /// Writes those blocks (the flusher's periodic pass; file data is the
    /// page cache's). Linux: write-back of the block device's buffers
    func writeMetadata() throws(Errno)
}

extension FileSystemOperations {
    /// Memory file systems have no metadata apart from memory.
    public var hasDirtyMetadata: Bool { false }
    public func writeMetadata() throws(Errno) {}
}

/// Linux: struct super_block
public final class SuperBlock: @unchecked Sendable {    // its one mutable field is atomic
    /// What stat's st_dev and /proc/<pid>/maps show for its files: the disk for
    /// a disk file system, else an anonymous device (major 0). Linux: s_dev
    public let device: DeviceNumber
    /// Writes to its regular files, directories and symlinks fail with EROFS. Linux: SB_RDONLY
    public let isReadOnly: Bool
    /// The file-system type, as /proc/mounts names it. Linux: s_type->name
    public let typeName: String
    /// Linux: s_magic (TMPFS_MAGIC, PROC_SUPER_MAGIC, EXT2_SUPER_MAGIC)
    public let magic: UInt64
    /// nil for a file system with nothing to report or sync (pipefs).
    public let operations: (any FileSystemOperations)?
    /// chmod and chown fail with EPERM: the modes and owners are computed,
    /// not stored. Linux: proc_setattr()
    public let hasFixedAttributes: Bool
    /// Inodes are made on several CPUs at once (pipes): one atomic counter.
    /// Linux: the per-CPU batches of get_next_ino()
    private let lastIno = Atomic<UInt64>(0)

    public init(device: DeviceNumber, isReadOnly: Bool, typeName: String, magic: UInt64,
                operations: (any FileSystemOperations)? = nil, hasFixedAttributes: Bool = false) {
        self.device = device
        self.hasFixedAttributes = hasFixedAttributes
        self.isReadOnly = isReadOnly
        self.typeName = typeName
        self.magic = magic
        self.operations = operations
    }

    /// A fresh inode number; the first is 1, the root's. Linux: get_next_ino()
    public func nextIno() -> UInt64 {
        lastIno.add(1, ordering: .relaxed).newValue
    }

    /// A new inode of this file system with the next inode number.
    public func makeInode(_ kind: InodeKind, permissions: UInt32) -> Inode {
        Inode(ino: nextIno(), superBlock: self, kind: kind, permissions: permissions)
    }

    /// Linux: vfs_statfs()
    public func statistics() -> FileSystemStats {
        var stats = operations?.statistics()
            ?? FileSystemStats(type: magic, blockSize: 4096, blocks: 0, freeBlocks: 0, availableBlocks: 0,
                               files: 0, freeFiles: 0)
        if isReadOnly { stats.flags |= 1 }   // ST_RDONLY
        return stats
    }

    /// Linux: sync_filesystem()
    public func sync() throws(Errno) {
        try operations?.sync()
    }
}

/// Magic numbers statfs reports. Linux: include/uapi/linux/magic.h
public enum FileSystemMagic {
    public static let tmpfs: UInt64 = 0x0102_1994
    public static let proc: UInt64 = 0x9fa0
    public static let ext2: UInt64 = 0xef53
    public static let pipefs: UInt64 = 0x5049_5045
    public static let sysfs: UInt64 = 0x6265_6572
    public static let tracefs: UInt64 = 0x7472_6163
}
