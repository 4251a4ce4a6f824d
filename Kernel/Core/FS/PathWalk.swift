// Path resolution: turning "/etc/../bin//sh" into a dentry, one component at a
// time, following symlinks. Components still to walk sit on a stack, so a
// symlink's target is simply pushed in place of the name that led to it, and a
// symlink met as the last component is the last thing left on the stack.
// A magic link (/proc/<pid>/fd/N) has no target to push: following it moves
// the walk to the dentry it names, and the walk goes on from there.
// Keel runs everything as root, so directory search permission is not checked.

/// Linux: fs/namei.c (path_lookupat, link_path_walk, walk_component, pick_link)
public enum PathWalk {
    /// Symlinks followed in one lookup before it fails with ELOOP. Linux: MAXSYMLINKS
    public static let maxSymlinks = 40
    /// Longest component, in bytes. Linux: NAME_MAX
    public static let nameMax = 255
    /// Longest path including its NUL. Linux: PATH_MAX
    public static let pathMax = 4096

    /// The dentry `path` names. A relative path starts at `start`; ".." never
    /// leaves `root`. `followFinalSymlink` false stops at a final symlink (lstat,
    /// readlink, O_NOFOLLOW) unless the path ends in "/", which also requires a
    /// directory. A directory with a file system mounted on it leads into that
    /// file system's root. Linux: filename_lookup() → path_lookupat()
    public static func resolve(_ path: String, root: Dentry, from start: Dentry, mounts: MountTable = MountTable(),
                               followFinalSymlink: Bool = true) throws(Errno) -> Dentry {
        try checkLength(path)
        var pending = Array(components(of: path).reversed())
        var current = isAbsolute(path) ? root : start
        var mustBeDirectory = hasTrailingSlash(path)
        var linksFollowed = 0
        while let name = pending.popLast() {
            guard let directory = current.inode.directory else { throw .ENOTDIR }
            if name == "." { continue }
            if name == ".." {
                if current.inode !== root.inode, let parent = current.parent { current = parent }
                continue
            }
            guard name.utf8.count <= nameMax else { throw .ENAMETOOLONG }
            guard var inode = try directory.lookup(name) else { throw .ENOENT }
            while let mounted = mounts.root(covering: inode), mounted !== inode { inode = mounted }   // Linux: follow_mount()
            let follow = !pending.isEmpty || followFinalSymlink || mustBeDirectory
            if case .magicLink(let link) = inode.kind, follow {
                // Counted as a symlink, and a jump: no mount on the target is
                // followed, and ".." from there is the target's parent.
                // Linux: pick_link() → proc_pid_get_link() → nd_jump_link()
                linksFollowed += 1
                guard linksFollowed <= maxSymlinks else { throw .ELOOP }
                current = try link.target()
                continue
            }
            if case .symlink(let target) = inode.kind, follow {
                linksFollowed += 1
                guard linksFollowed <= maxSymlinks else { throw .ELOOP }
                guard !target.isEmpty else { throw .ENOENT }
                if isAbsolute(target) { current = root }
                if pending.isEmpty && hasTrailingSlash(target) { mustBeDirectory = true }
                pending.append(contentsOf: components(of: target).reversed())
                continue
            }
            current = current.child(name, inode)
        }
        if mustBeDirectory && !current.inode.isDirectory { throw .ENOTDIR }
        return current
    }

    /// The directory that holds (or would hold) the last component, and that
    /// component's name; what creating a file needs. nil name for a path without
    /// a last name ("/", "a/.."). Linux: filename_parentat()
    public static func resolveParent(_ path: String, root: Dentry, from start: Dentry,
                                     mounts: MountTable = MountTable()) throws(Errno) -> (directory: Dentry, name: String?) {
        try checkLength(path)
        var names = components(of: path)
        let last = names.popLast()
        var parentPath = isAbsolute(path) ? "/" : "."
        for name in names { parentPath += "/" + name }
        let directory = try resolve(parentPath, root: root, from: start, mounts: mounts)
        guard directory.inode.isDirectory else { throw .ENOTDIR }
        guard let last, last != ".", last != ".." else { return (directory, nil) }
        guard last.utf8.count <= nameMax else { throw .ENAMETOOLONG }
        return (directory, last)
    }

    /// The non-empty names between slashes.
    public static func components(of path: String) -> [String] {
        path.utf8.split(separator: slash).map { String(Substring($0)) }
    }

    private static let slash = UInt8(ascii: "/")

    private static func checkLength(_ path: String) throws(Errno) {
        guard !path.isEmpty else { throw .ENOENT }
        guard path.utf8.count < pathMax else { throw .ENAMETOOLONG }
    }

    private static func isAbsolute(_ path: String) -> Bool { path.utf8.first == slash }

    /// "a/" must name a directory; "/" alone has no component to check.
    public static func hasTrailingSlash(_ path: String) -> Bool {
        path.utf8.last == slash && path.utf8.contains { $0 != slash }
    }
}
