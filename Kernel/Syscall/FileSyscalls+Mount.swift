// mount(2) and umount2(2): putting a file system over a directory and taking
// it away. Keel mounts tmpfs (a new one each time), proc, devtmpfs, sysfs and
// tracefs (one each, shown wherever mounted), and ext2 from a disk node.
// Linux: fs/namespace.c (do_mount → do_new_mount, ksys_umount → do_umount)

extension FileSyscalls {
    /// Linux: MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_SILENT
    static let MS_RDONLY: UInt64 = 1, MS_NOSUID: UInt64 = 2, MS_NODEV: UInt64 = 4, MS_NOEXEC: UInt64 = 8
    static let MS_REMOUNT: UInt64 = 32, MS_BIND: UInt64 = 4096, MS_MOVE: UInt64 = 8192, MS_SILENT: UInt64 = 32768
    /// The flags a new mount may carry (the rest change existing mounts, which Keel does not do).
    static let MS_NEW_MOUNT_FLAGS: UInt64 = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SILENT
        | 0x40 /* MS_SYNCHRONOUS */ | 0x400 /* MS_NOATIME */ | 0x800 /* MS_NODIRATIME */
        | 0x20_0000 /* MS_RELATIME */ | 0x100_0000 /* MS_STRICTATIME */ | 0x8000_0000 /* MS_MGC_VAL's high half */
    /// Linux: MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW
    static let MNT_FORCE = 1, MNT_DETACH = 2, MNT_EXPIRE = 4, UMOUNT_NOFOLLOW = 8

    /// mount(source, target, fstype, flags, data). Linux: SYSCALL_DEFINE5(mount) → path_mount()
    static func mount(_ a: SyscallArgs) throws(Errno) -> Int {
        var flags = a.u64(3)
        if flags & 0xffff_0000 == 0xc0ed_0000 { flags &= 0xffff }      // the old magic in the high half
        let target = try lookup(AT_FDCWD, userPath(a.address(1)), follow: true)
        if flags & (MS_REMOUNT | MS_BIND | MS_MOVE) != 0 { throw .EINVAL }   // changing mounts: not in Keel
        guard flags & ~MS_NEW_MOUNT_FLAGS == 0 else { throw .EINVAL }
        let type = try userPath(a.address(2))
        let source = a.address(0).value == 0 ? "none" : try userPath(a.address(0))
        let data = a.address(4).value == 0 ? "" : try UserCopy.readString(at: a.address(4), maxLength: Int(pageSize) - 1)
        guard target.inode.isDirectory else { throw .ENOTDIR }
        var mount = try makeMount(type: type, source: source, options: data, readOnly: flags & MS_RDONLY != 0)
        var extra: [String] = []
        if flags & MS_NOSUID != 0 { extra.append("nosuid") }
        if flags & MS_NODEV != 0 { extra.append("nodev") }
        if flags & MS_NOEXEC != 0 { extra.append("noexec") }
        if !mount.options.isEmpty { extra.append(mount.options) }
        mount.options = extra.joined(separator: ",")
        mount.covered = target.inode
        mount.path = target.path(below: nil)
        try FS.withTreeLocked { () throws(Errno) in
            // The directory may have lost its name while the file system was made.
            guard target.inode.nlink > 0 else { throw .ENOENT }
            // A file system mounted on its own root (devtmpfs on /dev again). Linux: do_add_mount()
            guard target.inode !== mount.root else { throw .EBUSY }
            FS.mounts.add(mount)
        }
        return 0
    }

    /// The file system `type` names, made (tmpfs) or found (proc, devtmpfs).
    /// ENODEV for a type Keel does not have. Linux: get_fs_type() → vfs_get_tree()
    private static func makeMount(type: String, source: String, options: String, readOnly: Bool) throws(Errno) -> Mount {
        switch type {
        case "tmpfs":
            let parsed = try TmpfsOptions(parsing: options, managedPages: PageAllocator.managedPages)
            var made = FS.makeTmpfs(source: source, options: parsed.description, maxPages: parsed.maxPages,
                                    maxInodes: parsed.maxInodes, readOnly: readOnly,
                                    permissions: parsed.permissions ?? 0o1777).mount
            made.source = source
            return made
        case "proc":
            var made = ProcFS.mount
            made.source = source
            return made
        case "sysfs":
            var made = SysFS.mount
            made.source = source
            return made
        case "tracefs":
            var made = TraceFS.mount
            made.source = source
            return made
        case "devtmpfs":
            var made = DevTmpfs.mount
            made.source = source
            return made
        case "ext2":
            // The source names a disk node: ENOTBLK for anything else, ENXIO
            // for a node with no disk behind it. Linux: lookup_bdev()
            let node = try lookup(AT_FDCWD, source, follow: true).inode
            guard case .blockDevice(let number) = node.kind else { throw .ENOTBLK }
            guard let disk = FS.disk(for: number) else { throw .ENXIO }
            // A disk swapped on is claimed by swap. Linux: the bdev's exclusive holder
            guard !Swap.isSwapDisk(number) else { throw .EBUSY }
            return try FS.withTreeLocked { () throws(Errno) -> Mount in
                try Ext2Mount.mount(disk, number: number, source: source, readOnly: readOnly)
            }
        default:
            throw .ENODEV
        }
    }

    /// umount2(target, flags): the target must be a mount's root (EINVAL
    /// otherwise); nothing may be mounted inside it, nor (without MNT_DETACH)
    /// a file of it be in use (EBUSY). The file system is written out and
    /// marked clean; a tmpfs lives on for whoever still uses it, and a disk's
    /// files used after a MNT_DETACH get EIO. Linux: ksys_umount() → do_umount()
    static func umount2(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = a.int(1)
        guard flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) == 0 else { throw .EINVAL }
        guard flags & MNT_EXPIRE == 0 || flags & (MNT_FORCE | MNT_DETACH) == 0 else { throw .EINVAL }
        let target = try lookup(AT_FDCWD, userPath(a.address(0)), follow: flags & UMOUNT_NOFOLLOW == 0)
        let removed = try FS.withTreeLocked { () throws(Errno) -> Mount in
            guard target.parent != nil || target.inode !== FS.root.inode else { throw .EBUSY }
            let mount = FS.mounts.mounts.last { $0.root === target.inode }
            if flags & MNT_DETACH == 0, mount?.superBlock.operations?.isBusy == true { throw .EBUSY }
            return try FS.mounts.remove(root: target.inode)
        }
        // Still mounted elsewhere (proc, devtmpfs are one each): only sync.
        let stillMounted = FS.mountList().contains { $0.superBlock === removed.superBlock }
        if stillMounted { try removed.superBlock.sync() } else { try removed.superBlock.operations?.unmount() }
        return 0
    }
}
