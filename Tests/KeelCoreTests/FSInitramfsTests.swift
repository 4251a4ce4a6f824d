// Unpacking newc archives into an inode tree: types, attributes, link counts,
// hard links stored GNU-cpio style, forgiving departures (missing parents),
// skipped entries, and a damaged archive keeping what came before the damage.
// With GNU cpio installed, a real archive of a real directory is checked too.
import Foundation
import XCTest
@testable import KeelCore

final class FSInitramfsTests: XCTestCase {
    /// Unpacks `archive` into a fresh read-only root; the archive must outlive the tree,
    /// so the test keeps it in `keep`.
    private var keep: [UnsafeMutableRawBufferPointer] = []

    override func tearDown() {
        for b in keep { b.deallocate() }
        keep = []
    }

    func unpack(_ bytes: [UInt8]) -> (root: Dentry, stats: InitramfsStats, error: CpioError?) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        buffer.copyBytes(from: bytes)
        keep.append(buffer)
        let root = makeTestTmpfs().root
        var unpacker = InitramfsUnpacker(root: root)
        var error: CpioError?
        do throws(CpioError) {
            try unpacker.unpack(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<bytes.count]))
        } catch let e {
            error = e
        }
        return (Dentry(root: root), unpacker.stats, error)
    }

    func inode(_ root: Dentry, _ path: String, follow: Bool = false) throws -> Inode {
        try PathWalk.resolve(path, root: root, from: root, followFinalSymlink: follow).inode
    }

    func testSampleArchive() throws {
        let (root, stats, error) = unpack(CpioArchiveBuilder.sample().bytes)
        XCTAssertNil(error)
        XCTAssertEqual(stats, { var s = InitramfsStats(); s.files = 2; s.directories = 1; s.bytes = 8; return s }())
        let hello = try inode(root, "/bin/hello")
        XCTAssertTrue(hello.isRegular)
        XCTAssertEqual(hello.mode, 0o100755)
        XCTAssertEqual([hello.uid, hello.gid], [1000, 100])
        XCTAssertEqual(hello.modifyTime.timespec.seconds, 0x6543_2100)
        XCTAssertEqual(hello.size, 8)
        XCTAssertEqual(fsReadAll(hello), Array("#!hello\n".utf8))
        XCTAssertEqual(hello.nlink, 1)
        let sh = try inode(root, "/bin/sh")
        XCTAssertEqual(sh.mode, 0o120777)
        guard case .symlink(let target) = sh.kind else { return XCTFail("not a symlink") }
        XCTAssertEqual(target, "hello")
        XCTAssertEqual(sh.size, 5)
        XCTAssertTrue(try inode(root, "/bin/sh", follow: true) === hello)
        XCTAssertEqual(root.inode.nlink, 3, "root: ., its own .. and bin's ..")
        XCTAssertEqual(try inode(root, "/bin").nlink, 2)
        XCTAssertNotEqual(hello.ino, sh.ino)
    }

    func testFileDataIsCopiedIntoTheFile() throws {
        var b = CpioArchiveBuilder()
        b.add("f", mode: 0o100644, data: Array(repeating: 0x5a, count: 10_000))
        b.addTrailer()
        let (root, _, _) = unpack(b.bytes)
        keep[0].initializeMemory(as: UInt8.self, repeating: 0)      // the archive may go away after unpacking
        XCTAssertEqual(fsReadAll(try inode(root, "/f"), chunk: 4096), Array(repeating: 0x5a, count: 10_000))
        var buffer = [UInt8](repeating: 0, count: 100)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { try! inode(root, "/f").read(into: $0, at: 9_950) }, 50)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { try! inode(root, "/f").read(into: $0, at: 10_000) }, 0)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { try! inode(root, "/f").read(into: $0, at: 20_000) }, 0)
    }

    func testMissingParentsAreCreated() throws {
        var b = CpioArchiveBuilder()
        b.add("./a/b/c", mode: 0o100600, data: [1, 2, 3], mtime: 77)
        b.addTrailer()
        let (root, stats, error) = unpack(b.bytes)
        XCTAssertNil(error)
        XCTAssertEqual(stats.directories, 2)
        XCTAssertEqual(stats.files, 1)
        let a = try inode(root, "/a")
        XCTAssertEqual(a.mode, 0o040755)
        XCTAssertEqual(a.nlink, 3)
        XCTAssertEqual(try inode(root, "/a/b/c").mode, 0o100600)
    }

    func testHardLinksShareOneInode() throws {
        // GNU cpio: every name of a multiply-linked file has the same c_ino, and the
        // data comes with the last one.
        var b = CpioArchiveBuilder()
        b.add("x", mode: 0o100644, ino: 42, nlink: 3)
        b.add("y", mode: 0o100644, ino: 42, nlink: 3)
        b.add("z", mode: 0o100644, data: Array("shared".utf8), ino: 42, nlink: 3)
        b.add("w", mode: 0o100644, data: Array("other".utf8), ino: 43, nlink: 1)
        b.addTrailer()
        let (root, stats, error) = unpack(b.bytes)
        XCTAssertNil(error)
        let x = try inode(root, "/x"), y = try inode(root, "/y"), z = try inode(root, "/z")
        XCTAssertTrue(x === y && y === z)
        XCTAssertEqual(x.nlink, 3)
        XCTAssertEqual(fsReadAll(x), Array("shared".utf8))
        XCTAssertEqual(try inode(root, "/w").nlink, 1)
        XCTAssertFalse(try inode(root, "/w") === x)
        XCTAssertEqual(stats.files, 2, "a hard-linked file counts once")
        XCTAssertEqual(stats.bytes, 11)
    }

    func testReplacingEntriesKeepsLinkCounts() throws {
        var b = CpioArchiveBuilder()
        b.add("d", mode: 0o040700, uid: 5)
        b.add("d", mode: 0o040755, uid: 6, mtime: 9)          // again: attributes change, same inode
        b.add("f", mode: 0o100644, data: [1])
        b.add("f", mode: 0o040755)                             // a directory replaces the file
        b.add("g", mode: 0o040755)
        b.add("g", mode: 0o100644, data: [2])                  // a file replaces the directory
        b.addTrailer()
        let (root, _, error) = unpack(b.bytes)
        XCTAssertNil(error)
        let d = try inode(root, "/d")
        XCTAssertEqual(d.mode, 0o040755)
        XCTAssertEqual(d.uid, 6)
        XCTAssertEqual(d.modifyTime.timespec.seconds, 9)
        XCTAssertTrue(try inode(root, "/f").isDirectory)
        XCTAssertTrue(try inode(root, "/g").isRegular)
        XCTAssertEqual(root.inode.nlink, 4, "2 + the directories d and f")
    }

    func testSkippedEntries() throws {
        var b = CpioArchiveBuilder()
        b.add("file", mode: 0o100644, data: [1])
        b.add("file/inside", mode: 0o100644, data: [2])       // parent is not a directory
        b.add("../escape", mode: 0o100644, data: [3])         // ".." is refused
        b.add("fifo", mode: 0o010644)
        b.add("odd", mode: 0o170644)                           // no such type
        b.add("dev/console", mode: 0o020600, rdev: (5, 1))
        b.add(".", mode: 0o040700, mtime: 5)                   // the root's own attributes
        b.addTrailer()
        let (root, stats, error) = unpack(b.bytes)
        XCTAssertNil(error)
        XCTAssertEqual(stats.skipped, 3)
        XCTAssertEqual(stats.files, 3, "file, fifo, dev/console")
        XCTAssertEqual(root.inode.mode, 0o040700)
        XCTAssertEqual(root.inode.modifyTime.timespec.seconds, 5)
        let console = try inode(root, "/dev/console")
        XCTAssertEqual(console.mode, 0o020600)
        guard case .characterDevice(let rdev) = console.kind else { return XCTFail() }
        XCTAssertEqual(rdev, .console)
        XCTAssertThrowsError(try inode(root, "/escape"))
        XCTAssertEqual(try inode(root, "/fifo").mode, 0o010644)
    }

    func testMountPointsAreLeftAlone() throws {
        var b = CpioArchiveBuilder()
        b.add("proc", mode: 0o040700)
        b.add("proc/x", mode: 0o100644, data: [1])
        b.add("proc", mode: 0o100644, data: [2])
        b.add("etc", mode: 0o040755)
        b.addTrailer()
        let bytes = b.bytes
        let root = makeTestTmpfs().root
        let other = makeTestTmpfs(minor: 2)
        let proc = other.root
        proc.permissions = 0o555
        let rootDirectory = root.directory as! RamDirectory
        try rootDirectory.link(proc, as: "proc", in: root)      // a foreign file system's directory in the tree
        var unpacker = InitramfsUnpacker(root: root)
        try bytes.withUnsafeBytes { try unpacker.unpack($0) }
        XCTAssertEqual(unpacker.stats.skipped, 3)
        XCTAssertEqual(unpacker.stats.directories, 1)
        XCTAssertTrue(rootDirectory.lookup("proc") === proc)
        XCTAssertEqual(proc.mode, 0o040555)
        XCTAssertEqual(try proc.directory?.entries(), [])
    }

    func testDamagedArchiveKeepsWhatCameBefore() throws {
        var b = CpioArchiveBuilder()
        b.add("etc", mode: 0o040755)
        b.add("etc/good", mode: 0o100644, data: Array("fine".utf8))
        let cut = b.bytes.count
        b.add("etc/lost", mode: 0o100644, data: Array(repeating: 1, count: 100))
        b.addTrailer()
        let (root, stats, error) = unpack(Array(b.bytes[0..<cut + 150]))
        XCTAssertEqual(error, .truncatedData(offset: cut + 120), "header 110 + \"etc/lost\\0\" 9, padded to 120")
        XCTAssertEqual(stats.files, 1)
        XCTAssertEqual(fsReadAll(try inode(root, "/etc/good")), Array("fine".utf8))
        XCTAssertThrowsError(try inode(root, "/etc/lost"))

        let (_, _, noTrailer) = unpack(Array(b.bytes[0..<cut]))
        XCTAssertEqual(noTrailer, .missingTrailer(offset: cut))
        let (_, emptyStats, empty) = unpack([])
        XCTAssertEqual(empty, .missingTrailer(offset: 0))
        XCTAssertEqual(emptyStats, InitramfsStats())
    }

    /// Random corruption must never crash the unpacker, and whatever it built must
    /// be a consistent tree: every directory's link count is 2 + its subdirectories.
    func testRandomCorruptionNeverCrashes() throws {
        var rng = SplitMix64(state: 0x1234_5678)
        let sample = CpioArchiveBuilder.sample().bytes
        for _ in 0..<500 {
            var bytes = sample
            for _ in 0..<(1 + rng.below(4)) { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            bytes = Array(bytes[0..<(bytes.count - rng.below(40))])
            let (root, _, _) = unpack(bytes)
            try checkLinkCounts(root.inode)
        }
    }

    private func checkLinkCounts(_ directory: Inode) throws {
        let entries = try XCTUnwrap(directory.directory).entries()
        let subdirectories = try entries.filter { $0.type == .directory }.map {
            try XCTUnwrap(directory.directory?.lookup($0.name))
        }
        XCTAssertEqual(Int(directory.nlink), 2 + subdirectories.count)
        for d in subdirectories { try checkLinkCounts(d) }
    }

    /// A real GNU cpio archive of a real directory (what tools/build-initramfs.sh makes).
    func testRealGNUCpioArchive() throws {
        guard FormatsHost.has("cpio") else { throw XCTSkip("GNU cpio is not installed") }
        let dir = FormatsHost.temporaryDirectory(self)
        let script = """
            mkdir -p root/etc root/bin root/empty && cd root &&
            printf 'keel\\n' > etc/hostname && chmod 0640 etc/hostname &&
            head -c 9000 /dev/zero | tr '\\0' 'q' > bin/prog && chmod 0755 bin/prog &&
            ln bin/prog bin/prog2 && ln -s prog bin/link &&
            find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet > ../out.cpio
            """
        guard FormatsHost.shell(script, in: dir) != nil else { throw XCTSkip("cpio failed") }
        let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("out.cpio")))
        let (root, stats, error) = unpack(bytes)
        XCTAssertNil(error)
        XCTAssertEqual(stats.directories, 3)
        XCTAssertEqual(stats.files, 3, "hostname, prog (two links), link")
        XCTAssertEqual(fsReadAll(try inode(root, "/etc/hostname")), Array("keel\n".utf8))
        XCTAssertEqual(try inode(root, "/etc/hostname").mode, 0o100640)
        let prog = try inode(root, "/bin/prog")
        XCTAssertEqual(prog.size, 9000)
        XCTAssertEqual(fsReadAll(prog, chunk: 1000), Array(repeating: UInt8(ascii: "q"), count: 9000))
        XCTAssertTrue(try inode(root, "/bin/prog2") === prog)
        XCTAssertEqual(prog.nlink, 2)
        XCTAssertTrue(try inode(root, "/bin/link", follow: true) === prog)
        XCTAssertTrue(try inode(root, "/empty").isDirectory)
        XCTAssertEqual(root.inode.nlink, 5)
    }
}
