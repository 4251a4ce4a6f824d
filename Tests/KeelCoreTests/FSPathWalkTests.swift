// Path resolution against the rules of path_resolution(7): absolute and
// relative paths, ".", "..", repeated and trailing slashes, symlinks and the
// errors Linux gives for each kind of bad path.
import XCTest
@testable import KeelCore

final class FSPathWalkTests: XCTestCase {
    var tree: FSTestTree!

    override func setUp() {
        tree = FSTestTree()
        tree.mkdir("/etc")
        tree.file("/etc/hostname", "keel\n")
        tree.mkdir("/bin")
        tree.file("/bin/busybox", "\u{7f}ELF")
        tree.symlink("/bin/sh", "busybox")
        tree.symlink("/etc/abs", "/bin/sh")
        tree.symlink("/etc/up", "../bin")
        tree.symlink("/dangling", "/nowhere")
        tree.symlink("/loop1", "loop2")
        tree.symlink("/loop2", "loop1")
        tree.symlink("/empty", "")
        tree.symlink("/hostlink", "etc/hostname")
    }

    func testPlainPaths() {
        XCTAssertEqual(tree.resolve("/"), .success("/"))
        XCTAssertEqual(tree.resolve("//"), .success("/"))
        XCTAssertEqual(tree.resolve("/etc/hostname"), .success("/etc/hostname"))
        XCTAssertEqual(tree.resolve("///etc////hostname"), .success("/etc/hostname"))
        XCTAssertEqual(tree.resolve("/etc/"), .success("/etc"))
        XCTAssertEqual(tree.resolve("/etc/."), .success("/etc"))
        XCTAssertEqual(tree.resolve("/./etc/./hostname"), .success("/etc/hostname"))
    }

    func testRelativePathsAndDotDot() {
        XCTAssertEqual(tree.resolve("hostname", from: "/etc"), .success("/etc/hostname"))
        XCTAssertEqual(tree.resolve(".", from: "/etc"), .success("/etc"))
        XCTAssertEqual(tree.resolve("..", from: "/etc"), .success("/"))
        XCTAssertEqual(tree.resolve("../bin/busybox", from: "/etc"), .success("/bin/busybox"))
        XCTAssertEqual(tree.resolve("/..", from: "/etc"), .success("/"), "/.. is /")
        XCTAssertEqual(tree.resolve("../../../etc", from: "/etc"), .success("/etc"), ".. stops at the root")
        XCTAssertEqual(tree.resolve("/etc/../etc/hostname"), .success("/etc/hostname"))
    }

    func testErrors() {
        XCTAssertEqual(tree.resolve(""), .failure(.ENOENT))
        XCTAssertEqual(tree.resolve("/missing"), .failure(.ENOENT))
        XCTAssertEqual(tree.resolve("/missing/x"), .failure(.ENOENT))
        XCTAssertEqual(tree.resolve("/etc/hostname/x"), .failure(.ENOTDIR))
        XCTAssertEqual(tree.resolve("/etc/hostname/"), .failure(.ENOTDIR))
        XCTAssertEqual(tree.resolve("/etc/hostname/."), .failure(.ENOTDIR))
        XCTAssertEqual(tree.resolve("/etc/hostname/.."), .failure(.ENOTDIR))
        XCTAssertEqual(tree.resolve("/etc/" + String(repeating: "n", count: 256)), .failure(.ENAMETOOLONG))
        XCTAssertEqual(tree.resolve("/etc/" + String(repeating: "n", count: 255)), .failure(.ENOENT),
                       "255 bytes is a legal name")
        let long = String(repeating: "/.", count: 2048)
        XCTAssertEqual(tree.resolve(long), .failure(.ENAMETOOLONG), "4096 bytes leave no room for the NUL")
        XCTAssertEqual(tree.resolve(String(long.dropLast(2))), .success("/"))
    }

    func testSymlinks() {
        XCTAssertEqual(tree.resolve("/bin/sh"), .success("/bin/busybox"), "relative to the link's directory")
        XCTAssertEqual(tree.resolve("/etc/abs"), .success("/bin/busybox"), "absolute target, then a relative one")
        XCTAssertEqual(tree.resolve("/etc/up/sh"), .success("/bin/busybox"), "a symlink in the middle of a path")
        XCTAssertEqual(tree.resolve("up/busybox", from: "/etc"), .success("/bin/busybox"))
        XCTAssertEqual(tree.resolve("/hostlink"), .success("/etc/hostname"))
        XCTAssertEqual(tree.resolve("/dangling"), .failure(.ENOENT))
        XCTAssertEqual(tree.resolve("/loop1"), .failure(.ELOOP))
        XCTAssertEqual(tree.resolve("/loop1/x"), .failure(.ELOOP))
        XCTAssertEqual(tree.resolve("/empty"), .failure(.ENOENT))
        XCTAssertEqual(tree.resolve("/hostlink/"), .failure(.ENOTDIR), "trailing slash: must be a directory")
    }

    func testFinalSymlinkNotFollowed() {
        XCTAssertEqual(tree.resolve("/bin/sh", follow: false), .success("/bin/sh"))
        XCTAssertEqual(tree.resolve("/dangling", follow: false), .success("/dangling"))
        XCTAssertEqual(tree.resolve("/loop1", follow: false), .success("/loop1"))
        XCTAssertEqual(tree.resolve("/etc/up/sh", follow: false), .success("/bin/sh"), "inner links still followed")
        XCTAssertEqual(tree.resolve("/etc/up/", follow: false), .success("/bin"), "a trailing slash follows")
    }

    func testSymlinkLimitIsForty() {
        // /c0 -> c1 -> ... -> c39 -> /etc: 40 links followed, allowed; one more is ELOOP.
        for i in 0..<40 { tree.symlink("/c\(i)", i == 39 ? "/etc" : "c\(i + 1)") }
        XCTAssertEqual(tree.resolve("/c0"), .success("/etc"))
        XCTAssertEqual(tree.resolve("/c0/hostname"), .success("/etc/hostname"))
        tree.symlink("/d", "c0")
        XCTAssertEqual(tree.resolve("/d"), .failure(.ELOOP))
    }

    func testResolveParent() throws {
        let (etc, name) = try PathWalk.resolveParent("/etc/new", root: tree.root, from: tree.root)
        XCTAssertEqual(etc.path, "/etc")
        XCTAssertEqual(name, "new")
        let (up, upName) = try PathWalk.resolveParent("up/new", root: tree.root,
                                                      from: PathWalk.resolve("/etc", root: tree.root, from: tree.root))
        XCTAssertEqual(up.path, "/bin", "the parent path follows symlinks")
        XCTAssertEqual(upName, "new")
        XCTAssertNil(try PathWalk.resolveParent("/", root: tree.root, from: tree.root).name)
        XCTAssertNil(try PathWalk.resolveParent("/etc/..", root: tree.root, from: tree.root).name)
        XCTAssertThrowsError(try PathWalk.resolveParent("/missing/new", root: tree.root, from: tree.root)) {
            XCTAssertEqual($0 as? Errno, .ENOENT)
        }
        XCTAssertThrowsError(try PathWalk.resolveParent("/etc/hostname/new", root: tree.root, from: tree.root)) {
            XCTAssertEqual($0 as? Errno, .ENOTDIR)
        }
    }

    func testDentryPathsAndParents() throws {
        let d = try PathWalk.resolve("/etc/up/busybox", root: tree.root, from: tree.root)
        XCTAssertEqual(d.path, "/bin/busybox")
        XCTAssertEqual(d.name, "busybox")
        XCTAssertEqual(d.parent?.path, "/bin")
        XCTAssertTrue(d.parent?.parent === tree.root)
        XCTAssertEqual(tree.root.path, "/")
    }

    // MARK: magic links (/proc/<pid>/fd/N)

    /// A link to a dentry, as /proc/<pid>/fd/N is to an open file's.
    private final class JumpLink: MagicLink {
        let dentry: Dentry?
        init(_ dentry: Dentry?) { self.dentry = dentry }
        func target() throws(Errno) -> Dentry {
            guard let dentry else { throw .ENOENT }
            return dentry
        }
        func text() throws(Errno) -> String { try target().path }
    }

    /// A fixed directory of magic links named by number.
    private final class LinkDirectory: FixedDirectory {
        let links: [(String, Inode)]
        init(_ links: [(String, Inode)]) { self.links = links }
        func lookup(_ name: String) -> Inode? { links.first { $0.0 == name }?.1 }
        func entries() -> [DirectoryEntry] { links.map { DirectoryEntry(name: $0.0, ino: $0.1.ino, type: .symlink) } }
    }

    func testMagicLinksJumpToTheirDentry() throws {
        let hostname = try tree.dentry("/etc/hostname"), etc = try tree.dentry("/etc")
        func link(_ ino: UInt64, _ target: Dentry?) -> Inode {
            Inode(ino: ino, superBlock: tree.superBlock, kind: .magicLink(JumpLink(target)), permissions: 0o700)
        }
        let fdInode = Inode(ino: 900, superBlock: tree.superBlock,
                            kind: .directory(LinkDirectory([("3", link(901, hostname)), ("4", link(902, etc)),
                                                            ("9", link(903, nil))])), permissions: 0o500)
        let point = tree.mkdir("/fd")
        tree.mounts.add(Mount(source: "proc", path: "/fd", covered: point, root: fdInode, options: ""))

        XCTAssertTrue(try tree.dentry("/fd/3").inode === hostname.inode, "following lands on the dentry itself")
        XCTAssertEqual(tree.resolve("/fd/3"), .success("/etc/hostname"))
        let itself = try tree.dentry("/fd/3", follow: false)
        XCTAssertTrue(itself.inode.isSymlink, "not followed: the link, which lstat shows as a symlink")
        XCTAssertEqual(try itself.inode.linkText(), "/etc/hostname")
        XCTAssertEqual(itself.inode.size, 64, "Linux's i_size of an fd link")
        XCTAssertEqual(tree.resolve("/fd/4/hostname"), .success("/etc/hostname"), "a walk goes on from the target")
        XCTAssertEqual(tree.resolve("/fd/4/.."), .success("/"), ".. is the target's parent")
        XCTAssertEqual(tree.resolve("hostname", from: "/fd/4"), .success("/etc/hostname"))
        XCTAssertEqual(tree.resolve("/fd/3/"), .failure(.ENOTDIR), "a trailing slash wants a directory")
        XCTAssertEqual(tree.resolve("/fd/3/x"), .failure(.ENOTDIR))
        XCTAssertEqual(tree.resolve("/fd/9"), .failure(.ENOENT), "what the link named is gone")
        XCTAssertEqual(tree.resolve("/fd/9", follow: false), .success("/fd/9"))

        // The file loses its name: the link still reaches it.
        try etc.inode.directory!.remove("hostname", hostname.inode, in: etc.inode)
        XCTAssertEqual(tree.resolve("/etc/hostname"), .failure(.ENOENT))
        XCTAssertEqual(fsReadAll(try tree.dentry("/fd/3").inode), Array("keel\n".utf8))
        XCTAssertEqual(hostname.displayPath(root: tree.root), "/etc/hostname (deleted)")
    }

    func testDisplayPath() throws {
        let sh = try tree.dentry("/bin/busybox")
        XCTAssertEqual(sh.displayPath(root: tree.root), "/bin/busybox")
        XCTAssertEqual(sh.displayPath(root: try tree.dentry("/bin")), "/busybox", "as seen from a chroot")
        XCTAssertEqual(sh.displayPath(root: try tree.dentry("/etc")), "/bin/busybox",
                       "outside the reader's root: the whole path, not getcwd's \"(unreachable)\"")
        // A file of a file system no path leads to, with no name left: a memfd.
        let other = makeTestTmpfs(minor: 10)
        let file = try other.root.directory!.create("7", .regular, permissions: 0o777, owner: .root, in: other.root)
        try other.root.directory!.remove("7", file, in: other.root)
        XCTAssertEqual(Dentry(root: other.root).child("memfd:x", file).displayPath(root: tree.root), "/memfd:x (deleted)")
    }

    func testRamDirectoryIsSortedByBytes() {
        let dirInode = tree.mkdir("/sorted")
        let dir = dirInode.directory as! RamDirectory
        for name in ["b", "a", "B", "é", "aa"] { tree.symlink("/sorted/" + name, name) }
        XCTAssertEqual(dir.entries().map(\.name), ["B", "a", "aa", "b", "é"], "byte order, one entry per name")
        XCTAssertEqual(dir.count, 5)
        XCTAssertNotNil(dir.lookup("é"))
        XCTAssertNil(dir.lookup("e\u{301}"), "no Unicode normalization: names are bytes")
        let aa = dir.lookup("aa")!
        XCTAssertNoThrow(try dir.remove("aa", aa, in: dirInode))
        XCTAssertNil(dir.lookup("aa"))
    }
}
