// A task's place in the file-system tree: its current directory, from which
// relative paths start. Threads created with CLONE_FS share one (and may run on
// other CPUs: its lock protects it); fork copies it.
// Linux: struct fs_struct (include/linux/fs_struct.h)

final class FSContext {
    /// Protected by `lock`.
    private var current: Dentry
    /// Linux: fs->lock
    private let lock = SpinLock(FSContext.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&fs->lock")

    init() {
        current = FS.root
    }

    /// The current directory, as a dentry so that ".." and getcwd work. Linux: fs->pwd
    var pwd: Dentry {
        get { lock.withLock { current } }
        set {
            // The old directory's last reference goes after the lock (it frees memory).
            let old = lock.withLock { () -> Dentry in
                let old = current
                current = newValue
                return old
            }
            _ = consume old
        }
    }

    /// The current directory's inode.
    var cwd: Inode { pwd.inode }

    /// Linux: copy_fs_struct()
    func copy() -> FSContext {
        let copy = FSContext()
        copy.pwd = pwd
        return copy
    }
}
