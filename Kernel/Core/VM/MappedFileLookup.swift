// The maps printer needs a mapped file's path, device and inode number, which
// only the VFS knows. It asks through this protocol, so VM code does not depend
// on the VFS's types.

/// Identity of a mapped file as /proc/<pid>/maps shows it.
public struct MappedFileInfo: Equatable, Sendable {
    /// Linux: d_path(&file->f_path)
    public var path: String
    /// Linux: MAJOR(inode->i_sb->s_dev)
    public var deviceMajor: UInt32
    /// Linux: MINOR(inode->i_sb->s_dev)
    public var deviceMinor: UInt32
    /// Linux: inode->i_ino
    public var inode: UInt64

    public init(path: String, deviceMajor: UInt32, deviceMinor: UInt32, inode: UInt64) {
        self.path = path
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
        self.inode = inode
    }
}

/// Resolves the file handles stored in VMAs. Implemented by the VFS.
public protocol MappedFileLookup {
    func mappedFileInfo(_ file: MappedFileID) -> MappedFileInfo
}
