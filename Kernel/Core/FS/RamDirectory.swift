// A directory that keeps its entries in memory: every directory of the initramfs.
// Entries are sorted by name (byte order, as `ls` in the C locale lists them), so
// lookup is a binary search and getdents64 lists them in a predictable order.

/// Linux: a ramfs directory (there the entries live only in the dentry cache;
/// simple_lookup() and dcache_readdir() serve them)
public final class RamDirectory: DirectoryOperations {
    private var names: [String] = []
    private var inodes: [Inode] = []

    public init() {}

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

    /// Makes `name` lead to `inode`, replacing what it led to before (returned).
    /// Link counts are the caller's business. Linux: d_instantiate() / d_add()
    @discardableResult
    public func insert(_ name: String, _ inode: Inode) -> Inode? {
        let (index, found) = position(of: name)
        if found {
            let old = inodes[index]
            inodes[index] = inode
            return old
        }
        names.insert(name, at: index)
        inodes.insert(inode, at: index)
        return nil
    }

    /// Removes `name`; returns the inode it led to. Linux: simple_unlink() / d_delete()
    @discardableResult
    public func remove(_ name: String) -> Inode? {
        let (index, found) = position(of: name)
        guard found else { return nil }
        names.remove(at: index)
        return inodes.remove(at: index)
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
