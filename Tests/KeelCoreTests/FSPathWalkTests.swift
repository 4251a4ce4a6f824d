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
