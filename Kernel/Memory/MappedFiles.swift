// The objects behind file-backed VMAs. A VMA stores only an opaque
// MappedFileID (Kernel/Core stays free of the VFS); this table turns it back
// into what a fault reads: an inode, or a shared anonymous object (Shmem.swift,
// whose IDs carry SharedMemory.idTag).
//
// References are counted per mm, not per VMA: an mm holds one reference to each
// object some VMA of it maps (MM.attach), taken at mmap, execve and fork, and
// dropped when its last such VMA is unmapped or the mm is torn down
// (MM.detachUnusedFiles, exit_mmap). The last reference lets the inode go, so a
// program that maps and unmaps many files keeps none of them.
// Both tables (this one and SharedMemory's) and their counts are protected by
// `MappedFiles.lock`; what a fault then reads (the inode, the object's pages)
// is used after letting go of it.
// Linux: vma->vm_file with get_file() / fput()

enum MappedFiles {
    /// A mapped file (by the name it was mapped with) and the number of mm's
    /// mapping it. Linux: the file's f_path and f_count
    private struct Entry {
        let name: Dentry
        var users: Int
        var inode: Inode { name.inode }
    }
    /// Protected by `lock`. Keyed by the inode's address with the top bit
    /// clear (kernel addresses all have it set; SharedMemory's IDs use it):
    /// inode numbers repeat across file systems, addresses do not while the
    /// entry holds the inode.
    nonisolated(unsafe) private static var files = HashMap<UInt64, Entry>()
    /// This table, SharedMemory's, and every reference count in them. Taken
    /// inside mmap_lock; allocates (the tables grow) under it.
    /// Linux: each struct file's f_count is atomic; Keel's tables need a lock
    static let lock = SpinLock(LockClass("mapped_files_lock"), disablesInterrupts: false)

    /// A new reference to the file `name` names, for a mapping of it. Linux: get_file() in mmap_region()
    static func get(_ name: Dentry) -> MappedFileID {
        let key = UInt64(UInt(bitPattern: ObjectIdentifier(name.inode))) & ~SharedMemory.idTag
        lock.withLock {
            let entry = files[key] ?? Entry(name: name, users: 0)
            files[key] = Entry(name: entry.name, users: entry.users + 1)
        }
        return MappedFileID(key)
    }

    /// Another reference to a mapped object (fork copies an mm's). Linux: get_file() in dup_mmap()
    static func get(_ id: MappedFileID) {
        lock.withLock {
            if SharedMemory.getLocked(id) { return }
            guard let entry = files[id.rawValue] else { Panic.now("get of unmapped file \(id.rawValue)") }
            files[id.rawValue] = Entry(name: entry.name, users: entry.users + 1)
        }
    }

    /// Drops a reference; the last one forgets the inode (or frees the shared
    /// object's pages, after letting go of the lock). Linux: fput()
    static func put(_ id: MappedFileID) {
        lock.lock()
        let shared = SharedMemory.putLocked(id)
        if !shared.isShared {
            guard let entry = files[id.rawValue] else { Panic.now("put of unmapped file \(id.rawValue)") }
            files[id.rawValue] = entry.users == 1 ? nil : Entry(name: entry.name, users: entry.users - 1)
        }
        lock.unlock()
        shared.last?.releasePages()
    }

    static func inode(_ id: MappedFileID) -> Inode? { lock.withLock { files[id.rawValue]?.inode } }

    /// The name the file was mapped by. Linux: vma->vm_file->f_path
    static func name(_ id: MappedFileID) -> Dentry? { lock.withLock { files[id.rawValue]?.name } }

    /// Fills `frame` with file page `page`, zeros past the end of the file (the
    /// frame is not zeroed first: the copy writes most of it anyway).
    /// Linux: filemap_fault() reading into the page cache
    static func read(_ id: MappedFileID, page: UInt64, into frame: UnsafeMutableRawPointer) {
        guard let inode = inode(id) else { Panic.now("fault on unmapped file \(id.rawValue)") }
        let count = Int(pageSize)
        // A page offset from mmap can be as large as 2^52: far past any file,
        // and its byte offset may not fit an Int.
        let (offset, overflow) = page.multipliedReportingOverflow(by: pageSize)
        let read = overflow || offset > UInt64(Int.max) ? 0
            : max(0, readIgnoringErrors(inode, into: UnsafeMutableRawBufferPointer(start: frame, count: count), at: Int(offset)))
        if read < count { _ = memset(frame + read, 0, count - read) }
    }

    /// What a fault reads; a read error (a disk's EIO) reads as zeros here
    /// until the page cache can answer it with SIGBUS.
    private static func readIgnoringErrors(_ inode: Inode, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        do throws(Errno) {
            return try inode.read(into: buffer, at: offset)
        } catch {
            Log.error("page fault: read error \(error.name) on inode \(inode.ino)")
            return 0
        }
    }
}
