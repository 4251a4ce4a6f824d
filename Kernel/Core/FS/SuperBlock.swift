// One mounted file system: what its inodes have in common. Keel has two, the
// initramfs root ("rootfs", read-only until ramfs can write) and /proc.

import Synchronization

/// Linux: struct super_block
public final class SuperBlock: @unchecked Sendable {    // its one mutable field is atomic
    /// What stat's st_dev and /proc/<pid>/maps show for its files. Keel numbers its
    /// memory file systems like Linux numbers anonymous devices: major 0, small
    /// minors (rootfs 0:1, proc 0:2). Linux: s_dev from get_anon_bdev()
    public let device: DeviceNumber
    /// Writes to its regular files, directories and symlinks fail with EROFS. Linux: SB_RDONLY
    public let isReadOnly: Bool
    /// Inodes are made on several CPUs at once (pipes): one atomic counter.
    /// Linux: the per-CPU batches of get_next_ino()
    private let lastIno = Atomic<UInt64>(0)

    public init(device: DeviceNumber, isReadOnly: Bool) {
        self.device = device
        self.isReadOnly = isReadOnly
    }

    /// A fresh inode number; the first is 1, the root's. Linux: get_next_ino()
    public func nextIno() -> UInt64 {
        lastIno.add(1, ordering: .relaxed).newValue
    }

    /// A new inode of this file system with the next inode number.
    public func makeInode(_ kind: InodeKind, permissions: UInt32) -> Inode {
        Inode(ino: nextIno(), superBlock: self, kind: kind, permissions: permissions)
    }
}
