// The file system calls: descriptors, paths, reading and writing, directories.
// Each handler takes the raw arguments and returns the result or throws the
// errno Linux returns in the same situation, checked in Linux's order. What
// they share lives here: finding the open file behind a descriptor, and where
// a *at() call's relative path starts. The calls are split by concern across
// FileSyscalls+*.swift. Linux: fs/open.c, fs/read_write.c, fs/stat.c,
// fs/namei.c, fs/fcntl.c, fs/ioctl.c, fs/readdir.c, fs/d_path.c

enum FileSyscalls {
    /// "Relative to the current directory" as a dirfd. Linux: AT_FDCWD
    static let AT_FDCWD = -100
    /// Linux: AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_NO_AUTOMOUNT, AT_EMPTY_PATH
    static let AT_SYMLINK_NOFOLLOW = 0x100
    static let AT_EACCESS = 0x200
    static let AT_NO_AUTOMOUNT = 0x800
    static let AT_EMPTY_PATH = 0x1000

    static var files: FileTable { Scheduler.current.files }

    /// The open file behind a descriptor argument; EBADF if there is none. Linux: fdget()
    static func file(_ fd: Int) throws(Errno) -> OpenFile {
        try files.file(fd)
    }

    /// A path argument: EFAULT for a bad pointer, ENAMETOOLONG past PATH_MAX. Linux: getname()
    static func userPath(_ address: VirtAddr) throws(Errno) -> String {
        try UserCopy.readString(at: address, maxLength: PathWalk.pathMax - 1)
    }

    /// Resolves `path` for a *at() call: absolute (from the task's root), or
    /// relative to the directory open as `dirfd` (AT_FDCWD: the current
    /// directory). An empty path is ENOENT unless `allowEmpty` (AT_EMPTY_PATH),
    /// when it names `dirfd` itself. Linux: user_path_at() → path_init() + link_path_walk()
    static func lookup(_ dirfd: Int, _ path: String, follow: Bool, allowEmpty: Bool = false) throws(Errno) -> Dentry {
        let (root, pwd) = Scheduler.current.fs.rootAndPwd
        if path.isEmpty {
            guard allowEmpty else { throw .ENOENT }
            return dirfd == AT_FDCWD ? pwd : try file(dirfd).path
        }
        return try FS.lookup(path, root: root, from: start(dirfd, path, pwd: pwd), followFinalSymlink: follow)
    }

    /// Where a *at() call's relative path starts: the directory open as
    /// `dirfd`, or `pwd` for AT_FDCWD. ENOTDIR if `dirfd` is not a directory.
    static func start(_ dirfd: Int, _ path: String, pwd: Dentry) throws(Errno) -> Dentry {
        guard path.utf8.first != UInt8(ascii: "/") && dirfd != AT_FDCWD else { return pwd }
        let start = try file(dirfd).path
        guard start.inode.isDirectory else { throw .ENOTDIR }
        return start
    }

    /// Runs `body` with the parent directory of `path` (a *at() path) and its
    /// last name, the tree held still for a change. Linux: filename_parentat()
    /// with the parent locked
    static func changing<R>(_ dirfd: Int, _ path: String,
                            _ body: (Dentry, String?) throws(Errno) -> R) throws(Errno) -> R {
        let (root, pwd) = Scheduler.current.fs.rootAndPwd
        return try FS.changing(path, root: root, from: start(dirfd, path, pwd: pwd), body)
    }
}
