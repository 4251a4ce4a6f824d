// tmpfs: a file system that lives only in memory. Its directories keep their
// entries here, sorted by name (byte order, as `ls` in the C locale lists
// them), so lookup is a binary search and getdents64 lists them in a
// predictable order; its files keep their bytes in pages (the kernel's
// RamFile). A tmpfs has a size: pages and inodes are charged to it when made
// and given back when freed, and ENOSPC says it is full, as for a disk.
// Callers hold the namespace lock: shared for lookup and entries, exclusive
// for the changes.

import Synchronization

/// One tmpfs: its limits and what it has used. Linux: struct shmem_sb_info
public final class RamFileSystem: FileSystemOperations, @unchecked Sendable {   // counters are atomic
    /// Most pages its files may hold together (the size= option). Linux: max_blocks
    public let maxPages: Int
    /// Most inodes (the nr_inodes= option). Linux: max_inodes
    public let maxInodes: Int
    private let usedPages = Atomic<Int>(0)
    private let usedInodes = Atomic<Int>(0)
    /// Makes the contents of a new regular file (the kernel's page-backed file).
    private let makeContents: (RamFileSystem) throws(Errno) -> any FileContents

    public init(maxPages: Int, maxInodes: Int,
                makeContents: @escaping (RamFileSystem) throws(Errno) -> any FileContents) {
        self.maxPages = maxPages
        self.maxInodes = maxInodes
        self.makeContents = makeContents
    }

    public var pagesUsed: Int { usedPages.load(ordering: .relaxed) }
    public var inodesUsed: Int { usedInodes.load(ordering: .relaxed) }

    /// Takes `count` pages from the size limit; false when it is reached.
    /// Linux: shmem_inode_acct_blocks()
    public func chargePages(_ count: Int) -> Bool {
        charge(usedPages, count, limit: maxPages)
    }

    /// Linux: shmem_inode_unacct_blocks()
    public func unchargePages(_ count: Int) { usedPages.subtract(count, ordering: .relaxed) }

    /// Linux: shmem_reserve_inode()
    func chargeInode() throws(Errno) {
        guard charge(usedInodes, 1, limit: maxInodes) else { throw .ENOSPC }
    }

    /// Linux: shmem_free_inode()
    func unchargeInode() { usedInodes.subtract(1, ordering: .relaxed) }

    func newContents() throws(Errno) -> any FileContents { try makeContents(self) }

    private func charge(_ counter: borrowing Atomic<Int>, _ count: Int, limit: Int) -> Bool {
        var old = counter.load(ordering: .relaxed)
        while true {
            guard count <= limit - old else { return false }
            let (done, seen) = counter.compareExchange(expected: old, desired: old + count, ordering: .relaxed)
            if done { return true }
            old = seen
        }
    }

    /// Linux: shmem_statfs()
    public func statistics() -> FileSystemStats {
        let pages = UInt64(maxPages), freePages = UInt64(max(0, maxPages - pagesUsed))
        return FileSystemStats(type: FileSystemMagic.tmpfs, blockSize: Int(pageSize), blocks: pages, freeBlocks: freePages,
                               availableBlocks: freePages, files: UInt64(maxInodes),
                               freeFiles: UInt64(max(0, maxInodes - inodesUsed)))
    }

    /// Memory is where the data stays: nothing to write.
    public func sync() throws(Errno) {}
    public func unmount() throws(Errno) {}
    /// The inode is where the attributes are kept.
    public func writeAttributes(of inode: Inode) throws(Errno) {}
    /// Its pages are its files' only copy and its names and inodes live as
    /// long as the files: drop_caches finds nothing to free. Linux: shmem's
    /// pages are never clean page cache, and its dentries are pinned
    public func dropCaches(_ mode: DropCachesMode) {}
    /// A tmpfs lives in memory and dies with its last user: unmounting one in
    /// use is safe (Linux's lazy umount keeps it for its users the same way).
    public var isBusy: Bool { false }
}

/// A tmpfs directory. Linux: a shmem directory (there the entries live only in
/// the dentry cache; simple_lookup() and dcache_readdir() serve them)
public final class RamDirectory: DirectoryOperations {
    public let fileSystem: RamFileSystem
    private var names: [String] = []
    private var inodes: [Inode] = []

    public init(_ fileSystem: RamFileSystem) {
        self.fileSystem = fileSystem
    }

    public var count: Int { names.count }

    public func lookup(_ name: String) -> Inode? {
        let (index, found) = position(of: name)
        return found ? inodes[index] : nil
    }

    public func entries() -> [DirectoryEntry] {
        var result: [DirectoryEntry] = []
        result.reserveCapacity(names.count)
        for i in names.indices {
            result.append(DirectoryEntry(name: names[i], ino: inodes[i].ino, type: inodes[i].fileType))
        }
        return result
    }

    /// Linux: shmem_mknod() (create, mkdir, mknod) and shmem_symlink()
    public func create(_ name: String, _ kind: NewInodeKind, permissions: UInt32, owner: Credentials,
                       in directory: Inode) throws(Errno) -> Inode {
        try fileSystem.chargeInode()
        let inodeKind: InodeKind
        do throws(Errno) {
            switch kind {
            case .regular: inodeKind = .regular(try fileSystem.newContents())
            case .directory: inodeKind = .directory(RamDirectory(fileSystem))
            case .symlink(let target): inodeKind = .symlink(target)
            case .characterDevice(let number): inodeKind = .characterDevice(number)
            case .blockDevice(let number): inodeKind = .blockDevice(number)
            case .fifo: inodeKind = .fifo
            }
        } catch {
            fileSystem.unchargeInode()
            throw error
        }
        let inode = directory.superBlock.makeInode(inodeKind, permissions: permissions)
        inode.setOwner(uid: owner.uid, gid: owner.gid)
        insert(name, inode)
        if kind == .directory { directory.addLink() }          // the child's ".."
        directory.touchModified()
        return inode
    }

    /// Linux: simple_link()
    public func link(_ inode: Inode, as name: String, in directory: Inode) throws(Errno) {
        insert(name, inode)
        inode.addLink()
        inode.touchChanged()
        directory.touchModified()
    }

    /// Linux: shmem_unlink() and simple_rmdir()
    public func remove(_ name: String, _ inode: Inode, in directory: Inode) throws(Errno) {
        if let children = inode.directory as? RamDirectory, children.count > 0 { throw .ENOTEMPTY }
        detach(name, inode, from: directory)
        directory.touchModified()
    }

    /// Linux: shmem_rename2() → simple_rename()
    public func rename(_ name: String, _ inode: Inode, in directory: Inode, to newName: String,
                       in newDirectory: Inode, replacing replaced: Inode?) throws(Errno) {
        guard let target = newDirectory.directory as? RamDirectory else { throw .EXDEV }
        if let replaced {
            if let children = replaced.directory as? RamDirectory, children.count > 0 { throw .ENOTEMPTY }
            target.detach(newName, replaced, from: newDirectory)
        }
        remove(name)
        target.insert(newName, inode)
        if inode.isDirectory && directory !== newDirectory {   // its ".." moves
            directory.dropLink()
            newDirectory.addLink()
        }
        inode.touchChanged()
        directory.touchModified()
        newDirectory.touchModified()
    }

    /// Takes `name` away: a directory loses its own two links and its parent's
    /// link from "..", a file one link; an inode with no links left gives its
    /// place back to the file system's inode count (its memory goes with its
    /// last reference: an open file keeps it).
    private func detach(_ name: String, _ inode: Inode, from directory: Inode) {
        remove(name)
        if inode.isDirectory {
            directory.dropLink()
            inode.nlink = 0
        } else {
            inode.dropLink()
        }
        inode.touchChanged()
        if inode.nlink == 0 { fileSystem.unchargeInode() }
    }

    /// Makes `name` lead to `inode`, replacing what it led to before.
    /// Linux: d_instantiate() / d_add()
    private func insert(_ name: String, _ inode: Inode) {
        let (index, found) = position(of: name)
        if found {
            inodes[index] = inode
            return
        }
        names.insert(name, at: index)
        inodes.insert(inode, at: index)
    }

    private func remove(_ name: String) {
        let (index, found) = position(of: name)
        guard found else { return }
        names.remove(at: index)
        inodes.remove(at: index)
    }

    /// Where `name` is, or where it would go. Compares UTF-8 bytes: file names are
    /// byte strings, and Unicode-aware String comparison would equate different ones.
    private func position(of name: String) -> (index: Int, found: Bool) {
        var low = 0, high = names.count
        while low < high {
            let mid = (low + high) / 2
            if names[mid].utf8.lexicographicallyPrecedes(name.utf8) { low = mid + 1 } else { high = mid }
        }
        return (low, low < names.count && names[low].utf8.elementsEqual(name.utf8))
    }
}
