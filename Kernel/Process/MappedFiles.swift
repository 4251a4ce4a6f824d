// The files behind file-backed VMAs. A VMA stores only an opaque MappedFileID
// (Kernel/Core stays free of the VFS); this table turns it back into the inode
// whose pages a fault reads. Linux: vma->vm_file

enum MappedFiles {
    nonisolated(unsafe) private static var inodes: [UInt64: Inode] = [:]

    /// The ID under which `inode` backs VMAs. Linux: get_file() on mmap
    static func id(for inode: Inode) -> MappedFileID {
        inodes[inode.ino] = inode
        return MappedFileID(inode.ino)
    }

    static func inode(_ id: MappedFileID) -> Inode? { inodes[id.rawValue] }

    /// Copies file page `page` into a zeroed frame; bytes past the end of the file stay zero.
    /// Linux: filemap_fault() reading into the page cache
    static func read(_ id: MappedFileID, page: UInt64, into frame: UnsafeMutableRawPointer) {
        guard let inode = inodes[id.rawValue] else { return }
        _ = inode.read(into: UnsafeMutableRawBufferPointer(start: frame, count: Int(pageSize)), at: Int(page * pageSize))
    }
}
