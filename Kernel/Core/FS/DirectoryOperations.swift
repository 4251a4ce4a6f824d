// What a directory can do, whatever file system it belongs to: the initramfs's
// directories keep their entries in memory (RamDirectory), /proc invents its
// entries when asked (one per live process). Path walk and getdents64 only
// see this protocol.

/// One name in a directory, as getdents64 reports it. Linux: the arguments of filldir64()
public struct DirectoryEntry: Equatable {
    public var name: String
    /// Linux: d_ino
    public var ino: UInt64
    /// Linux: d_type, via fs_umode_to_dtype()
    public var type: FileType

    public init(name: String, ino: UInt64, type: FileType) {
        self.name = name
        self.ino = ino
        self.type = type
    }
}

/// Linux: the directory half of inode_operations (lookup) and file_operations (iterate_shared)
public protocol DirectoryOperations: AnyObject {
    /// The inode `name` stands for here, nil if there is none. Never called with
    /// "." or "..", which the path walk handles. Linux: inode_operations.lookup
    func lookup(_ name: String) -> Inode?
    /// Every entry but "." and "..", in an order that stays the same while the
    /// directory does not change. Linux: file_operations.iterate_shared
    func entries() -> [DirectoryEntry]
}

/// A file whose contents are printed when it is read, such as /proc/meminfo:
/// each read prints the text as of now into a window over the bytes it asked
/// for. Linux: a seq_file (single_open() with a show() callback)
public protocol GeneratedFile: AnyObject {
    /// Prints the whole text into `window`, which keeps its part. An error fails
    /// the open or the read (ESRCH: the process is gone).
    func generate(into window: inout TextWindow) throws(Errno)
}
