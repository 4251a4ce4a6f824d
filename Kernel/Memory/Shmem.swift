// Shared memory with no file of its own: MAP_SHARED | MAP_ANONYMOUS mappings
// and memfd_create(). Both are tmpfs files on a tmpfs the kernel keeps for
// itself and never mounts, with no name in any directory (nlink 0): their
// pages are the page cache's shmem pages (Kernel/FS/RamFile.swift), faulted
// in lazily by every process that maps them, shared across fork because the
// VMAs name the same file. /proc/<pid>/maps shows them as Linux does:
// "/dev/zero (deleted)" and "/memfd:NAME (deleted)".
// Linux: mm/shmem.c (shm_mnt, shmem_file_setup(), shmem_zero_setup()), mm/memfd.c

/// memfd seals: what may no longer be done to a shmem file. Linux: F_SEAL_* (include/uapi/linux/fcntl.h)
enum Seal {
    /// No more seals may be added.
    static let seal: UInt32 = 0x01
    /// The file may not shrink.
    static let shrink: UInt32 = 0x02
    /// The file may not grow.
    static let grow: UInt32 = 0x04
    /// Its bytes may not change (write, a writable shared mapping).
    static let write: UInt32 = 0x08
    /// No new way to change its bytes (existing writable mappings stay).
    static let futureWrite: UInt32 = 0x10
    /// Its execute bits may not change.
    static let exec: UInt32 = 0x20
    static let all: UInt32 = 0x3f
    /// Either write seal forbids write(2).
    static let writes: UInt32 = write | futureWrite
}

enum Shmem {
    /// The longest memfd name: NAME_MAX less "memfd:". Linux: MFD_NAME_MAX_LEN
    static let memfdNameMax = 249

    /// The kernel's internal tmpfs: as large as memory allows (each page is
    /// still charged to its mapping's memory, never to this limit). Its files
    /// are made here directly, never in its root directory: they have no
    /// name, and this needs no namespace lock (mmap calls it holding
    /// mmap_lock, which comes after that lock).
    /// Linux: shm_mnt, mounted by shmem_init() with no size limit
    nonisolated(unsafe) private static let internalRoot = FS.makeTmpfs(source: "shm", options: "", maxPages: Int.max / 2,
                                                                       maxInodes: Int.max / 2, typeName: "tmpfs").root
    /// Where the internal files hang: their paths are "/" plus their names.
    nonisolated(unsafe) private static let root = Dentry(root: internalRoot)

    /// A new unnamed shmem file of `size` bytes called `name` (its path in
    /// /proc/<pid>/maps and /proc/<pid>/fd), with no link (nlink 0, as
    /// Linux's d_alloc_pseudo() files). Linux: shmem_file_setup() → __shmem_file_setup()
    static func file(named name: String, size: Int) -> Dentry {
        guard let fileSystem = internalRoot.superBlock.operations as? RamFileSystem else {
            Panic.now("shm: the internal tmpfs has no RamFileSystem")
        }
        let mapping = RamFile.makeContents(fileSystem)
        let inode = internalRoot.superBlock.makeInode(.regular(mapping), permissions: 0o777)
        inode.nlink = 0
        // Nobody else can reach the new file yet: its size is set without
        // i_rwsem (mmap calls this holding mmap_lock, which comes after it).
        mapping.setSize(size)
        return root.child(name, inode)
    }

    /// The file behind a new shared anonymous mapping of `length` bytes.
    /// Linux: shmem_zero_setup()
    static func zeroSetup(length: UInt64) -> Dentry {
        file(named: "dev/zero", size: Int(clamping: length))
    }
}
