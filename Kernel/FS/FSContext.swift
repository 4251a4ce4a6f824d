// A task's place in the file-system tree: its root (which chroot moves and ".."
// never leaves), its current directory, from which relative paths start, and
// its umask. Threads created with CLONE_FS share one (and may run on other
// CPUs: its lock protects it); fork copies it.
// Linux: struct fs_struct (include/linux/fs_struct.h)

final class FSContext {
    /// Protected by `lock`.
    private var currentRoot: Dentry
    private var current: Dentry
    private var mask: UInt32 = 0o022
    /// Linux: fs->lock
    private let lock = SpinLock(FSContext.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&fs->lock")

    init() {
        currentRoot = FS.root
        current = FS.root
    }

    /// The root and the current directory, read together (a path walk needs
    /// both, and a chroot on another thread must not be seen half done).
    /// Linux: get_fs_root_and_pwd_rcu()
    var rootAndPwd: (root: Dentry, pwd: Dentry) { lock.withLock { (currentRoot, current) } }

    /// Linux: fs->root
    var root: Dentry {
        get { lock.withLock { currentRoot } }
        set { replace { $0.currentRoot = newValue } }
    }

    /// The current directory, as a dentry so that ".." and getcwd work. Linux: fs->pwd
    var pwd: Dentry {
        get { lock.withLock { current } }
        set { replace { $0.current = newValue } }
    }

    /// The permission bits a new file does not get. Linux: fs->umask
    var umask: UInt32 {
        get { lock.withLock { mask } }
        set { lock.withLock { mask = newValue & 0o777 } }
    }

    /// The current directory's inode.
    var cwd: Inode { pwd.inode }

    /// Changes a dentry under the lock; the old one's last reference goes after
    /// the lock (it frees memory).
    private func replace(_ change: (FSContext) -> Void) {
        var old: [Dentry] = []
        lock.withLock {
            old = [currentRoot, current]
            change(self)
        }
        old.removeAll()
    }

    /// Linux: copy_fs_struct()
    func copy() -> FSContext {
        let copy = FSContext()
        let (root, pwd) = rootAndPwd
        copy.currentRoot = root
        copy.current = pwd
        copy.mask = umask
        return copy
    }
}
