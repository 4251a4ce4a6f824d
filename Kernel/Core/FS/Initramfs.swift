// Unpacking the initramfs: each cpio entry becomes an inode under the root, the
// way Linux's unpack_to_rootfs() replays an archive as mkdir/open/symlink/mknod
// calls. File data is not copied; inodes point into the archive (FileData).
// Departures from Linux, both forgiving: a missing parent directory is created
// (mode 0755) instead of failing the entry, and an entry naming ".." or a path
// through a non-directory is skipped. So are entries for a mount point (the
// kernel's /proc) or inside one, and fifos, sockets and block devices, until
// something can use them.

/// What an unpack created, for the boot log.
public struct InitramfsStats: Equatable, Sendable {
    /// Regular files, symlinks and device nodes (each hard link counts once).
    public var files = 0
    public var directories = 0
    /// Bytes of regular-file data.
    public var bytes = 0
    /// Entries left out (see the file comment).
    public var skipped = 0

    public init() {}
}

/// Linux: init/initramfs.c
public struct InitramfsUnpacker {
    public let root: Inode
    public private(set) var stats = InitramfsStats()
    /// Regular files with several links, by (c_devmajor, c_devminor, c_ino). Linux: the
    /// head[] hash of find_link()
    private var hardLinks = HashMap<HardLinkKey, Inode>()

    private struct HardLinkKey: Hashable {
        var devMajor: UInt32, devMinor: UInt32, ino: UInt32
    }

    /// `root` must be a directory backed by a RamDirectory.
    public init(root: Inode) {
        self.root = root
    }

    /// Creates every entry of `archive` up to its trailer. On a malformed archive it
    /// throws the reader's error and keeps what it created before.
    /// Linux: unpack_to_rootfs()
    public mutating func unpack(_ archive: UnsafeRawBufferPointer) throws(CpioError) {
        var reader = CpioReader(archive)
        while let entry = try reader.next() { add(entry) }
    }

    /// One archive member. Linux: do_name() + do_copy() / do_symlink()
    private mutating func add(_ entry: CpioEntry) {
        let names = PathWalk.components(of: String(decoding: entry.path, as: UTF8.self)).filter { $0 != "." }
        guard !names.contains("..") else { stats.skipped += 1; return }
        guard let last = names.last else {               // "." is the root itself
            if entry.fileType == .directory { setAttributes(root, from: entry) } else { stats.skipped += 1 }
            return
        }
        guard let parent = directory(along: names.dropLast(), from: entry), let directory = parent.directory as? RamDirectory
        else { stats.skipped += 1; return }
        let existing = directory.lookup(last)
        if let existing, existing.superBlock !== root.superBlock { stats.skipped += 1; return }   // a mount point
        guard let inode = makeInode(for: entry, existing: existing) else { stats.skipped += 1; return }
        if inode !== existing {
            link(inode, named: last, in: parent)
        } else if !inode.isDirectory {
            inode.nlink -= 1                            // the same hard link listed twice
        }
    }

    /// The inode for an entry: an existing directory reused, a hard link's earlier
    /// inode, or a new one; nil for a skipped type.
    private mutating func makeInode(for entry: CpioEntry, existing: Inode?) -> Inode? {
        guard let type = entry.fileType else { return nil }
        let kind: InodeKind
        switch type {
        case .directory:
            if let existing, existing.isDirectory {       // Linux: mkdir fails with EEXIST, chmod/chown still apply
                setAttributes(existing, from: entry)
                return existing
            }
            kind = .directory(RamDirectory())
            stats.directories += 1
        case .regular:
            let key = HardLinkKey(devMajor: entry.devMajor, devMinor: entry.devMinor, ino: entry.ino)
            if entry.nlink >= 2, let inode = hardLinks[key] {
                // GNU cpio stores a hard-linked file's data with its last name only.
                if entry.size > 0 { inode.kind = .regular(.borrowed(entry.data)); stats.bytes += entry.size }
                inode.nlink += 1
                return inode
            }
            kind = .regular(.borrowed(entry.data))
            stats.files += 1
            stats.bytes += entry.size
        case .symlink:
            kind = .symlink(String(decoding: entry.data, as: UTF8.self))
            stats.files += 1
        case .characterDevice:
            kind = .characterDevice(DeviceNumber(major: entry.rdevMajor, minor: entry.rdevMinor))
            stats.files += 1
        case .fifo, .socket, .blockDevice:
            return nil
        }
        let inode = root.superBlock.makeInode(kind, permissions: entry.permissions)
        setAttributes(inode, from: entry)
        if type == .regular && entry.nlink >= 2 {
            hardLinks[HardLinkKey(devMajor: entry.devMajor, devMinor: entry.devMinor, ino: entry.ino)] = inode
        }
        return inode
    }

    /// Walks (creating) the directories `names` from the root; nil if one of them
    /// exists but is not a directory of the root's file system.
    private mutating func directory(along names: ArraySlice<String>, from entry: CpioEntry) -> Inode? {
        var current = root
        for name in names {
            guard current.superBlock === root.superBlock, let directory = current.directory as? RamDirectory
            else { return nil }
            if let next = directory.lookup(name) {
                current = next
                continue
            }
            let created = root.superBlock.makeInode(.directory(RamDirectory()), permissions: 0o755)
            created.mtime = Int64(entry.mtime)
            link(created, named: name, in: current)
            stats.directories += 1
            current = created
        }
        return current.isDirectory && current.superBlock === root.superBlock ? current : nil
    }

    /// Enters `inode` as `name` in `parent`, replacing (unlinking) what was there,
    /// with Linux's link counts: a subdirectory's ".." adds a link to its parent.
    /// Linux: vfs_link() / vfs_mkdir() after clean_path()
    private func link(_ inode: Inode, named name: String, in parent: Inode) {
        guard let directory = parent.directory as? RamDirectory else { return }
        if let old = directory.insert(name, inode) {
            if old.isDirectory { parent.nlink -= 1 } else { old.nlink -= 1 }
        }
        if inode.isDirectory { parent.nlink += 1 }
    }

    /// Linux: the chmod/chown/utime calls of do_name() and do_dir()
    private func setAttributes(_ inode: Inode, from entry: CpioEntry) {
        inode.permissions = entry.permissions
        inode.uid = entry.uid
        inode.gid = entry.gid
        inode.mtime = Int64(entry.mtime)
    }
}
