// Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS): an object that owns the
// pages by index, so every process sharing the mapping (after fork) maps the
// same frames, and a page exists only once some sharer touches it. Linux backs
// such a mapping with an unlinked tmpfs file, "/dev/zero (deleted)" in
// /proc/<pid>/maps; Keel's object plays that file: VMAs name it by a
// MappedFileID like any mapped file, and the page-fault handler asks this table
// first. (The page-cache work will make it a real shmem inode.)
// Linux: mm/shmem.c shmem_zero_setup(), shmem_fault(), shmem_get_folio()
//
// Lifetimes are counted per address space, not per VMA: an mm holds one
// reference to each object some VMA of it maps (MM.attach, MappedFiles.swift),
// taken at mmap and at fork, dropped when its last such VMA is unmapped or the
// mm is torn down. Each page the object holds keeps one mapping reference of
// its own on the frame, so a frame outlives every PTE until the object dies.
// The table of objects and their `users` are protected by MappedFiles.lock;
// each object's pages by its own `lock`.

/// One shared anonymous object. Linux: the shmem inode behind the mapping
final class SharedMemoryObject {
    let id: MappedFileID
    /// Address spaces holding it. Protected by MappedFiles.lock.
    /// Linux: the struct file's f_count via vm_file
    fileprivate(set) var users = 1
    /// `pages` and the frames in them: faults of several mms fill pages at once.
    /// Linux: the xarray's xa_lock
    private let lock = SpinLock(SharedMemoryObject.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&shmem->lock")
    /// Frames by page index: a sparse 2^44-byte mapping costs nothing until used.
    /// Linux: the inode's xarray (i_pages)
    private var pages = PageIndex()

    fileprivate init(id: MappedFileID) { self.id = id }

    deinit { precondition(pages.isEmpty, "shared memory object freed with its pages") }

    /// The frame for page `index`, made (zeroed) on first use; nil without memory.
    /// Linux: shmem_get_folio(SGP_CACHE)
    func findOrCreate(_ index: UInt64) -> PhysAddr? {
        lock.lock()
        defer { lock.unlock() }
        if let frame = pages[index] { return frame }
        guard let frame = PageAllocator.allocate(flags: .zero) else { return nil }
        PageAllocator.mark(frame, PageUse.shmem.flags)
        pages.insert(frame, at: index)
        MapCount.initialize(frame, to: 1)      // the object's own reference
        return frame
    }

    /// Drops the object's reference on every page; a page no PTE maps any more
    /// goes back to the buddy allocator. Called once no mm holds the object
    /// (so no fault can reach it). Linux: shmem_evict_inode() → shmem_truncate_range()
    func releasePages() {
        pages.removeAll { frame in
            if MapCount.remove(frame) { PageAllocator.free(frame) }
        }
    }
}

enum SharedMemory {
    nonisolated(unsafe) private static var objects = HashMap<UInt64, SharedMemoryObject>()
    nonisolated(unsafe) private static var lastID: UInt64 = 0
    /// Object IDs have this bit set; inode numbers (MappedFiles) never do.
    static let idTag: UInt64 = 1 << 63

    /// A new object with one user, for the mmap that creates it. Linux: shmem_zero_setup()
    static func create() -> MappedFileID {
        MappedFiles.lock.withLock {
            lastID += 1
            let id = MappedFileID(idTag | lastID)
            objects[id.rawValue] = SharedMemoryObject(id: id)
            return id
        }
    }

    /// The object `id` names, or nil for an inode's ID.
    static func object(_ id: MappedFileID) -> SharedMemoryObject? {
        id.rawValue & idTag == 0 ? nil : MappedFiles.lock.withLock { objects[id.rawValue] }
    }

    /// Another address space maps the object (fork); false if `id` names no
    /// object. The caller holds MappedFiles.lock. Linux: get_file() in dup_mmap()
    static func getLocked(_ id: MappedFileID) -> Bool {
        guard id.rawValue & idTag != 0, let object = objects[id.rawValue] else { return false }
        object.users += 1
        return true
    }

    /// An address space stops mapping it (the caller holds MappedFiles.lock).
    /// Returns whether `id` names an object, and the object if that was its
    /// last user: the caller frees its pages after letting go of the lock.
    /// Linux: fput()
    static func putLocked(_ id: MappedFileID) -> (isShared: Bool, last: SharedMemoryObject?) {
        guard id.rawValue & idTag != 0, let object = objects[id.rawValue] else { return (false, nil) }
        object.users -= 1
        guard object.users == 0 else { return (true, nil) }
        objects[id.rawValue] = nil
        return (true, object)
    }
}
