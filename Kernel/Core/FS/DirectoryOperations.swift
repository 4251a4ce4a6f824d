// What a directory can do, whatever file system it belongs to: tmpfs keeps its
// entries in memory (RamDirectory), ext2 on disk, /proc invents its entries
// when asked (one per live process). Path walk, getdents64 and the calls that
// make and remove names only see this protocol. The VFS (Kernel/Core/FS/Namei)
// checks Linux's rules before it calls a change (the name is new, the target is
// empty, nothing moves into itself); the file system does the change and keeps
// its link counts and times. Every call runs under the namespace lock
// (Kernel/FS/Namespace.swift): lookups shared, changes exclusive.

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

/// What a new inode is to be: mkdir, symlink, mknod and open(O_CREAT) differ only in this.
public enum NewInodeKind: Equatable {
    case regular
    case directory
    case symlink(String)
    case characterDevice(DeviceNumber)
    case blockDevice(DeviceNumber)
    case fifo

    public var fileType: FileType {
        switch self {
        case .regular: .regular
        case .directory: .directory
        case .symlink: .symlink
        case .characterDevice: .characterDevice
        case .blockDevice: .blockDevice
        case .fifo: .fifo
        }
    }
}

/// Linux: the directory half of inode_operations (lookup, create, mkdir, symlink,
/// mknod, link, unlink, rmdir, rename) and file_operations (iterate_shared)
public protocol DirectoryOperations: AnyObject {
    /// The inode `name` stands for here, nil if there is none. Never called with
    /// "." or "..", which the path walk handles. Linux: inode_operations.lookup
    func lookup(_ name: String) throws(Errno) -> Inode?
    /// Every entry but "." and "..", in an order that stays the same while the
    /// directory does not change. Linux: file_operations.iterate_shared
    func entries() throws(Errno) -> [DirectoryEntry]
    /// Makes a new inode named `name` (which does not exist) in `directory`
    /// (this directory's inode), owned by `owner`. Linux: create, mkdir, symlink, mknod
    func create(_ name: String, _ kind: NewInodeKind, permissions: UInt32, owner: Credentials,
                in directory: Inode) throws(Errno) -> Inode
    /// Gives `inode` (not a directory) the new name `name`. Linux: inode_operations.link
    func link(_ inode: Inode, as name: String, in directory: Inode) throws(Errno)
    /// Takes the name away from `inode`; a directory must be empty (ENOTEMPTY).
    /// The inode lives on while open. Linux: inode_operations.unlink, rmdir
    func remove(_ name: String, _ inode: Inode, in directory: Inode) throws(Errno)
    /// Moves `name` (leading to `inode`) from `directory` to `newName` in
    /// `newDirectory` (a directory of the same file system, perhaps this one),
    /// replacing `replaced` there if it exists (the VFS checked it may).
    /// Linux: inode_operations.rename
    func rename(_ name: String, _ inode: Inode, in directory: Inode, to newName: String,
                in newDirectory: Inode, replacing replaced: Inode?) throws(Errno)
}

/// A directory that holds no names of its own making (/proc): creating
/// regular files is EACCES, every other change EPERM, as for a Linux
/// directory whose inode_operations lack the call.
public protocol FixedDirectory: DirectoryOperations {}

extension FixedDirectory {
    public func create(_ name: String, _ kind: NewInodeKind, permissions: UInt32, owner: Credentials,
                       in directory: Inode) throws(Errno) -> Inode {
        throw kind == .regular ? .EACCES : .EPERM
    }
    public func link(_ inode: Inode, as name: String, in directory: Inode) throws(Errno) { throw .EPERM }
    public func remove(_ name: String, _ inode: Inode, in directory: Inode) throws(Errno) { throw .EPERM }
    public func rename(_ name: String, _ inode: Inode, in directory: Inode, to newName: String,
                       in newDirectory: Inode, replacing replaced: Inode?) throws(Errno) { throw .EPERM }
}

/// A directory with nothing in it, ever: pipefs's root, /proc/<pid>/net.
public final class EmptyDirectory: FixedDirectory {
    public init() {}
    public func lookup(_ name: String) -> Inode? { nil }
    public func entries() -> [DirectoryEntry] { [] }
}

/// A file whose contents are printed when it is read, such as /proc/meminfo:
/// each read prints the text as of now into a window over the bytes it asked
/// for. Linux: a seq_file (single_open() with a show() callback)
public protocol GeneratedFile: AnyObject {
    /// Prints the whole text into `window`, which keeps its part. An error fails
    /// the open or the read (ESRCH: the process is gone).
    func generate(into window: inout TextWindow) throws(Errno)
}

/// A generated file whose text a closure prints: every /proc file, tracefs's
/// read-only files. Linux: single_open() with a show() callback
public final class PrintedFile: GeneratedFile {
    private let show: (inout TextWindow) throws(Errno) -> Void

    public init(_ show: @escaping (inout TextWindow) throws(Errno) -> Void) {
        self.show = show
    }

    public func generate(into window: inout TextWindow) throws(Errno) { try show(&window) }
}

/// A directory whose entries are made once and never change: the trees of
/// tracefs and sysfs. Linux: what debugfs/tracefs_create_dir() and kernfs build
public final class FixedTree: FixedDirectory {
    private let children: [(name: String, inode: Inode)]

    public init(_ children: [(String, Inode)]) {
        self.children = children.map { (name: $0.0, inode: $0.1) }
    }

    public func lookup(_ name: String) -> Inode? { children.first { $0.name == name }?.inode }

    public func entries() -> [DirectoryEntry] {
        children.map { DirectoryEntry(name: $0.name, ino: $0.inode.ino, type: $0.inode.fileType) }
    }
}

/// A file with no stored bytes that its subsystem reads and writes itself at
/// every call: binary tables read at an offset (/proc/<pid>/pagemap,
/// /proc/kpageflags), control files that take a written word (tracefs's
/// tracing_on, events/*/enable) and streams a read consumes (trace_pipe).
/// stat shows a regular file of size 0, as Linux does for these.
/// Linux: a proc or tracefs file with its own file_operations
/// (proc_pagemap_operations, kpageflags_proc_ops, tracing_pipe_fops)
public protocol SpecialFile: AnyObject {
    /// Checked at open, after the permission bits: refuse what the file cannot
    /// do, or act on O_TRUNC (tracefs's `trace` is emptied by it).
    func open(flags: OpenFlags) throws(Errno)
    /// Checked once per read(2) before any byte moves, with the whole count:
    /// pagemap and kpageflags want whole 8-byte entries (EINVAL).
    func checkRead(count: Int, at offset: Int) throws(Errno)
    /// Fills `buffer` (at most a page) from `offset` on and returns the bytes
    /// filled, 0 at the end. A stream ignores the offset and may sleep until
    /// there is something to read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int
    /// The same for an open file with O_NONBLOCK set or not: a stream with
    /// nothing to read is EAGAIN instead of waiting (trace_pipe). The default
    /// ignores it.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, nonBlocking: Bool) throws(Errno) -> Int
    /// Takes the bytes of one write(2) (at most a page) and returns how many it took.
    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int
    /// false for a stream: no offset, lseek and pread are ESPIPE.
    var isSeekable: Bool { get }
}

extension SpecialFile {
    public func open(flags: OpenFlags) throws(Errno) {}
    public func checkRead(count: Int, at offset: Int) throws(Errno) {}
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, nonBlocking: Bool) throws(Errno) -> Int {
        try read(into: buffer, at: offset)
    }
    public func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int { throw .EINVAL }
    public var isSeekable: Bool { true }
}
