// The file-system tree every task sees: the mount table and the root, and the
// lock that keeps names still while a path is walked. At boot the root is a
// tmpfs (Linux's rootfs) with the initramfs unpacked into it, devtmpfs on /dev
// and proc on /proc; `root=/dev/vda` makes an ext2 disk the root instead.
//
// The namespace lock: one reader/writer semaphore over every directory's
// entries and the mount table. A path walk holds it for reading (walks on all
// CPUs go on at once); a call that makes, removes or moves a name, or mounts,
// holds it for writing, so nothing changes between Namei's checks and the
// change. Linux splits this into each directory's i_rwsem, rename_lock and
// namespace_sem, and walks paths without locks (RCU); one lock is simpler to
// read and is still many-reader. It comes before a file's i_rwsem and
// mmap_lock (a user copy never runs under it: path names are copied in first).
// Linux: fs/namei.c, fs/namespace.c, init/do_mounts.c, init/initramfs.c

enum FS {
    /// Linux: namespace_sem, and each directory's i_rwsem
    static let lock = RWSemaphore(LockClass("namespace_sem", sleeping: true))
    /// Protected by `lock`.
    nonisolated(unsafe) static var mounts = MountTable()
    /// "/": the root mount's root. Linux: init_task.fs->root
    nonisolated(unsafe) static private(set) var root = Dentry(root: makeTmpfs(source: "rootfs", options: "", typeName: "rootfs",
                                                                                         permissions: 0o755).root)
    /// Where pipes' inodes live; it is never mounted, so no path leads there.
    /// Device 0:12 as on Linux. Linux: pipe_mnt (pipefs)
    static let pipefs = SuperBlock(device: DeviceNumber(major: 0, minor: 12), isReadOnly: false, typeName: "pipefs",
                                   magic: FileSystemMagic.pipefs)
    nonisolated(unsafe) static let pipefsRoot = Dentry(root: pipefs.makeInode(.directory(EmptyDirectory()), permissions: 0o755))

    /// Anonymous device numbers for memory file systems: 0:1 the root, 0:2
    /// proc, then the next free one. Linux: get_anon_bdev()
    nonisolated(unsafe) private static var lastAnonymousMinor: UInt32 = 0
    private static let anonymousLock = SpinLock(LockClass("unnamed_dev_ida"), disablesInterrupts: false)

    static func anonymousDevice() -> DeviceNumber {
        anonymousLock.withLock {
            lastAnonymousMinor += 1
            if lastAnonymousMinor == 12 { lastAnonymousMinor += 1 }    // pipefs's
            return DeviceNumber(major: 0, minor: lastAnonymousMinor)
        }
    }

    /// A new, empty tmpfs. Its size defaults to half of memory, as on Linux, and
    /// so does its inode count. Linux: shmem_fill_super()
    static func makeTmpfs(source: String, options: String, maxPages: Int? = nil, maxInodes: Int? = nil,
                          readOnly: Bool = false, typeName: String = "tmpfs",
                          permissions: UInt32 = 0o1777) -> (root: Inode, mount: Mount) {
        let half = max(PageAllocator.managedPages / 2, 1)
        let fileSystem = RamFileSystem(maxPages: maxPages ?? half, maxInodes: maxInodes ?? half) { fs in RamFile.makeContents(fs) }
        let superBlock = SuperBlock(device: anonymousDevice(), isReadOnly: readOnly, typeName: typeName,
                                    magic: FileSystemMagic.tmpfs, operations: fileSystem)
        let root = superBlock.makeInode(.directory(RamDirectory(fileSystem)), permissions: permissions)
        return (root, Mount(source: source, path: "/", covered: nil, root: root, options: options))
    }

    /// Disk device numbers: virtio-blk's major as Linux usually gives it (a
    /// dynamic one there), 16 minors per disk as Linux reserves them for
    /// partitions. Linux: virtblk major, DISK_MINORS
    static let diskMajor: UInt32 = 254
    static let minorsPerDisk = 16

    /// The disk a block-device number names, nil if none. Linux: blkdev_get_by_dev()
    static func disk(for number: DeviceNumber) -> (any BlockDevice)? {
        let disks = BlockDevices.all, index = Int(number.minor) / minorsPerDisk
        guard number.major == diskMajor, Int(number.minor) % minorsPerDisk == 0, index < disks.count else { return nil }
        return disks[index]
    }

    /// Before the root is mounted: file times come from the wall clock, and
    /// every disk found gets its node in /dev ("vda", ...).
    /// Linux: device_add_disk() → devtmpfs_create_node()
    static func initialize() {
        FileTime.clock = { Int64(truncatingIfNeeded: Clock.realtimeNanoseconds) }
        for (index, disk) in BlockDevices.all.enumerated() {
            DevTmpfs.add(disk.name, .blockDevice(DeviceNumber(major: diskMajor, minor: UInt32(index * minorsPerDisk))),
                         permissions: 0o660)
        }
    }

    /// `root=/dev/vda`: the ext2 file system on that disk is "/", with
    /// devtmpfs on its /dev and proc on its /proc (directories the disk must
    /// have; `make disk` makes them). The initramfs is not unpacked. A root
    /// that cannot be mounted is a panic, as on Linux.
    /// Linux: prepare_namespace() → mount_root() → mount_block_root()
    static func mountDiskRoot(_ path: String, readOnly: Bool) {
        let name = path.hasPrefix("/dev/") ? String(path.dropFirst(5)) : path
        guard let index = BlockDevices.all.firstIndex(where: { $0.name == name }) else {
            Panic.now("VFS: Cannot open root device \"\(name)\": no such disk. Boot with make run DISK=<image>")
        }
        let number = DeviceNumber(major: diskMajor, minor: UInt32(index * minorsPerDisk))
        lock.lockWrite()
        do throws(Errno) {
            var mount = try Ext2Mount.mount(BlockDevices.all[index], number: number, source: "/dev/" + name,
                                            readOnly: readOnly)
            mount.path = "/"
            root = Dentry(root: mount.root)
            mounts.add(mount)
        } catch {
            Panic.now("VFS: Unable to mount root fs on \(name) (\(error.name))")
        }
        for (directory, mounted) in [("dev", DevTmpfs.mount), ("proc", ProcFS.mount), ("sys", SysFS.mount)] {
            do throws(Errno) {
                try mountAt("/" + directory, mounted)
            } catch {
                Log.error("\(mounted.superBlock.typeName): cannot mount on /\(directory) of the root (\(error.name))")
            }
        }
        mountTracefs()
        lock.unlockWrite()
        Log.notice("VFS: Mounted root (ext2 filesystem) \(readOnly ? "readonly" : "read-write") on device \(number.major):\(number.minor).")
    }

    /// The boot-time tree: the root tmpfs, /proc and devtmpfs on /dev, then
    /// the initramfs over it. The other CPUs are idle; nothing else walks yet.
    /// Linux: init_rootfs() + init_mount_tree(), devtmpfs_mount(), populate_rootfs()
    static func mountInitramfs(_ archive: UnsafeRawBufferPointer) {
        lock.lockWrite()
        mounts.add(Mount(source: "rootfs", path: "/", covered: nil, root: root.inode, options: ""))
        do throws(Errno) {
            for (name, mounted) in [("dev", DevTmpfs.mount), ("proc", ProcFS.mount), ("sys", SysFS.mount)] {
                let point = try Namei.create(name, in: root, .directory, permissions: 0o755, as: .root)
                var mount = mounted
                mount.path = "/" + name
                mount.covered = point
                mounts.add(mount)
            }
        } catch {
            Log.error("rootfs: cannot make /dev, /proc and /sys (\(error.name))")
        }
        mountTracefs()
        var unpacker = InitramfsUnpacker(root: root.inode)
        do throws(CpioError) {
            try unpacker.unpack(archive)
        } catch {
            Log.error("initramfs: " + error.description + "; keeping the files before it")
        }
        lock.unlockWrite()
        let stats = unpacker.stats
        Log.notice("initramfs: \(stats.files) files, \(stats.directories) directories, \(stats.bytes) bytes")
        if stats.skipped > 0 { Log.notice("initramfs: skipped \(stats.skipped) entries (see Kernel/Core/FS/Initramfs.swift)") }
    }

    /// Mounts `mounted` on the directory `path` (which exists). Namespace lock held for writing.
    private static func mountAt(_ path: String, _ mounted: Mount) throws(Errno) {
        let point = try PathWalk.resolve(path, root: root, from: root, mounts: mounts)
        guard point.inode.isDirectory else { throw .ENOTDIR }
        var mount = mounted
        mount.path = path
        mount.covered = point.inode
        mounts.add(mount)
    }

    /// tracefs on sysfs's /sys/kernel/tracing, as Linux mounts it there by
    /// itself. Namespace lock held for writing. Linux: tracefs's automount (trace_automount)
    private static func mountTracefs() {
        do throws(Errno) {
            try mountAt(SysFS.tracingPath, TraceFS.mount)
        } catch {
            Log.error("tracefs: cannot mount on \(SysFS.tracingPath) (\(error.name))")
        }
    }

    /// The dentry `path` names, relative paths starting at `start`, ".." stopping
    /// at `root` (the task's, which chroot moves). Linux: filename_lookup()
    static func lookup(_ path: String, root: Dentry, from start: Dentry, followFinalSymlink: Bool = true) throws(Errno) -> Dentry {
        lock.lockRead()
        defer { lock.unlockRead() }
        return try PathWalk.resolve(path, root: root, from: start, mounts: mounts, followFinalSymlink: followFinalSymlink)
    }

    /// Runs `body` with the tree held still for a change (namespace lock for
    /// writing), handing it the parent directory of `path` and the last name
    /// (nil for "/", "." and ".."). Linux: filename_create() / do_unlinkat()'s
    /// filename_parentat() with the parent's i_rwsem
    static func changing<R>(_ path: String, root: Dentry, from start: Dentry,
                            _ body: (Dentry, String?) throws(Errno) -> R) throws(Errno) -> R {
        lock.lockWrite()
        defer { lock.unlockWrite() }
        let (parent, name) = try PathWalk.resolveParent(path, root: root, from: start, mounts: mounts)
        return try body(parent, name)
    }

    /// Runs `body` holding the namespace lock for writing.
    static func withTreeLocked<R>(_ body: () throws(Errno) -> R) throws(Errno) -> R {
        lock.lockWrite()
        defer { lock.unlockWrite() }
        return try body()
    }

    /// Every mount, for /proc/mounts. Linux: m_start() under namespace_sem
    static func mountList() -> [Mount] {
        lock.lockRead()
        defer { lock.unlockRead() }
        return mounts.mounts
    }

    /// Before power-off: every file system, innermost mount first, writes what
    /// it holds and is marked clean, so the next mount (or the host's e2fsck)
    /// finds it consistent. Linux: kernel_power_off() after ksys_sync() and
    /// the umounts of an init system
    static func shutdown() {
        for mount in mountList().reversed() {
            do throws(Errno) {
                try mount.superBlock.operations?.unmount()
            } catch {
                Log.error("umount: \(mount.source) on \(mount.path): \(error.name)")
            }
        }
    }

    /// Writes every file system's dirty data out (each file system's sync).
    /// Linux: ksys_sync() → iterate_supers(sync_fs)
    static func syncAll() {
        for mount in mountList() {
            do throws(Errno) {
                try mount.superBlock.sync()
            } catch {
                Log.error("sync: \(mount.source) on \(mount.path): \(error.name)")
            }
        }
    }
}
