// The files behind file-backed VMAs. A VMA stores only an opaque MappedFileID
// (Kernel/Core stays free of the VFS); this table turns it back into the file:
// the name it was mapped by, its inode, and so its page cache, which a fault
// maps pages of. Shared anonymous memory and memfds are files too, on the
// kernel's internal tmpfs (Shmem.swift).
//
// References are counted per mm, not per VMA: an mm holds one reference to each
// file some VMA of it maps (MM.attach), taken at mmap, execve and fork, and
// dropped when its last such VMA is unmapped or the mm is torn down
// (MM.detachUnusedFiles, exit_mmap). The last reference lets the inode go, so a
// program that maps and unmaps many files keeps none of them.
// The table and its counts are protected by `MappedFiles.lock`; what a fault
// then uses (the inode's page cache) is used after letting go of it.
// Linux: vma->vm_file with get_file() / fput()

enum MappedFiles {
    /// A mapped file (by the name it was mapped with) and the number of mm's
    /// mapping it. Linux: the file's f_path and f_count
    private struct Entry {
        let name: Dentry
        var users: Int
        var inode: Inode { name.inode }
    }
    /// Protected by `lock`. Keyed by the inode's address: inode numbers repeat
    /// across file systems, addresses do not while the entry holds the inode.
    nonisolated(unsafe) private static var files = HashMap<UInt64, Entry>()
    /// This table and every reference count in it. Taken inside mmap_lock;
    /// allocates (the table grows) under it.
    /// Linux: each struct file's f_count is atomic; Keel's table needs a lock
    static let lock = SpinLock(LockClass("mapped_files_lock"), disablesInterrupts: false)

    /// A new reference to the file `name` names, for a mapping of it. Linux: get_file() in mmap_region()
    static func get(_ name: Dentry) -> MappedFileID {
        let key = UInt64(UInt(bitPattern: ObjectIdentifier(name.inode)))
        lock.withLock {
            let entry = files[key] ?? Entry(name: name, users: 0)
            files[key] = Entry(name: entry.name, users: entry.users + 1)
        }
        return MappedFileID(key)
    }

    /// Another reference to a mapped file (fork copies an mm's). Linux: get_file() in dup_mmap()
    static func get(_ id: MappedFileID) {
        lock.withLock {
            guard let entry = files[id.rawValue] else { Panic.now("get of unmapped file \(id.rawValue)") }
            files[id.rawValue] = Entry(name: entry.name, users: entry.users + 1)
        }
    }

    /// Drops a reference; the last one forgets the name, and with it perhaps
    /// the inode and its pages (which go after the lock is let go of).
    /// Linux: fput()
    static func put(_ id: MappedFileID) {
        lock.lock()
        guard let entry = files[id.rawValue] else { Panic.now("put of unmapped file \(id.rawValue)") }
        files[id.rawValue] = entry.users == 1 ? nil : Entry(name: entry.name, users: entry.users - 1)
        // The last reference to the name may be this entry's: the inode and
        // its page cache go when it goes, after the lock (they take their own).
        withExtendedLifetime(entry) { lock.unlock() }
    }

    static func inode(_ id: MappedFileID) -> Inode? { lock.withLock { files[id.rawValue]?.inode } }

    /// The page cache of a mapped file. Linux: vma->vm_file->f_mapping
    static func mapping(_ id: MappedFileID) -> AddressSpace? { inode(id)?.mapping }

    /// The name the file was mapped by. Linux: vma->vm_file->f_path
    static func name(_ id: MappedFileID) -> Dentry? { lock.withLock { files[id.rawValue]?.name } }

    /// The page cache of every mapped file, for /proc/meminfo's Mapped.
    static func mappedSpaces() -> [AddressSpace] {
        lock.withLock { files.keyValuePairs.compactMap { $0.value.inode.mapping } }
    }
}
