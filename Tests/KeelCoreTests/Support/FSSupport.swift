// Helpers for the file-system tests: a tmpfs whose files keep their bytes in
// Swift arrays (the kernel's keep them in pages), a tree built by path through
// the VFS calls themselves, and a seeded PRNG for the randomized tests.
@testable import KeelCore

/// A file's bytes in an array: the host stand-in for the kernel's RamFile,
/// charging whole pages to its tmpfs like RamFile does.
final class MemoryFile: FileContents {
    private let fileSystem: RamFileSystem?
    private(set) var bytes: [UInt8] = []
    private var chargedPages = 0

    init(_ fileSystem: RamFileSystem?) { self.fileSystem = fileSystem }

    deinit { fileSystem?.unchargePages(chargedPages) }

    var size: Int { bytes.count }
    var allocatedBytes: Int { chargedPages * Int(pageSize) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard offset >= 0, offset < bytes.count else { return 0 }
        let count = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
        return count
    }

    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard offset >= 0 else { throw .EINVAL }
        let end = offset + buffer.count
        try charge(upTo: end)
        if end > bytes.count { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
        for i in 0..<buffer.count { bytes[offset + i] = buffer[i] }
        return buffer.count
    }

    func truncate(to size: Int) throws(Errno) {
        try charge(upTo: size)
        if size < bytes.count { bytes.removeLast(bytes.count - size) } else {
            bytes += [UInt8](repeating: 0, count: size - bytes.count)
        }
    }

    func allocate(offset: Int, length: Int) throws(Errno) {
        if offset + length > bytes.count { try truncate(to: offset + length) }
    }

    private func charge(upTo end: Int) throws(Errno) {
        let pages = (end + Int(pageSize) - 1) / Int(pageSize)
        guard pages > chargedPages, let fileSystem else { return }
        guard fileSystem.chargePages(pages - chargedPages) else { throw .ENOSPC }
        chargedPages = pages
    }

    func lockForWriting() {}
    func unlockForWriting() {}
    func sync() throws(Errno) {}
}


/// A tmpfs on the host: its files are MemoryFiles.
func makeTestTmpfs(readOnly: Bool = false, maxPages: Int = 1 << 20, maxInodes: Int = 1 << 20,
                   minor: UInt32 = 9) -> (superBlock: SuperBlock, root: Inode, fileSystem: RamFileSystem) {
    let fileSystem = RamFileSystem(maxPages: maxPages, maxInodes: maxInodes) { fs in MemoryFile(fs) }
    let superBlock = SuperBlock(device: DeviceNumber(major: 0, minor: minor), isReadOnly: readOnly, typeName: "tmpfs",
                                magic: FileSystemMagic.tmpfs, operations: fileSystem)
    return (superBlock, superBlock.makeInode(.directory(RamDirectory(fileSystem)), permissions: 0o755), fileSystem)
}

/// A tree built by path. The fixture makes its inodes through the directory's
/// own create, so a read-only tree can be built too; the Namei tests go
/// through Namei.
final class FSTestTree {
    let superBlock: SuperBlock
    let root: Dentry
    let fileSystem: RamFileSystem
    var mounts = MountTable()

    init(readOnly: Bool = false) {
        let made = makeTestTmpfs(readOnly: readOnly)
        superBlock = made.superBlock
        fileSystem = made.fileSystem
        root = Dentry(root: made.root)
    }

    @discardableResult
    func make(_ path: String, _ kind: NewInodeKind, _ permissions: UInt32) -> Inode {
        let (parent, name) = try! PathWalk.resolveParent(path, root: root, from: root, mounts: mounts)
        return try! parent.inode.directory!.create(name!, kind, permissions: permissions, owner: .root, in: parent.inode)
    }

    @discardableResult
    func mkdir(_ path: String, _ permissions: UInt32 = 0o755) -> Inode { make(path, .directory, permissions) }

    @discardableResult
    func file(_ path: String, _ text: String, _ permissions: UInt32 = 0o644) -> Inode {
        let inode = make(path, .regular, permissions)
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { try! inode.contents!.write(from: $0, at: 0) }
        return inode
    }

    @discardableResult
    func symlink(_ path: String, _ target: String) -> Inode { make(path, .symlink(target), 0o777) }

    /// The dentry, or the error.
    func dentry(_ path: String, follow: Bool = true) throws(Errno) -> Dentry {
        try PathWalk.resolve(path, root: root, from: root, mounts: mounts, followFinalSymlink: follow)
    }

    /// The resolved path, or the error.
    func resolve(_ path: String, from start: String = "/", follow: Bool = true) -> Result<String, Errno> {
        do throws(Errno) {
            let startDentry = try PathWalk.resolve(start, root: root, from: root, mounts: mounts)
            return .success(try PathWalk.resolve(path, root: root, from: startDentry, mounts: mounts,
                                                 followFinalSymlink: follow).path)
        } catch {
            return .failure(error)
        }
    }

    /// Runs a Namei call's parent resolution for `path`, as the syscalls do.
    func parent(_ path: String) throws(Errno) -> (Dentry, String?) {
        try PathWalk.resolveParent(path, root: root, from: root, mounts: mounts)
    }

    /// The names in a directory, sorted.
    func list(_ path: String) -> [String] {
        try! dentry(path).inode.directory!.entries().map(\.name)
    }
}

/// Reads a whole regular file through Inode.read, in small pieces.
func fsReadAll(_ inode: Inode, chunk: Int = 7) -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: chunk)
    while true {
        let n = buffer.withUnsafeMutableBytes { try! inode.read(into: $0, at: out.count) }
        if n == 0 { return out }
        out += buffer[0..<n]
    }
}
