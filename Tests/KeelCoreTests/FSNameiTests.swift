// The name-changing calls' rules (Namei) over tmpfs directories: link counts,
// the errors Linux gives in the order it gives them, rename's replace and
// subtree rules, mounts in the walk, tmpfs's size limit and options, and the
// page index files keep their pages in.
import XCTest
@testable import KeelCore

final class FSNameiTests: XCTestCase {
    let tree = FSTestTree()

    func error(_ body: () throws(Errno) -> Void) -> Errno? {
        do throws(Errno) {
            try body()
            return nil
        } catch {
            return error
        }
    }

    func create(_ path: String, _ kind: NewInodeKind = .regular) -> Errno? {
        error { () throws(Errno) in
            let (parent, name) = try tree.parent(path)
            _ = try Namei.create(name, in: parent, kind, permissions: 0o644, as: .root)
        }
    }

    func unlink(_ path: String) -> Errno? {
        error { () throws(Errno) in
            let (parent, name) = try tree.parent(path)
            try Namei.unlink(name, in: parent, mustBeDirectory: PathWalk.hasTrailingSlash(path), mounts: tree.mounts,
                             as: .root)
        }
    }

    func rmdir(_ path: String) -> Errno? {
        error { () throws(Errno) in
            let (parent, name) = try tree.parent(path)
            try Namei.rmdir(name, lastName: PathWalk.components(of: path).last, in: parent, mounts: tree.mounts,
                            as: .root)
        }
    }

    func rename(_ old: String, _ new: String, _ flags: RenameFlags = []) -> Errno? {
        error { () throws(Errno) in
            let (oldParent, oldName) = try tree.parent(old)
            let (newParent, newName) = try tree.parent(new)
            try Namei.rename(oldName, in: oldParent, to: newName, in: newParent, flags: flags,
                             slashes: PathWalk.hasTrailingSlash(old) || PathWalk.hasTrailingSlash(new),
                             mounts: tree.mounts, as: .root)
        }
    }

    func testCreateAndLinkCounts() throws {
        XCTAssertNil(create("/d", .directory))
        XCTAssertEqual(tree.root.inode.nlink, 3, "the root gains the child's ..")
        XCTAssertEqual(create("/d", .directory), .EEXIST)
        XCTAssertEqual(create("/d"), .EEXIST)
        XCTAssertEqual(create("/"), .EEXIST, "no last name")
        XCTAssertEqual(create("/nope/f"), .ENOENT)
        XCTAssertNil(create("/d/f"))
        XCTAssertEqual(create("/d/f/g"), .ENOTDIR)
        let f = try tree.dentry("/d/f").inode
        XCTAssertEqual(f.nlink, 1)
        XCTAssertNil(error { () throws(Errno) in
            let (parent, name) = try tree.parent("/d/g")
            try Namei.link(f, as: name, in: parent, as: .root)
        })
        XCTAssertEqual(f.nlink, 2)
        XCTAssertEqual(error { () throws(Errno) in
            let (parent, name) = try tree.parent("/e")
            try Namei.link(try tree.dentry("/d").inode, as: name, in: parent, as: .root)
        }, .EPERM, "no hard links to directories")
        XCTAssertNil(unlink("/d/g"))
        XCTAssertEqual(f.nlink, 1)
        XCTAssertEqual(unlink("/d/g"), .ENOENT)
        XCTAssertEqual(unlink("/d"), .EISDIR)
        XCTAssertEqual(unlink("/d/f/"), .ENOTDIR)
        XCTAssertEqual(rmdir("/d"), .ENOTEMPTY)
        XCTAssertEqual(rmdir("/d/f"), .ENOTDIR)
        XCTAssertEqual(rmdir("/d/."), .EINVAL)
        XCTAssertEqual(rmdir("/d/.."), .ENOTEMPTY)
        XCTAssertEqual(rmdir("/"), .EBUSY)
        XCTAssertNil(unlink("/d/f"))
        XCTAssertEqual(f.nlink, 0, "gone from the tree; alive while referenced")
        XCTAssertNil(rmdir("/d"))
        XCTAssertEqual(tree.root.inode.nlink, 2)
        XCTAssertEqual(tree.fileSystem.inodesUsed, 0, "every inode made was given back")
    }

    func testRenameRules() throws {
        tree.mkdir("/a")
        tree.mkdir("/a/b")
        tree.file("/f", "one")
        tree.file("/g", "two")
        tree.mkdir("/empty")
        XCTAssertEqual(rename("/a", "/a/b/c"), .EINVAL, "into its own subtree")
        XCTAssertEqual(rename("/a/b", "/a"), .ENOTEMPTY, "onto its own ancestor")
        XCTAssertEqual(rename("/f", "/a"), .EISDIR)
        XCTAssertEqual(rename("/a", "/f"), .ENOTDIR)
        XCTAssertEqual(rename("/empty", "/a"), .ENOTEMPTY)
        XCTAssertEqual(rename("/f", "/g", .noReplace), .EEXIST)
        XCTAssertEqual(rename("/f", "/g", .exchange), .EINVAL)
        XCTAssertEqual(rename("/f", "/g", RenameFlags(rawValue: 8)), .EINVAL)
        XCTAssertEqual(rename("/missing", "/x"), .ENOENT)
        XCTAssertEqual(rename("/f/", "/x"), .ENOTDIR)
        XCTAssertEqual(rename("/a/.", "/x"), .EBUSY)
        let g = try tree.dentry("/g").inode
        XCTAssertNil(rename("/f", "/g"), "replace")
        XCTAssertEqual(g.nlink, 0)
        XCTAssertEqual(fsReadAll(try tree.dentry("/g").inode), Array("one".utf8))
        XCTAssertEqual(tree.list("/"), ["a", "empty", "g"])
        // A directory moving to another parent takes its ".." link along.
        XCTAssertNil(rename("/a/b", "/empty/b"))
        XCTAssertEqual(try tree.dentry("/a").inode.nlink, 2)
        XCTAssertEqual(try tree.dentry("/empty").inode.nlink, 3)
        XCTAssertNil(rename("/empty/b", "/a"), "an empty directory may be replaced by a directory")
        XCTAssertEqual(tree.list("/"), ["a", "empty", "g"])
        XCTAssertEqual(try tree.dentry("/empty").inode.nlink, 2)
        XCTAssertEqual(tree.root.inode.nlink, 4, "., .., and the .. of a and empty")
        tree.file("/h", "x")
        let h = try tree.dentry("/h").inode
        XCTAssertNil(error { () throws(Errno) in
            let (parent, name) = try tree.parent("/h2")
            try Namei.link(h, as: name, in: parent, as: .root)
        })
        XCTAssertNil(rename("/h", "/h2"), "two names of one inode: nothing happens")
        XCTAssertEqual(tree.list("/"), ["a", "empty", "g", "h", "h2"])
    }

    func testMountsInTheWalk() throws {
        tree.mkdir("/mnt")
        let other = makeTestTmpfs(minor: 20)
        _ = try other.root.directory!.create("inside", .regular, permissions: 0o644, owner: .root, in: other.root)
        let covered = try tree.dentry("/mnt").inode
        tree.mounts.add(Mount(source: "tmpfs", path: "/mnt", covered: covered, root: other.root, options: "size=4k"))
        XCTAssertTrue(try tree.dentry("/mnt").inode === other.root)
        XCTAssertEqual(try tree.dentry("/mnt/inside").path, "/mnt/inside")
        XCTAssertEqual(error { () throws(Errno) in _ = try tree.dentry("/mnt/inside/..") }, .ENOTDIR)
        _ = try other.root.directory!.create("sub", .directory, permissions: 0o755, owner: .root, in: other.root)
        XCTAssertTrue(try tree.dentry("/mnt/sub/..").inode === other.root)
        XCTAssertTrue(try tree.dentry("/mnt/..").inode === tree.root.inode, ".. leaves the mount through its mount point")
        XCTAssertEqual(rmdir("/mnt"), .EBUSY)
        XCTAssertEqual(rename("/mnt/inside", "/outside"), .EXDEV)
        XCTAssertEqual(tree.mounts.mounts[0].line, "tmpfs /mnt tmpfs rw,size=4k 0 0\n")
        XCTAssertEqual(Mount.escaped("/a b\\c"), "/a\\040b\\134c")
        XCTAssertEqual(error { () throws(Errno) in _ = try tree.mounts.remove(root: covered) }, .EINVAL)
        XCTAssertNoThrow(try tree.mounts.remove(root: other.root))
        XCTAssertEqual(try tree.dentry("/mnt").inode.superBlock.device, DeviceNumber(major: 0, minor: 9))
    }

    func testTmpfsSizeLimit() throws {
        let small = makeTestTmpfs(maxPages: 2, maxInodes: 2)
        let dir = small.root.directory!
        let file = try dir.create("f", .regular, permissions: 0o644, owner: .root, in: small.root)
        let page = [UInt8](repeating: 7, count: Int(pageSize))
        XCTAssertEqual(try page.withUnsafeBytes { try file.contents!.write(from: $0, at: 0) }, Int(pageSize))
        XCTAssertEqual(try page.withUnsafeBytes { try file.contents!.write(from: $0, at: Int(pageSize)) }, Int(pageSize))
        XCTAssertThrowsError(try page.withUnsafeBytes { try file.contents!.write(from: $0, at: 2 * Int(pageSize)) }) {
            XCTAssertEqual($0 as? Errno, .ENOSPC)
        }
        XCTAssertEqual(small.fileSystem.statistics().freeBlocks, 0)
        _ = try dir.create("g", .regular, permissions: 0o644, owner: .root, in: small.root)
        XCTAssertThrowsError(try dir.create("h", .regular, permissions: 0o644, owner: .root, in: small.root)) {
            XCTAssertEqual($0 as? Errno, .ENOSPC, "out of inodes")
        }
        XCTAssertEqual(small.fileSystem.statistics().freeFiles, 0)
    }

    func testTmpfsOptions() throws {
        let options = try TmpfsOptions(parsing: "size=10k,nr_inodes=2k,mode=700", managedPages: 1000)
        XCTAssertEqual(options.maxPages, 3, "10 KiB rounds up to 3 pages")
        XCTAssertEqual(options.maxInodes, 2048)
        XCTAssertEqual(options.permissions, 0o700)
        XCTAssertEqual(options.description, "size=12k,nr_inodes=2048,mode=700")
        XCTAssertEqual(try TmpfsOptions(parsing: "size=50%", managedPages: 1000).maxPages, 500)
        XCTAssertEqual(try TmpfsOptions(parsing: "", managedPages: 1000).description, "")
        for bad in ["size", "size=", "size=1x", "mode=9", "nosuch=1", "size=99999999999999999999"] {
            XCTAssertThrowsError(try TmpfsOptions(parsing: bad, managedPages: 1000), bad)
        }
    }

    func testPageIndex() {
        var index = PageIndex()
        for i: UInt64 in [0, 1, 511, 512, 5000, 1 << 32] { index.insert(PhysAddr((i + 1) << 12), at: i) }
        XCTAssertEqual(index.count, 6)
        XCTAssertEqual(index[511], PhysAddr(512 << 12))
        XCTAssertNil(index[2])
        var removed: [PhysAddr] = []
        index.removeAll(from: 512) { removed.append($0) }
        XCTAssertEqual(Set(removed.map(\.value)), Set([513 << 12, 5001 << 12, ((1 << 32) + 1) << 12].map { UInt64($0) }))
        XCTAssertEqual(index.count, 3)
        XCTAssertEqual(index[1], PhysAddr(2 << 12))
        var seen: [UInt64] = []
        index.forEach { i, frame in
            XCTAssertEqual(frame, PhysAddr((i + 1) << 12))
            seen.append(i)
            return true
        }
        XCTAssertEqual(seen.sorted(), [0, 1, 511])
        var visits = 0
        index.forEach { _, _ in visits += 1; return false }
        XCTAssertEqual(visits, 1, "forEach stops when asked")
        XCTAssertEqual(index.remove(at: 1), PhysAddr(2 << 12))
        XCTAssertNil(index.remove(at: 1))
        XCTAssertNil(index.remove(at: 77))
        XCTAssertEqual(index.count, 2)
        index.insert(PhysAddr(9 << 12), at: 1)
        XCTAssertEqual(index[1], PhysAddr(9 << 12))
        // Migration: only the frame expected is replaced, the count stays.
        XCTAssertFalse(index.replace(at: 1, PhysAddr(8 << 12), with: PhysAddr(7 << 12)))
        XCTAssertFalse(index.replace(at: 77, PhysAddr(0), with: PhysAddr(7 << 12)), "an empty slot stays empty")
        XCTAssertTrue(index.replace(at: 1, PhysAddr(9 << 12), with: PhysAddr(7 << 12)))
        XCTAssertEqual(index[1], PhysAddr(7 << 12))
        XCTAssertEqual(index.count, 3)
        index.removeAll { _ in }
        XCTAssertTrue(index.isEmpty)
    }

    func testStatfsAndStatxLayouts() {
        var stats = FileSystemStats(type: FileSystemMagic.tmpfs, blockSize: 4096, blocks: 10, freeBlocks: 4,
                                    availableBlocks: 4, files: 9, freeFiles: 8)
        stats.flags = 1
        var bytes = [UInt8](repeating: 0xff, count: FileSystemStats.byteSize)
        bytes.withUnsafeMutableBytes { stats.write(to: $0.baseAddress!, device: DeviceNumber(major: 0, minor: 33)) }
        let words = bytes.withUnsafeBytes { raw in (0..<15).map { raw.load(fromByteOffset: 8 * $0, as: UInt64.self) } }
        XCTAssertEqual(Array(words[0..<11]), [0x0102_1994, 4096, 10, 4, 4, 9, 8, 33, 255, 4096, 1])
        XCTAssertEqual(Array(words[11..<15]), [0, 0, 0, 0], "f_spare is zero")
        let inode = tree.file("/x", "hello")
        var statx = [UInt8](repeating: 0xff, count: KernelStat.statxByteSize)
        statx.withUnsafeMutableBytes { inode.stat().writeStatx(to: $0.baseAddress!, mountID: 3) }
        statx.withUnsafeBytes { raw in
            XCTAssertEqual(raw.load(fromByteOffset: 0, as: UInt32.self), 0x7ff)
            XCTAssertEqual(raw.load(fromByteOffset: 0x1c, as: UInt16.self), 0o100644)
            XCTAssertEqual(raw.load(fromByteOffset: 0x20, as: UInt64.self), inode.ino)
            XCTAssertEqual(raw.load(fromByteOffset: 0x28, as: UInt64.self), 5)
            XCTAssertEqual(raw.load(fromByteOffset: 0x8c, as: UInt32.self), 9, "stx_dev_minor")
            XCTAssertEqual(raw.load(fromByteOffset: 0x90, as: UInt64.self), 3)
            XCTAssertEqual(raw.load(fromByteOffset: 0xf8, as: UInt64.self), 0)
        }
    }
}
