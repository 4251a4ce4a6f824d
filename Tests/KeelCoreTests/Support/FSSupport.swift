// Helpers for the file-system tests: a small in-memory tree built by path, and
// a seeded PRNG for the randomized descriptor-table test.
@testable import KeelCore

/// A read-only tree whose file bytes live in buffers owned by the tree.
final class FSTestTree {
    let superBlock = SuperBlock(device: DeviceNumber(major: 0, minor: 9), isReadOnly: true)
    let root: Dentry
    private var buffers: [UnsafeMutableRawBufferPointer] = []

    init() {
        root = Dentry(root: superBlock.makeInode(.directory(RamDirectory()), permissions: 0o755))
    }

    deinit {
        for b in buffers { b.deallocate() }
    }

    /// Adds `inode` at `path`; the parent must exist.
    @discardableResult
    func add(_ path: String, _ inode: Inode) -> Inode {
        let (parent, name) = try! PathWalk.resolveParent(path, root: root, from: root)
        (parent.inode.directory as! RamDirectory).insert(name!, inode)
        if inode.isDirectory { parent.inode.nlink += 1 }
        return inode
    }

    @discardableResult
    func mkdir(_ path: String, _ permissions: UInt32 = 0o755) -> Inode {
        add(path, superBlock.makeInode(.directory(RamDirectory()), permissions: permissions))
    }

    @discardableResult
    func file(_ path: String, _ text: String, _ permissions: UInt32 = 0o644) -> Inode {
        let bytes = Array(text.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        buffer.copyBytes(from: bytes)
        buffers.append(buffer)
        let data = FileData.borrowed(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<bytes.count]))
        return add(path, superBlock.makeInode(.regular(data), permissions: permissions))
    }

    @discardableResult
    func symlink(_ path: String, _ target: String) -> Inode {
        add(path, superBlock.makeInode(.symlink(target), permissions: 0o777))
    }

    /// The resolved path, or the error.
    func resolve(_ path: String, from start: String = "/", follow: Bool = true) -> Result<String, Errno> {
        do throws(Errno) {
            let startDentry = try PathWalk.resolve(start, root: root, from: root)
            return .success(try PathWalk.resolve(path, root: root, from: startDentry, followFinalSymlink: follow).path)
        } catch {
            return .failure(error)
        }
    }
}

/// Reads a whole regular file through Inode.read, in small pieces.
func fsReadAll(_ inode: Inode, chunk: Int = 7) -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: chunk)
    while true {
        let n = buffer.withUnsafeMutableBytes { inode.read(into: $0, at: out.count) }
        if n == 0 { return out }
        out += buffer[0..<n]
    }
}

