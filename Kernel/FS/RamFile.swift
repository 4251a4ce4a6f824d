// A tmpfs file's bytes are its page cache (Kernel/Memory/PageCache.swift):
// shmem pages, made zeroed when first written or faulted in, charged to the
// file system's size, never written anywhere and never dropped. A page never
// made is a hole and reads as zeros; truncate gives pages back. This is
// everything tmpfs adds to the page cache: there is no storage to read,
// write or find room in. Shared anonymous memory and memfds are such files
// too, on the kernel's internal tmpfs (Kernel/Memory/Shmem.swift).
// Linux: mm/shmem.c (shmem_aops, shmem_get_folio, shmem_inode_acct_blocks)

final class RamFile: AddressSpaceOperations {
    private let ramFileSystem: RamFileSystem
    /// The largest tmpfs file: 2^47 bytes, as large as a user address space
    /// (a shared anonymous mapping of all of it is such a file), far beyond any
    /// memory Keel runs in, and small enough that no offset arithmetic can
    /// overflow. Linux: MAX_LFS_FILESIZE
    static let maxSize = 1 << 47

    /// A new, empty file's contents: its page cache over these operations.
    static func makeContents(_ fileSystem: RamFileSystem) -> AddressSpace {
        AddressSpace(RamFile(fileSystem))
    }

    private init(_ fileSystem: RamFileSystem) {
        ramFileSystem = fileSystem
    }

    var isShmem: Bool { true }
    var fileSystem: AnyObject { ramFileSystem }
    var maxSize: Int { Self.maxSize }
    /// Shmem counts its pages itself (AddressSpace.allocatedBytes).
    var allocatedBytes: Int { 0 }

    /// A page not in the cache is a hole: zeros. Linux: shmem_get_folio() of a hole
    func readPage(_ index: UInt64, into page: UnsafeMutableRawBufferPointer) throws(Errno) {
        page.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Never called: shmem pages are not written back.
    func writePage(_ index: UInt64, from bytes: UnsafeRawBufferPointer) throws(Errno) {
        Panic.now("tmpfs: write-back of a shmem page")
    }

    /// Room is taken page by page as pages are made (`chargePage`).
    func reserve(at offset: Int, count: Int) throws(Errno) -> Int { count }

    /// The size is the cache's own; the pages past it went with the truncate.
    func setStorageSize(_ size: Int) throws(Errno) {}

    /// Memory is as durable as tmpfs gets.
    func syncStorage() throws(Errno) {}

    func chargePage() -> Bool { ramFileSystem.chargePages(1) }
    func unchargePages(_ count: Int) { ramFileSystem.unchargePages(count) }
}
