// A task's place in the file-system tree: its current directory, from which
// relative paths start. Threads created with CLONE_FS share one (and may run on
// other CPUs: the big kernel lock protects it, checked on every access); fork
// copies it.
// Linux: struct fs_struct (include/linux/fs_struct.h)

final class FSContext {
    /// Protected by the big kernel lock (Linux: fs->lock).
    private var current: Dentry

    init() {
        current = FS.root
    }

    /// The current directory, as a dentry so that ".." and getcwd work. Linux: fs->pwd
    var pwd: Dentry {
        get { BigKernelLock.assertHeld("a task's cwd"); return current }
        set { BigKernelLock.assertHeld("a task's cwd"); current = newValue }
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
