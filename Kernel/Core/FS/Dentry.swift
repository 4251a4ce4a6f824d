// A dentry ties a name to an inode and to the directory it was found in. Path
// walks produce them; they are how ".." finds the parent, how getcwd spells the
// current directory and how /proc/<pid>/maps names a mapped file. A dentry holds
// its parent, never its children, so no reference cycle can form.

/// Linux: struct dentry (d_name, d_parent, d_inode)
public final class Dentry {
    /// The component that led here; "/" for a root.
    public let name: String
    /// nil only for a root. Linux: d_parent (a root is its own parent there)
    public let parent: Dentry?
    public let inode: Inode

    /// The root of a file-system tree.
    public init(root inode: Inode) {
        name = "/"
        parent = nil
        self.inode = inode
    }

    private init(name: String, parent: Dentry, inode: Inode) {
        self.name = name
        self.parent = parent
        self.inode = inode
    }

    /// The dentry for `name` in this directory. Linux: d_alloc()
    public func child(_ name: String, _ inode: Inode) -> Dentry {
        Dentry(name: name, parent: self, inode: inode)
    }

    /// The absolute path, "/" for the root. Linux: d_path()
    public var path: String { path(below: nil) }

    /// The path readlink shows for an open file (/proc/<pid>/fd/N): as seen
    /// from `root` when the dentry lies below it, else from the top of its own
    /// tree (a file of a file system no path leads to, such as a memfd's
    /// "/memfd:NAME"), and " (deleted)" after it once its last name is gone.
    /// Unlike getcwd, no "(unreachable)". Linux: d_path() (prepend_path()
    /// ends at the global root when `root` is not on the way; d_unlinked())
    public func displayPath(root: Dentry) -> String {
        var node: Dentry? = self
        while let step = node, step.inode !== root.inode { node = step.parent }
        let shown = node == nil ? path : path(below: root)
        return inode.nlink == 0 ? shown + " (deleted)" : shown
    }

    /// The path as seen from `root` (a chroot): "/" is `root`'s inode; a
    /// dentry not below it is "(unreachable)" plus its full path, as Linux
    /// prints it. Linux: d_path() against current->fs->root
    public func path(below root: Dentry?) -> String {
        var components: [String] = []
        var node = self
        while let parent = node.parent {
            if let root, node.inode === root.inode { break }
            components.append(node.name)
            node = parent
        }
        if let root, node.inode !== root.inode { return "(unreachable)" + path(below: nil) }
        guard !components.isEmpty else { return "/" }
        var path = ""
        for name in components.reversed() { path += "/" + name }
        return path
    }
}
