// The one file-system tree every task sees: the initramfs unpacked into a
// read-only "rootfs", with /dev/console and /proc in place before the archive
// is unpacked over it. Path lookups for system calls start here.
// Linux: init/do_mounts.c (init_rootfs), init/noinitramfs.c (default_rootfs),
// init/initramfs.c (populate_rootfs), fs/namei.c (the lookup entry points)

enum FS {
    /// The initramfs's file system: read-only until a writable ramfs lands.
    /// Device 0:1, like Linux's first anonymous device. Linux: the rootfs super_block
    static let rootfs = SuperBlock(device: DeviceNumber(major: 0, minor: 1), isReadOnly: true)
    /// "/". Linux: init_task.fs->root
    nonisolated(unsafe) static let root = makeRoot()
    /// Where pipes' inodes live; it is never mounted, so no path leads there.
    /// Device 0:12 as on Linux. Linux: pipe_mnt (pipefs)
    static let pipefs = SuperBlock(device: DeviceNumber(major: 0, minor: 12), isReadOnly: false)
    nonisolated(unsafe) static let pipefsRoot = Dentry(root: pipefs.makeInode(.directory(RamDirectory()), permissions: 0o755))

    /// An empty root with what the kernel itself needs: /dev/console for init's
    /// stdin, stdout and stderr, and /proc. Linux: default_rootfs(), and the proc
    /// mount that Linux leaves to init scripts
    private static func makeRoot() -> Dentry {
        let root = RamDirectory(), dev = RamDirectory()
        let rootInode = rootfs.makeInode(.directory(root), permissions: 0o755)
        let devInode = rootfs.makeInode(.directory(dev), permissions: 0o755)
        dev.insert("console", rootfs.makeInode(.characterDevice(.console), permissions: 0o600))
        dev.insert("tty", rootfs.makeInode(.characterDevice(.tty), permissions: 0o666))
        root.insert("dev", devInode)
        root.insert("proc", ProcFS.root)
        rootInode.nlink += 2
        return Dentry(root: rootInode)
    }

    /// Unpacks the initramfs over the root and logs what it held. A damaged
    /// archive is reported, and what came before the damage is kept.
    /// Linux: populate_rootfs() → unpack_to_rootfs()
    static func mountInitramfs(_ archive: UnsafeRawBufferPointer) {
        var unpacker = InitramfsUnpacker(root: root.inode)
        do throws(CpioError) {
            try unpacker.unpack(archive)
        } catch {
            Log.error("initramfs: " + error.description + "; keeping the files before it")
        }
        let stats = unpacker.stats
        Log.notice("initramfs: \(stats.files) files, \(stats.directories) directories, \(stats.bytes) bytes")
        if stats.skipped > 0 { Log.notice("initramfs: skipped \(stats.skipped) entries (see Kernel/Core/FS/Initramfs.swift)") }
    }

    /// The dentry `path` names, relative paths starting at `start`.
    /// Linux: filename_lookup()
    static func lookup(_ path: String, from start: Dentry, followFinalSymlink: Bool = true) throws(Errno) -> Dentry {
        try PathWalk.resolve(path, root: root, from: start, followFinalSymlink: followFinalSymlink)
    }

    /// The inode `path` names, relative paths starting at the directory `directory`
    /// (nil: the root), for callers that hold an inode rather than a dentry (execve
    /// passes its task's `fs.cwd`).
    static func lookup(_ path: String, relativeTo directory: Inode?) throws(Errno) -> Inode {
        var start = root
        if let directory {
            let pwd = Scheduler.current.fs.pwd
            guard let dentry = pwd.inode === directory ? pwd : self.dentry(of: directory) else { throw .ENOENT }
            start = dentry
        }
        return try lookup(path, from: start).inode
    }

    /// A name for `inode`: the first one a breadth-first search of the rootfs tree
    /// meets (a directory has only one; a hard-linked file several). Keel keeps no
    /// dentry cache, so this searches. Linux: d_find_alias()
    static func dentry(of inode: Inode) -> Dentry? {
        var queue = [root]
        var next = 0
        while next < queue.count {
            let directory = queue[next]
            next += 1
            if directory.inode === inode { return directory }
            guard let entries = directory.inode.directory as? RamDirectory else { continue }
            for entry in entries.entries() {
                guard let child = entries.lookup(entry.name) else { continue }
                if child === inode { return directory.child(entry.name, child) }
                if child.isDirectory { queue.append(directory.child(entry.name, child)) }
            }
        }
        return nil
    }

    /// The absolute path of `inode`, for /proc/<pid>/maps and fault reports.
    /// Linux: d_path(), which prints "(unreachable)" for names outside the root
    static func path(of inode: Inode) -> String {
        dentry(of: inode)?.path ?? "(unreachable)"
    }
}
