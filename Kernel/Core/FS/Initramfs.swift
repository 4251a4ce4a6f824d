// Unpacking the initramfs: each cpio entry becomes an inode under the root, the
// way Linux's unpack_to_rootfs() replays an archive as mkdir/open/symlink/mknod
// calls through the root's own directory operations, so the files land in the
// root tmpfs's pages and are as writable as any other.
// Departures from Linux, both forgiving: a missing parent directory is created
// (mode 0755) instead of failing the entry, and an entry naming ".." or a path
// through a non-directory is skipped. So are entries for a mount point (the
// kernel's /proc) or inside one, and sockets.

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

    /// `root` must be a directory of a writable file system (tmpfs).
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
        guard let parent = directory(along: names.dropLast(), from: entry), let directory = parent.directory
        else { stats.skipped += 1; return }
        do throws(Errno) {
            if let existing = try directory.lookup(last) {
                if existing.superBlock !== root.superBlock { stats.skipped += 1; return }   // a mount point
                if existing.isDirectory && entry.fileType == .directory {
                    setAttributes(existing, from: entry)        // Linux: mkdir fails with EEXIST, chmod/chown still apply
                    return
                }
                try directory.remove(last, existing, in: parent)    // Linux: clean_path()
            }
            try make(entry, named: last, in: parent)
        } catch {
            stats.skipped += 1
        }
    }

    /// Creates the entry's inode (or another name for a hard link's earlier one).
    private mutating func make(_ entry: CpioEntry, named name: String, in parent: Inode) throws(Errno) {
        guard let type = entry.fileType, let directory = parent.directory else { stats.skipped += 1; return }
        let kind: NewInodeKind
        switch type {
        case .directory: kind = .directory
        case .regular:
            let key = HardLinkKey(devMajor: entry.devMajor, devMinor: entry.devMinor, ino: entry.ino)
            if entry.nlink >= 2, let inode = hardLinks[key] {
                try directory.link(inode, as: name, in: parent)
                // GNU cpio stores a hard-linked file's data with its last name only.
                if entry.size > 0 { try fill(inode, with: entry) }
                return
            }
            kind = .regular
        case .symlink: kind = .symlink(String(decoding: entry.data, as: UTF8.self))
        case .characterDevice: kind = .characterDevice(DeviceNumber(major: entry.rdevMajor, minor: entry.rdevMinor))
        case .blockDevice: kind = .blockDevice(DeviceNumber(major: entry.rdevMajor, minor: entry.rdevMinor))
        case .fifo: kind = .fifo
        case .socket: stats.skipped += 1; return
        }
        let inode = try directory.create(name, kind, permissions: entry.permissions,
                                         owner: Credentials(uid: entry.uid, gid: entry.gid), in: parent)
        setAttributes(inode, from: entry)
        if type == .directory { stats.directories += 1 } else { stats.files += 1 }
        if type == .regular {
            if entry.nlink >= 2 {
                hardLinks[HardLinkKey(devMajor: entry.devMajor, devMinor: entry.devMinor, ino: entry.ino)] = inode
            }
            try fill(inode, with: entry)
        }
    }

    /// Copies the entry's data into the file. Linux: do_copy() → xwrite()
    private mutating func fill(_ inode: Inode, with entry: CpioEntry) throws(Errno) {
        guard let contents = inode.contents, entry.size > 0 else { return }
        try contents.truncate(to: 0)
        let written = try contents.write(from: entry.data, at: 0)
        guard written == entry.size else { throw .ENOSPC }
        stats.bytes += written
        setAttributes(inode, from: entry)               // the write moved mtime
    }

    /// Walks (creating) the directories `names` from the root; nil if one of them
    /// exists but is not a directory of the root's file system.
    private mutating func directory(along names: ArraySlice<String>, from entry: CpioEntry) -> Inode? {
        var current = root
        for name in names {
            guard current.superBlock === root.superBlock, let directory = current.directory else { return nil }
            do throws(Errno) {
                if let next = try directory.lookup(name) {
                    current = next
                    continue
                }
                let created = try directory.create(name, .directory, permissions: 0o755, owner: .root, in: current)
                created.modifyTime = FileTime(seconds: Int64(entry.mtime))
                stats.directories += 1
                current = created
            } catch {
                return nil
            }
        }
        return current.isDirectory && current.superBlock === root.superBlock ? current : nil
    }

    /// Linux: the chmod/chown/utime calls of do_name() and do_dir()
    private func setAttributes(_ inode: Inode, from entry: CpioEntry) {
        inode.permissions = entry.permissions
        inode.setOwner(uid: entry.uid, gid: entry.gid)
        let time = FileTime(seconds: Int64(entry.mtime))
        inode.modifyTime = time
        inode.accessTime = time
        inode.changeTime = time
    }
}
