// The name operations the VFS calls: create, mkdir, symlink, link, unlink,
// rmdir, rename, readlink. Each changes directory records (Ext2Directory),
// link counts and, for a new inode, the bitmaps (Ext2Allocation).
//
// Link counts as Linux keeps them: a file counts its names; a directory
// counts its name in the parent, its own "." and the ".." of each
// subdirectory. So mkdir adds one link to the parent, rmdir takes it away,
// and moving a directory to another parent moves that link along.
//
// Removing the last name does not free the inode: an open file lives on
// until the VFS calls `evict` at its last close (Linux: iput() with i_nlink 0).
// The VFS checks permissions and Linux's rename rules that need the dentry
// tree (EINVAL for a directory moved into its own subtree, EBUSY for mount
// points); this file checks what it can see on disk.

/// What rename did to an existing target. Linux: the new_inode of ext2_rename()
public struct Ext2RenameResult: Equatable {
    /// The inode the new name led to before, nil if the name was free.
    public var replaced: UInt32?
    /// The replaced inode has no names left: the VFS evicts it when unused.
    public var replacedIsUnlinked: Bool
}

extension Ext2FileSystem {
    /// EINVAL for an empty name or one with "/" or NUL, ENAMETOOLONG past 255 bytes.
    private func checkName(_ name: String) throws(Errno) {
        let length = name.utf8.count
        guard length > 0 else { throw .ENOENT }
        guard length <= Ext2DirectoryEntry.maxNameLength else { throw .ENAMETOOLONG }
        for byte in name.utf8 where byte == 0 || byte == UInt8(ascii: "/") { throw .EINVAL }
    }

    /// A directory about to get a new name: writable, a live directory, the name free.
    private func prepareNewName(in dir: UInt32, _ name: String) throws(Errno) -> Ext2Inode {
        try requireWritable()
        try checkName(name)
        let inode = try readDirectoryInode(dir)
        guard inode.linksCount > 0 else { throw .ENOENT }   // removed while a process is in it
        if try findEntry(inode, dir: dir, name) != nil { throw .EEXIST }
        return inode
    }

    /// A new inode's common fields.
    private func newInode(mode: UInt32, uid: UInt32, gid: UInt32) -> Ext2Inode {
        var inode = Ext2Inode()
        inode.mode = UInt16(truncatingIfNeeded: mode)
        inode.uid = uid
        inode.gid = gid
        inode.linksCount = 1
        let now = clock()
        inode.accessTime = now
        inode.changeTime = now
        inode.modifyTime = now
        return inode
    }

    /// Gives a just-allocated inode back after a later step failed: its blocks,
    /// its record (no links, a deletion time: e2fsck counts an inode with links
    /// as in use whatever the bitmap says) and its bitmap bit.
    private func discardNewInode(_ ino: UInt32, _ inode: inout Ext2Inode) throws(Errno) {
        if hasBlockMap(inode) { try freeBlocks(of: &inode, from: 0) }
        inode.linksCount = 0
        inode.size = 0
        inode.deleteTime = Swift.max(clock(), 1)
        try writeNewInode(ino, inode)
        try freeInode(ino, wasDirectory: inode.isDirectory)
    }

    /// Stores a new inode and links it under `name`, undoing the allocation if
    /// the directory cannot take the name (ENOSPC growing the directory).
    private func linkNewInode(_ ino: UInt32, _ inode: inout Ext2Inode, in dir: UInt32, _ dirInode: inout Ext2Inode,
                              _ name: String) throws(Errno) {
        do throws(Errno) {
            try writeNewInode(ino, inode)
            try addEntry(&dirInode, dir: dir, name, ino: ino, type: inode.fileType ?? .regular)
        } catch {
            try discardNewInode(ino, &inode)
            throw error
        }
    }

    /// Creates a regular file, device node, FIFO or socket `name` in `dir`;
    /// `mode` holds the type and permission bits. Returns its inode.
    /// Linux: ext2_create() / ext2_mknod()
    public func create(in dir: UInt32, _ name: String, mode: UInt32, device: DeviceNumber = DeviceNumber(major: 0, minor: 0),
                       uid: UInt32 = 0, gid: UInt32 = 0) throws(Errno) -> UInt32 {
        guard let type = FileType(mode: mode), type != .directory, type != .symlink else { throw .EINVAL }
        var dirInode = try prepareNewName(in: dir, name)
        let ino = try allocateInode(parent: dir, directory: false)
        var inode = newInode(mode: mode, uid: uid, gid: gid)
        if type == .characterDevice || type == .blockDevice { inode.deviceNumber = device }
        try linkNewInode(ino, &inode, in: dir, &dirInode, name)
        try writeInode(dir, dirInode)
        return ino
    }

    /// Creates directory `name` in `dir` with "." and "..". Linux: ext2_mkdir()
    public func mkdir(in dir: UInt32, _ name: String, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) throws(Errno) -> UInt32 {
        var dirInode = try prepareNewName(in: dir, name)
        guard dirInode.linksCount < Self.linkMax else { throw .EMLINK }
        let ino = try allocateInode(parent: dir, directory: true)
        var inode = newInode(mode: FileType.directory.rawValue | (mode & permissionBitsMask), uid: uid, gid: gid)
        inode.linksCount = 2
        do throws(Errno) {
            let (block, _) = try mapOrAllocateBlock(&inode, ino: ino, 0)
            try makeEmptyDirectory(block, dir: ino, parent: dir)
            inode.size = UInt64(blockSize)
        } catch {
            try discardNewInode(ino, &inode)
            throw error
        }
        try linkNewInode(ino, &inode, in: dir, &dirInode, name)
        dirInode.linksCount += 1
        try writeInode(dir, dirInode)
        return ino
    }

    /// Creates symlink `name` in `dir` pointing at `target`: kept in i_block
    /// when shorter than its 60 bytes (a "fast" symlink), else in a data block.
    /// Linux: ext2_symlink()
    public func symlink(in dir: UInt32, _ name: String, target: String, uid: UInt32 = 0, gid: UInt32 = 0) throws(Errno) -> UInt32 {
        let length = target.utf8.count
        guard length > 0 else { throw .ENOENT }
        guard length < blockSize else { throw .ENAMETOOLONG }
        var dirInode = try prepareNewName(in: dir, name)
        let ino = try allocateInode(parent: dir, directory: false)
        var inode = newInode(mode: FileType.symlink.rawValue | 0o777, uid: uid, gid: gid)
        inode.size = UInt64(length)
        if length < Ext2Inode.blockPointers * 4 {
            var bytes = [UInt8](repeating: 0, count: Ext2Inode.blockPointers * 4)
            bytes.replaceSubrange(0..<length, with: target.utf8)
            for i in 0..<Ext2Inode.blockPointers {
                inode.block[i] = UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8
                    | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
            }
        } else {
            do throws(Errno) {
                let (block, _) = try mapOrAllocateBlock(&inode, ino: ino, 0)
                let buffer = try cache.getblk(device, UInt64(block))
                buffer.data.initializeMemory(as: UInt8.self, repeating: 0)
                var position = 0
                for byte in target.utf8 {
                    buffer.data[position] = byte
                    position += 1
                }
                cache.markDirty(buffer)
                cache.brelse(buffer)
            } catch {
                try discardNewInode(ino, &inode)
                throw error
            }
        }
        try linkNewInode(ino, &inode, in: dir, &dirInode, name)
        try writeInode(dir, dirInode)
        return ino
    }

    /// A symlink's target. Linux: ext2_get_link() / page_get_link()
    public func readlink(_ ino: UInt32) throws(Errno) -> String {
        let inode = try readInode(ino)
        guard inode.fileType == .symlink else { throw .EINVAL }
        guard inode.size < UInt64(blockSize) else { throw corrupt("symlink \(ino): size \(inode.size) too big") }
        let length = Int(inode.size)
        if !hasBlockMap(inode) {
            guard length < Ext2Inode.blockPointers * 4 else { throw corrupt("fast symlink \(ino): size \(length)") }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length)
            for i in 0..<length { bytes.append(UInt8(truncatingIfNeeded: inode.block[i / 4] >> (8 * UInt32(i % 4)))) }
            return String(decoding: bytes, as: UTF8.self)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 1)
        defer { buffer.deallocate() }
        let count = try read(ino, at: 0, into: buffer)
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Adds name `name` in `dir` for existing inode `ino` (not a directory:
    /// EPERM). Linux: ext2_link()
    public func link(_ ino: UInt32, in dir: UInt32, _ name: String) throws(Errno) {
        var dirInode = try prepareNewName(in: dir, name)
        var inode = try readInode(ino)
        if inode.isDirectory { throw .EPERM }
        guard inode.linksCount > 0 else { throw .ENOENT }
        guard inode.linksCount < Self.linkMax else { throw .EMLINK }
        try addEntry(&dirInode, dir: dir, name, ino: ino, type: inode.fileType ?? .regular)
        try writeInode(dir, dirInode)
        inode.linksCount += 1
        inode.changeTime = clock()
        try writeInode(ino, inode)
    }

    /// Removes name `name` (not a directory: EISDIR) from `dir`; returns
    /// whether the inode has no names left (then the VFS calls `evict` when it
    /// is no longer open). Linux: ext2_unlink()
    @discardableResult
    public func unlink(in dir: UInt32, _ name: String) throws(Errno) -> Bool {
        try requireWritable()
        var dirInode = try readDirectoryInode(dir)
        guard let slot = try findEntry(dirInode, dir: dir, name) else { throw .ENOENT }
        var inode = try readInode(slot.record.ino)
        if inode.isDirectory { throw .EISDIR }
        try removeEntry(&dirInode, at: slot)
        try writeInode(dir, dirInode)
        inode.linksCount = inode.linksCount > 0 ? inode.linksCount - 1 : 0
        inode.changeTime = dirInode.changeTime
        try writeInode(slot.record.ino, inode)
        return inode.linksCount == 0
    }

    /// Removes empty directory `name` from `dir` (ENOTDIR, ENOTEMPTY, EINVAL
    /// for "."). Its blocks are freed by `evict`. Linux: ext2_rmdir()
    public func rmdir(in dir: UInt32, _ name: String) throws(Errno) {
        try requireWritable()
        if name == "." { throw .EINVAL }
        if name == ".." { throw .ENOTEMPTY }
        var dirInode = try readDirectoryInode(dir)
        guard let slot = try findEntry(dirInode, dir: dir, name) else { throw .ENOENT }
        let ino = slot.record.ino
        var inode = try readDirectoryInode(ino)
        guard try isEmptyDirectory(inode, dir: ino) else { throw .ENOTEMPTY }
        try removeEntry(&dirInode, at: slot)
        if dirInode.linksCount > 1 { dirInode.linksCount -= 1 }
        try writeInode(dir, dirInode)
        inode.linksCount = 0
        inode.changeTime = dirInode.changeTime
        try writeInode(ino, inode)
    }

    /// Moves `oldName` in `oldDir` to `newName` in `newDir`, replacing what
    /// `newName` led to (a file by a file, an empty directory by a directory).
    /// A moved directory's ".." is pointed at its new parent and the parents'
    /// link counts follow. Renaming a name onto another name of the same inode
    /// does nothing. Linux: ext2_rename()
    @discardableResult
    public func rename(from oldDir: UInt32, _ oldName: String, to newDir: UInt32, _ newName: String) throws(Errno) -> Ext2RenameResult {
        try requireWritable()
        try checkName(newName)
        for name in [oldName, newName] where name == "." || name == ".." { throw .EINVAL }
        var oldDirInode = try readDirectoryInode(oldDir)
        guard let oldSlot = try findEntry(oldDirInode, dir: oldDir, oldName) else { throw .ENOENT }
        let ino = oldSlot.record.ino
        var inode = try readInode(ino)
        guard let type = inode.fileType else { throw .EUCLEAN }
        let isDirectory = type == .directory
        if isDirectory && newDir == ino { throw .EINVAL }    // deeper descendants: the VFS checks
        var newDirInode = newDir == oldDir ? oldDirInode : try readDirectoryInode(newDir)
        guard newDirInode.linksCount > 0 else { throw .ENOENT }
        var result = Ext2RenameResult(replaced: nil, replacedIsUnlinked: false)

        if let newSlot = try findEntry(newDirInode, dir: newDir, newName) {
            let targetIno = newSlot.record.ino
            if targetIno == ino { return result }
            var target = try readInode(targetIno)
            if target.isDirectory {
                guard isDirectory else { throw .EISDIR }
                guard try isEmptyDirectory(target, dir: targetIno) else { throw .ENOTEMPTY }
            } else if isDirectory {
                throw .ENOTDIR
            }
            try retargetEntry(&newDirInode, at: newSlot, ino: ino, type: type)
            // The replaced directory loses its name and its "."; its ".." no
            // longer counts for the new parent (the moved directory's will).
            if target.isDirectory {
                target.linksCount = 0
                if newDirInode.linksCount > 1 { newDirInode.linksCount -= 1 }
            } else if target.linksCount > 0 {
                target.linksCount -= 1
            }
            target.changeTime = clock()
            try writeInode(targetIno, target)
            result = Ext2RenameResult(replaced: targetIno, replacedIsUnlinked: target.linksCount == 0)
        } else {
            if isDirectory && newDir != oldDir {
                guard newDirInode.linksCount < Self.linkMax else { throw .EMLINK }
            }
            try addEntry(&newDirInode, dir: newDir, newName, ino: ino, type: type)
        }

        if newDir == oldDir { oldDirInode = newDirInode }
        // Find the old record again: adding the new name may have split it.
        guard let slot = try findEntry(oldDirInode, dir: oldDir, oldName), slot.record.ino == ino else {
            throw corrupt("directory \(oldDir): \(oldName) vanished during rename")
        }
        try removeEntry(&oldDirInode, at: slot)
        if isDirectory && newDir != oldDir {
            guard let dotDot = try findEntry(inode, dir: ino, "..") else { throw corrupt("directory \(ino): no \"..\"") }
            try retargetEntry(&inode, at: dotDot, ino: newDir, type: .directory)
            if oldDirInode.linksCount > 1 { oldDirInode.linksCount -= 1 }
            newDirInode.linksCount += 1
        }
        inode.changeTime = clock()
        try writeInode(ino, inode)
        try writeInode(oldDir, oldDirInode)
        if newDir != oldDir { try writeInode(newDir, newDirInode) }
        return result
    }
}
