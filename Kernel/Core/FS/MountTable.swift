// The mount table: which file system's root covers which directory. A path walk
// that arrives at a covered directory goes on in the root of what is mounted
// there, and ".." from that root goes back through the directory it covers
// (the walk's dentry chain records how it came). Mounts are few, so the table
// is a list in the order they were made, which is also /proc/mounts' order.
// The kernel holds it under the namespace lock (Kernel/FS/Namespace.swift).

/// One mounted file system. Linux: struct mount (mnt_mountpoint, mnt_root, mnt_devname)
public struct Mount {
    /// What was mounted, as /proc/mounts prints it ("/dev/vda", "tmpfs", "proc").
    /// Linux: mnt_devname
    public var source: String
    /// The absolute path of the covered directory at mount time ("/" for the root).
    public var path: String
    /// The directory it covers; nil for the root mount.
    public var covered: Inode?
    /// Linux: mnt_root, mnt_sb
    public var root: Inode
    /// Mount options as /proc/mounts shows them after "rw"/"ro".
    public var options: String

    public var superBlock: SuperBlock { root.superBlock }

    public init(source: String, path: String, covered: Inode?, root: Inode, options: String) {
        self.source = source
        self.path = path
        self.covered = covered
        self.root = root
        self.options = options
    }

    /// One /proc/mounts line. Linux: show_vfsmnt()
    public var line: String {
        let mode = superBlock.isReadOnly ? "ro" : "rw"
        let extra = options.isEmpty ? "" : "," + options
        return source + " " + Mount.escaped(path) + " " + superBlock.typeName + " " + mode + extra + " 0 0\n"
    }

    /// Spaces, tabs, newlines and backslashes as octal escapes. Linux: mangle() in fs/proc_namespace.c
    static func escaped(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case 0x20, 0x09, 0x0a, 0x5c:
                out += "\\" + String(byte >> 6) + String((byte >> 3) & 7) + String(byte & 7)
            default:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out
    }
}

/// Linux: the mount hash (mount_hashtable) and a namespace's list of mounts
public struct MountTable {
    public private(set) var mounts: [Mount] = []

    public init() {}

    /// The root of the file system mounted on `directory`, if one is; the most
    /// recent mount there wins. Linux: __lookup_mnt()
    public func root(covering directory: Inode) -> Inode? {
        for mount in mounts.reversed() where mount.covered === directory { return mount.root }
        return nil
    }

    /// Whether a file system is mounted on `inode` or `inode` is a mount's
    /// root (both make rmdir, rename and umount on it EBUSY). Linux: d_mountpoint()
    public func isBusy(_ inode: Inode) -> Bool {
        mounts.contains { $0.covered === inode || $0.root === inode }
    }

    /// Linux: do_add_mount() → graft_tree()
    public mutating func add(_ mount: Mount) {
        mounts.append(mount)
    }

    /// Takes away the mount whose root is `root`; EINVAL if `root` is no
    /// mount's root, EBUSY for the root mount or when something is mounted
    /// inside it. Linux: do_umount()
    public mutating func remove(root: Inode) throws(Errno) -> Mount {
        guard let index = mounts.lastIndex(where: { $0.root === root }) else { throw .EINVAL }
        guard mounts[index].covered != nil else { throw .EBUSY }
        let superBlock = mounts[index].superBlock
        let hasChildren = mounts.contains { $0.covered?.superBlock === superBlock && $0.root !== root }
        if hasChildren { throw .EBUSY }
        return mounts.remove(at: index)
    }
}
