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
// All of it runs under the big kernel lock.

/// One shared anonymous object. Linux: the shmem inode behind the mapping
final class SharedMemoryObject {
    let id: MappedFileID
    /// Address spaces holding it. Linux: the struct file's f_count via vm_file
    fileprivate(set) var users = 1
    /// Frames by page index, 512 to a chunk (one page of entries), PhysAddr(0)
    /// for a page never touched: a sparse 2^44-byte mapping costs nothing until used.
    /// Linux: the inode's xarray (i_pages)
    private var chunks = HashMap<UInt64, UnsafeMutablePointer<PhysAddr>>()
    private static let chunkEntries = 512

    fileprivate init(id: MappedFileID) { self.id = id }

    deinit { precondition(chunks.isEmpty, "shared memory object freed with its pages") }

    /// The frame for page `index`, made (zeroed) on first use; nil without memory.
    /// Linux: shmem_get_folio(SGP_CACHE)
    func findOrCreate(_ index: UInt64) -> PhysAddr? {
        let key = index / UInt64(Self.chunkEntries), slot = Int(index % UInt64(Self.chunkEntries))
        if chunks[key] == nil {
            let chunk = UnsafeMutablePointer<PhysAddr>.allocate(capacity: Self.chunkEntries)
            chunk.initialize(repeating: PhysAddr(0), count: Self.chunkEntries)
            chunks[key] = chunk
        }
        let chunk = chunks[key]!
        if chunk[slot].value == 0 {
            guard let frame = PageAllocator.allocate(flags: .zero) else { return nil }
            MapCount.initialize(frame, to: 1)      // the object's own reference
            chunk[slot] = frame
        }
        return chunk[slot]
    }

    /// Drops the object's reference on every page; a page no PTE maps any more
    /// goes back to the buddy allocator. Linux: shmem_evict_inode() → shmem_truncate_range()
    fileprivate func releasePages() {
        for chunk in chunks.values {
            for slot in 0..<Self.chunkEntries where chunk[slot].value != 0 {
                if MapCount.remove(chunk[slot]) { PageAllocator.free(chunk[slot]) }
            }
            chunk.deallocate()
        }
        chunks.removeAll()
    }
}

enum SharedMemory {
    nonisolated(unsafe) private static var objects = HashMap<UInt64, SharedMemoryObject>()
    nonisolated(unsafe) private static var lastID: UInt64 = 0
    /// Object IDs have this bit set; inode numbers (MappedFiles) never do.
    static let idTag: UInt64 = 1 << 63

    /// A new object with one user, for the mmap that creates it. Linux: shmem_zero_setup()
    static func create() -> MappedFileID {
        lastID += 1
        let id = MappedFileID(idTag | lastID)
        objects[id.rawValue] = SharedMemoryObject(id: id)
        return id
    }

    static func object(_ id: MappedFileID) -> SharedMemoryObject? {
        id.rawValue & idTag == 0 ? nil : objects[id.rawValue]
    }

    /// Another address space maps the object (fork). Linux: get_file() in dup_mmap()
    static func get(_ id: MappedFileID) {
        guard let object = object(id) else { return }
        object.users += 1
    }

    /// An address space stops mapping it; the last one frees its pages. Linux: fput()
    static func put(_ id: MappedFileID) {
        guard let object = object(id) else { return }
        object.users -= 1
        guard object.users == 0 else { return }
        object.releasePages()
        objects[id.rawValue] = nil
    }
}
