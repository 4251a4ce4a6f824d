// ext2 against the real thing: images made by mke2fs -d are read, changed
// through Ext2FileSystem, unmounted, and then judged by e2fsck -fn (must find
// nothing) and debugfs (must see the same names and bytes).
import Foundation
import XCTest
@testable import KeelCore

final class Ext2Tests: XCTestCase {
    private var temporaries: [URL] = []

    override func tearDown() {
        for url in temporaries where FileManager.default.fileExists(atPath: url.path) {
            XCTAssertNoThrow(try FileManager.default.removeItem(at: url))
        }
        temporaries = []
    }

    // MARK: - Helpers

    /// Bytes that differ at every position, so a misplaced block shows.
    private func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 7) &+ ($0 >> 10) &+ seed) }
    }

    private static let longTarget = String(repeating: "long/", count: 20) + "target"   // 106 bytes
    private static let bigSize = 300_000
    private static let sparseEnd = 5_000_000

    /// The tree mke2fs -d copies: small, big (indirect blocks), sparse, symlinks, a subdirectory.
    private func makeTree() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keel-ext2-tree-\(UUID().uuidString)")
        temporaries.append(root)
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("sub/dir"), withIntermediateDirectories: true)
        try Data("hello, ext2\n".utf8).write(to: root.appendingPathComponent("hello.txt"))
        try Data(pattern(Self.bigSize)).write(to: root.appendingPathComponent("big.bin"))
        try Data("nested\n".utf8).write(to: root.appendingPathComponent("sub/dir/nested.txt"))
        let sparse = root.appendingPathComponent("sparse.bin")
        XCTAssertTrue(fm.createFile(atPath: sparse.path, contents: Data("start".utf8)))
        let handle = try FileHandle(forWritingTo: sparse)
        try handle.seek(toOffset: UInt64(Self.sparseEnd))
        try handle.write(contentsOf: Data("end".utf8))
        try handle.close()
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("short-link").path, withDestinationPath: "hello.txt")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("long-link").path, withDestinationPath: Self.longTarget)
        return root
    }

    private func makeImage(blockSize: Int, size: String = "16M", tree: Bool = true) throws -> URL {
        let image = try E2fsprogs.makeImage(blockSize: blockSize, size: size, contents: tree ? try makeTree() : nil)
        temporaries.append(image)
        return image
    }

    private func mount(_ image: URL, readOnly: Bool = false, capacity: Int = 64) throws -> Ext2FileSystem {
        let device = try ImageFileBlockDevice(path: image.path)
        return try Ext2FileSystem.mount(device: device, readOnly: readOnly, cacheCapacity: capacity,
                                        clock: { UInt32(Date().timeIntervalSince1970) })
    }

    /// The inode at an absolute path.
    private func resolve(_ fs: Ext2FileSystem, _ path: String) throws -> UInt32 {
        var ino = Ext2FileSystem.rootIno
        for name in path.split(separator: "/") {
            guard let next = try fs.lookup(ino, String(name)) else { throw Errno.ENOENT }
            ino = next
        }
        return ino
    }

    private func readAll(_ fs: Ext2FileSystem, _ ino: UInt32) throws -> [UInt8] {
        let size = Int(try fs.readInode(ino).size)
        var bytes = [UInt8](repeating: 0xff, count: size)
        let count = try bytes.withUnsafeMutableBytes { try fs.read(ino, at: 0, into: $0) }
        XCTAssertEqual(count, size)
        return bytes
    }

    @discardableResult
    private func write(_ fs: Ext2FileSystem, _ ino: UInt32, at offset: UInt64, _ bytes: [UInt8]) throws -> Int {
        try bytes.withUnsafeBytes { try fs.write(ino, at: offset, from: $0) }
    }

    private func assertClean(_ image: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, output) = try E2fsprogs.check(image)
        XCTAssertEqual(status, 0, "e2fsck -fn:\n\(output)", file: file, line: line)
    }

    private func debugfsCat(_ image: URL, _ path: String) throws -> [UInt8] {
        guard let tool = E2fsprogs.path("debugfs") else { throw XCTSkip("debugfs not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-R", "cat \(path)", image.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](data)
    }

    private func names(_ fs: Ext2FileSystem, _ dir: UInt32) throws -> [String] {
        try fs.readDirectory(dir).map(\.name).sorted()
    }

    private func expectError(_ errno: Errno, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { XCTAssertEqual($0 as? Errno, errno, file: file, line: line) }
    }

    // MARK: - Reading what mke2fs made

    private func checkReadsTree(blockSize: Int) throws {
        let image = try makeImage(blockSize: blockSize)
        let fs = try mount(image, readOnly: true)
        XCTAssertEqual(fs.blockSize, blockSize)
        XCTAssertEqual(try names(fs, Ext2FileSystem.rootIno),
                       ["big.bin", "hello.txt", "long-link", "lost+found", "short-link", "sparse.bin", "sub"])
        XCTAssertEqual(try readAll(fs, try resolve(fs, "/hello.txt")), Array("hello, ext2\n".utf8))
        XCTAssertEqual(try readAll(fs, try resolve(fs, "/big.bin")), pattern(Self.bigSize))
        XCTAssertEqual(try readAll(fs, try resolve(fs, "/sub/dir/nested.txt")), Array("nested\n".utf8))
        let sparse = try readAll(fs, try resolve(fs, "/sparse.bin"))
        XCTAssertEqual(sparse.count, Self.sparseEnd + 3)
        XCTAssertEqual(Array(sparse[0..<5]), Array("start".utf8))
        XCTAssertEqual(Array(sparse[Self.sparseEnd...]), Array("end".utf8))
        XCTAssertTrue(sparse[5..<Self.sparseEnd].allSatisfy { $0 == 0 })
        let sparseInode = try fs.readInode(try resolve(fs, "/sparse.bin"))
        XCTAssertLessThan(Int(sparseInode.sectors) * 512, 64 * 1024, "the hole takes no blocks")
        XCTAssertEqual(try fs.readlink(try resolve(fs, "/short-link")), "hello.txt")
        XCTAssertEqual(try fs.readlink(try resolve(fs, "/long-link")), Self.longTarget)
        let types = Dictionary(uniqueKeysWithValues: try fs.readDirectory(Ext2FileSystem.rootIno).map { ($0.name, $0.type) })
        XCTAssertEqual(types["sub"], .directory)
        XCTAssertEqual(types["long-link"], .symlink)
        XCTAssertEqual(types["big.bin"], .regular)
        XCTAssertEqual(try fs.parent(of: try resolve(fs, "/sub/dir")), try resolve(fs, "/sub"))
        XCTAssertNil(try fs.lookup(Ext2FileSystem.rootIno, "missing"))
        expectError(.ENOTDIR) { _ = try fs.lookup(try self.resolve(fs, "/hello.txt"), "x") }
        expectError(.EISDIR) { _ = try self.readAll(fs, Ext2FileSystem.rootIno) }
        expectError(.EROFS) { _ = try fs.create(in: Ext2FileSystem.rootIno, "new", mode: 0o100644) }
        // Reading at and past the end.
        var buffer = [UInt8](repeating: 0, count: 100)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try fs.read(try self.resolve(fs, "/hello.txt"), at: 6, into: $0) }, 6)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try fs.read(try self.resolve(fs, "/hello.txt"), at: 12, into: $0) }, 0)
        let stats = fs.statfs()
        XCTAssertEqual(stats.blockSize, blockSize)
        XCTAssertGreaterThan(stats.freeBlocks, 0)
        XCTAssertLessThan(stats.freeBlocks, stats.blocks)
        try fs.unmount()
        try assertClean(image)
    }

    func testReadsFilesMadeByMke2fs1K() throws { try checkReadsTree(blockSize: 1024) }
    func testReadsFilesMadeByMke2fs4K() throws { try checkReadsTree(blockSize: 4096) }

    // MARK: - Changing a file system

    private func checkNamespaceOperations(blockSize: Int) throws {
        let image = try makeImage(blockSize: blockSize)
        var fs = try mount(image)
        let root = Ext2FileSystem.rootIno
        let before = fs.statfs()

        // A new file with data.
        let new = try fs.create(in: root, "new.txt", mode: 0o100644, uid: 1000, gid: 100)
        XCTAssertEqual(try write(fs, new, at: 0, pattern(5000, seed: 1)), 5000)
        XCTAssertEqual(try readAll(fs, new), pattern(5000, seed: 1))
        expectError(.EEXIST) { _ = try fs.create(in: root, "new.txt", mode: 0o100644) }

        // Directories: link counts and the group's directory count.
        let rootLinks = try fs.readInode(root).linksCount
        let d1 = try fs.mkdir(in: root, "d1", mode: 0o755)
        let d2 = try fs.mkdir(in: d1, "d2", mode: 0o700)
        XCTAssertEqual(try fs.readInode(root).linksCount, rootLinks + 1)
        XCTAssertEqual(try fs.readInode(d1).linksCount, 3)
        XCTAssertEqual(try fs.parent(of: d2), d1)
        _ = try fs.create(in: d1, "f", mode: 0o100600)

        // Rename a file into another directory, and a directory to another parent.
        try fs.rename(from: root, "new.txt", to: d2, "moved.txt")
        try fs.rename(from: d1, "d2", to: root, "d3")
        XCTAssertEqual(try fs.parent(of: d2), root)
        XCTAssertEqual(try fs.readInode(d1).linksCount, 2)
        XCTAssertEqual(try fs.readInode(root).linksCount, rootLinks + 2)
        XCTAssertEqual(try resolve(fs, "/d3/moved.txt"), new)

        // A second name, then the first name goes away.
        try fs.link(new, in: root, "hardlink")
        XCTAssertEqual(try fs.readInode(new).linksCount, 2)
        XCTAssertFalse(try fs.unlink(in: d2, "moved.txt"))
        try fs.link(new, in: d2, "moved.txt")

        // Unlink with eviction at "last close".
        let hello = try resolve(fs, "/hello.txt")
        XCTAssertTrue(try fs.unlink(in: root, "hello.txt"))
        XCTAssertEqual(try readAll(fs, hello), Array("hello, ext2\n".utf8), "still readable while open")
        try fs.evict(hello)
        let freeAfterEvict = fs.statfs()
        try fs.evict(hello)
        XCTAssertEqual(fs.statfs(), freeAfterEvict, "a second evict does nothing")
        expectError(.EUCLEAN) { _ = try fs.readInode(hello) }

        // Truncate: shrink (frees indirect blocks, zeroes the tail), then grow (a hole).
        let big = try resolve(fs, "/big.bin")
        try fs.truncate(big, to: 10_000)
        try fs.truncate(big, to: 20_000)
        let bigBytes = try readAll(fs, big)
        XCTAssertEqual(Array(bigBytes[0..<10_000]), Array(pattern(Self.bigSize)[0..<10_000]))
        XCTAssertTrue(bigBytes[10_000...].allSatisfy { $0 == 0 })

        // Symlinks, fast and slow; device nodes in both encodings; a FIFO.
        let fast = try fs.symlink(in: root, "fast", target: "d3/moved.txt")
        let slow = try fs.symlink(in: d1, "slow", target: Self.longTarget)
        XCTAssertEqual(try fs.readInode(fast).sectors, 0)
        XCTAssertEqual(try fs.readlink(fast), "d3/moved.txt")
        XCTAssertEqual(try fs.readlink(slow), Self.longTarget)
        let tty = try fs.create(in: root, "tty0", mode: 0o020620, device: DeviceNumber(major: 4, minor: 0))
        let wide = try fs.create(in: root, "wide", mode: 0o060600, device: DeviceNumber(major: 300, minor: 70000))
        _ = try fs.create(in: root, "fifo", mode: 0o010644)
        XCTAssertEqual(try fs.readInode(tty).deviceNumber, DeviceNumber(major: 4, minor: 0))
        XCTAssertEqual(try fs.readInode(wide).deviceNumber, DeviceNumber(major: 300, minor: 70000))

        // rmdir: not empty, then empty.
        expectError(.ENOTEMPTY) { try fs.rmdir(in: root, "sub") }
        let dir = try resolve(fs, "/sub/dir")
        let nested = try resolve(fs, "/sub/dir/nested.txt")
        XCTAssertTrue(try fs.unlink(in: dir, "nested.txt"))
        try fs.evict(nested)
        try fs.rmdir(in: try resolve(fs, "/sub"), "dir")
        try fs.evict(dir)
        expectError(.ENOTDIR) { try fs.rmdir(in: root, "big.bin") }
        expectError(.EISDIR) { try fs.unlink(in: root, "sub") }

        // Rename over an existing file and over an empty directory.
        let a = try fs.create(in: root, "a", mode: 0o100644)
        let b = try fs.create(in: root, "b", mode: 0o100644)
        let replaced = try fs.rename(from: root, "a", to: root, "b")
        XCTAssertEqual(replaced, Ext2RenameResult(replaced: b, replacedIsUnlinked: true))
        try fs.evict(b)
        XCTAssertEqual(try resolve(fs, "/b"), a)
        let empty = try fs.mkdir(in: root, "empty", mode: 0o755)
        let linksBefore = try fs.readInode(root).linksCount
        expectError(.ENOTDIR) { try fs.rename(from: root, "d1", to: root, "b") }
        expectError(.EISDIR) { try fs.rename(from: root, "b", to: root, "empty") }
        expectError(.ENOTEMPTY) { try fs.rename(from: root, "empty", to: root, "d1") }
        let overDir = try fs.rename(from: d1, "slow", to: root, "slow")
        XCTAssertNil(overDir.replaced)
        let dirOverDir = try fs.rename(from: root, "d1", to: root, "empty")
        XCTAssertEqual(dirOverDir, Ext2RenameResult(replaced: empty, replacedIsUnlinked: true))
        try fs.evict(empty)
        XCTAssertEqual(try fs.readInode(root).linksCount, linksBefore - 1)

        // setattr
        try fs.setAttributes(a, Ext2Attributes(mode: 0o640, uid: 7, gid: 8, accessTime: 1000, modifyTime: 2000))
        let attributes = try fs.readInode(a)
        XCTAssertEqual(attributes.mode, 0o100640)
        XCTAssertEqual(attributes.uid, 7)
        XCTAssertEqual(attributes.modifyTime, 2000)

        // Many entries: the root grows by blocks; then remove them all again.
        for i in 0..<150 { _ = try fs.create(in: root, "file-with-a-longish-name-\(i)", mode: 0o100644) }
        XCTAssertGreaterThan(try fs.readInode(root).size, UInt64(blockSize))
        for i in stride(from: 0, to: 150, by: 2) {
            let ino = try resolve(fs, "/file-with-a-longish-name-\(i)")
            XCTAssertTrue(try fs.unlink(in: root, "file-with-a-longish-name-\(i)"))
            try fs.evict(ino)
        }
        XCTAssertEqual(try fs.readDirectory(root).count, 15 + 75)

        try fs.unmount()
        try assertClean(image)

        // What debugfs sees.
        XCTAssertEqual(try debugfsCat(image, "/d3/moved.txt"), pattern(5000, seed: 1))
        XCTAssertEqual(try debugfsCat(image, "/hardlink"), pattern(5000, seed: 1))
        XCTAssertEqual(try debugfsCat(image, "/big.bin").count, 20_000)
        let listing = try E2fsprogs.debugfs(image, "ls -l /d3")
        XCTAssertTrue(listing.contains("moved.txt"), listing)
        XCTAssertTrue(listing.contains("5000"), listing)
        let ttyStat = try E2fsprogs.debugfs(image, "stat /tty0")
        XCTAssertTrue(ttyStat.contains("Device major/minor number: 04:00"), ttyStat)
        let wideStat = try E2fsprogs.debugfs(image, "stat /wide")
        XCTAssertTrue(wideStat.contains("300:70000"), wideStat)
        XCTAssertEqual(try debugfsCat(image, "/slow"), Array(Self.longTarget.utf8))
        XCTAssertTrue(try E2fsprogs.debugfs(image, "stat /fast").contains("Fast link dest: \"d3/moved.txt\""))

        // Remounted, the counts are where they should be.
        fs = try mount(image, readOnly: true)
        XCTAssertEqual(fs.superBlock.state & Ext2SuperBlock.stateValid, Ext2SuperBlock.stateValid)
        XCTAssertEqual(try fs.readInode(new).linksCount, 2)
        XCTAssertEqual(try names(fs, try resolve(fs, "/sub")), [])
        XCTAssertLessThan(fs.statfs().freeBlocks, before.freeBlocks + 400)
        // The free counts agree with dumpe2fs.
        let header = try E2fsprogs.run("dumpe2fs", ["-h", image.path]).output
        func field(_ name: String) -> Int? {
            header.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)) }
        }
        XCTAssertEqual(field("Free blocks"), fs.statfs().freeBlocks)
        XCTAssertEqual(field("Free inodes"), fs.statfs().freeInodes)
        XCTAssertEqual(field("Inode count"), fs.statfs().inodes)
    }

    func testNamespaceOperationsPassE2fsck1K() throws { try checkNamespaceOperations(blockSize: 1024) }
    func testNamespaceOperationsPassE2fsck4K() throws { try checkNamespaceOperations(blockSize: 4096) }

    /// Revision 0: fixed 128-byte inodes, no features, so directory records
    /// have a 16-bit name length and no file type.
    func testRevisionZeroWithoutFileTypes() throws {
        let image = try E2fsprogs.makeImage(blockSize: 1024, size: "16M", contents: try makeTree(), extra: ["-r", "0"])
        temporaries.append(image)
        let fs = try mount(image)
        XCTAssertEqual(fs.superBlock.revLevel, 0)
        let root = Ext2FileSystem.rootIno
        let types = Dictionary(uniqueKeysWithValues: try fs.readDirectory(root).map { ($0.name, $0.type) })
        XCTAssertEqual(types["sub"], .directory)
        XCTAssertEqual(types["short-link"], .symlink)
        XCTAssertEqual(try readAll(fs, try resolve(fs, "/big.bin")), pattern(Self.bigSize))
        let dir = try fs.mkdir(in: root, "new-dir", mode: 0o755)
        let file = try fs.create(in: dir, "file", mode: 0o100600)
        try write(fs, file, at: 0, pattern(3000))
        try fs.rename(from: root, "sub", to: dir, "sub-moved")
        expectError(.EINVAL) { try fs.rename(from: root, "new-dir", to: dir, "inside") }
        XCTAssertEqual(try names(fs, dir), ["file", "sub-moved"])
        try fs.unmount()
        try assertClean(image)
        XCTAssertEqual(try debugfsCat(image, "/new-dir/file"), pattern(3000))
    }

    /// A directory hashed by dir_index (e2fsck -D builds the tree) reads as a
    /// linear one; changing it drops the index flag, and e2fsck agrees.
    func testHashIndexedDirectoryIsReadLinearlyAndLosesItsIndexOnChange() throws {
        let tree = FileManager.default.temporaryDirectory.appendingPathComponent("keel-ext2-many-\(UUID().uuidString)")
        temporaries.append(tree)
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("many"), withIntermediateDirectories: true)
        for i in 0..<600 { try Data("\(i)\n".utf8).write(to: tree.appendingPathComponent("many/file-number-\(i)")) }
        let image = try E2fsprogs.makeImage(blockSize: 1024, size: "8M", contents: tree)
        temporaries.append(image)
        _ = try E2fsprogs.run("e2fsck", ["-fyD", image.path])
        var fs = try mount(image)
        let many = try resolve(fs, "/many")
        XCTAssertNotEqual(try fs.readInode(many).flags & Ext2Inode.indexFlag, 0, "e2fsck -D indexed it")
        XCTAssertEqual(try fs.readDirectory(many).count, 600)
        XCTAssertEqual(try readAll(fs, try resolve(fs, "/many/file-number-599")), Array("599\n".utf8))
        let victim = try resolve(fs, "/many/file-number-17")
        XCTAssertTrue(try fs.unlink(in: many, "file-number-17"))
        try fs.evict(victim)
        _ = try fs.create(in: many, "added", mode: 0o100644)
        XCTAssertEqual(try fs.readInode(many).flags & Ext2Inode.indexFlag, 0)
        try fs.unmount()
        try assertClean(image)
        fs = try mount(image, readOnly: true)
        XCTAssertEqual(try fs.readDirectory(try resolve(fs, "/many")).count, 600)
    }

    func testDoubleAndTripleIndirectBlocks() throws {
        let image = try makeImage(blockSize: 1024, size: "8M", tree: false)
        let fs = try mount(image)
        let free = fs.statfs().freeBlocks
        let file = try fs.create(in: Ext2FileSystem.rootIno, "huge", mode: 0o100644)
        // 1 KiB blocks: double indirect from block 268, triple from 65804.
        let doubleOffset: UInt64 = 300 * 1024 + 100
        let tripleOffset: UInt64 = 12 * 1024 + 256 * 1024 + 65536 * 1024 + 70_000 * 1024 + 500
        XCTAssertEqual(try write(fs, file, at: doubleOffset, pattern(3000, seed: 2)), 3000)
        XCTAssertEqual(try write(fs, file, at: tripleOffset, pattern(5000, seed: 3)), 5000)
        let inode = try fs.readInode(file)
        XCTAssertEqual(inode.size, tripleOffset + 5000)
        XCTAssertNotEqual(inode.block[Ext2Inode.doubleIndirectSlot], 0)
        XCTAssertNotEqual(inode.block[Ext2Inode.tripleIndirectSlot], 0)
        // Data: 4 + 6 blocks; metadata: 1 + 1 (double) + 1 + 1 + 1 (triple).
        XCTAssertEqual(inode.sectors, (4 + 6 + 5) * 2)
        var back = [UInt8](repeating: 0, count: 5000)
        XCTAssertEqual(try back.withUnsafeMutableBytes { try fs.read(file, at: tripleOffset, into: $0) }, 5000)
        XCTAssertEqual(back, pattern(5000, seed: 3))
        XCTAssertEqual(try back.withUnsafeMutableBytes { try fs.read(file, at: doubleOffset, into: $0) }, 5000)
        XCTAssertEqual(Array(back[0..<3000]), pattern(3000, seed: 2))
        XCTAssertTrue(back[3000...].allSatisfy { $0 == 0 }, "a hole after the data")
        try fs.sync()
        try assertClean(image)
        XCTAssertEqual(Array(try debugfsCat(image, "/huge")[Int(tripleOffset)...]), pattern(5000, seed: 3))

        // Truncating into the double-indirect range frees the triple tree.
        try fs.truncate(file, to: doubleOffset + 1000)
        let cut = try fs.readInode(file)
        XCTAssertEqual(cut.block[Ext2Inode.tripleIndirectSlot], 0)
        XCTAssertEqual(cut.sectors, (1 + 1 + 1 + 1) * 2, "two data blocks and two indirect blocks are left")
        try fs.truncate(file, to: 0)
        XCTAssertEqual(try fs.readInode(file).sectors, 0)
        XCTAssertEqual(fs.statfs().freeBlocks, free)
        try fs.unmount()
        try assertClean(image)
    }

    func testFillingTheDiskGivesShortWriteThenENOSPC() throws {
        let image = try makeImage(blockSize: 1024, size: "400K", tree: false)
        var fs = try mount(image, capacity: 16)
        let free = fs.statfs().freeBlocks
        let file = try fs.create(in: Ext2FileSystem.rootIno, "fill", mode: 0o100644)
        let chunk = pattern(7000)
        var total = 0
        var shortWrites = 0
        func fill() throws {
            while true {
                do {
                    let count = try write(fs, file, at: UInt64(total), chunk)
                    total += count
                    if count < chunk.count { shortWrites += 1 }
                } catch Errno.ENOSPC {
                    break
                }
            }
        }
        // A user stops at root's reserve (mke2fs keeps 5 %); root goes on to the end.
        fs.mayUseReservedBlocks = { false }
        try fill()
        let reserved = Int(fs.superBlock.reservedBlocksCount)
        XCTAssertGreaterThan(reserved, 0)
        XCTAssertEqual(fs.statfs().freeBlocks, reserved)
        XCTAssertEqual(fs.statfs().availableBlocks, 0)
        fs.mayUseReservedBlocks = { true }
        try fill()
        XCTAssertEqual(shortWrites, 2)
        XCTAssertEqual(fs.statfs().freeBlocks, 0)
        XCTAssertGreaterThan(total, (free - 10) * 1024)
        expectError(.ENOSPC) { _ = try fs.mkdir(in: Ext2FileSystem.rootIno, "more", mode: 0o755) }
        // New names fit until the root's one block is full; then the directory
        // cannot grow and the new inode is given back.
        var created = 0
        do {
            while true {
                _ = try fs.create(in: Ext2FileSystem.rootIno, "\(created)-" + String(repeating: "n", count: 200), mode: 0o100644)
                created += 1
            }
        } catch {
            XCTAssertEqual(error, .ENOSPC)
        }
        XCTAssertGreaterThan(created, 0)
        let freeInodes = fs.statfs().freeInodes
        var back = [UInt8](repeating: 0, count: chunk.count)
        XCTAssertEqual(try back.withUnsafeMutableBytes { try fs.read(file, at: 7000, into: $0) }, chunk.count)
        XCTAssertEqual(back, chunk)
        try fs.unmount()
        try assertClean(image)

        fs = try mount(image)
        XCTAssertEqual(fs.superBlock.freeBlocksCount, 0)
        XCTAssertEqual(Int(fs.superBlock.freeInodesCount), freeInodes)
        XCTAssertTrue(try fs.unlink(in: Ext2FileSystem.rootIno, "fill"))
        try fs.evict(file)
        XCTAssertEqual(fs.statfs().freeBlocks, free)
        try fs.unmount()
        try assertClean(image)
    }

    func testMergedWriteBackAtSync() throws {
        let image = try makeImage(blockSize: 1024, size: "4M", tree: false)
        let device = try ImageFileBlockDevice(path: image.path)
        let fs = try Ext2FileSystem.mount(device: device, readOnly: false, cacheCapacity: 256)
        func stateOnDisk() throws -> UInt8 { try Data(contentsOf: image)[1024 + 58] }
        XCTAssertEqual(try stateOnDisk() & 1, 0, "mounted read-write: not clean")
        let file = try fs.create(in: Ext2FileSystem.rootIno, "contiguous", mode: 0o100644)
        XCTAssertEqual(try write(fs, file, at: 0, pattern(64 * 1024)), 64 * 1024)
        let writesBefore = device.writeRequests
        try fs.sync()
        let requests = device.writeRequests - writesBefore
        XCTAssertLessThan(requests, 20, "64 contiguous data blocks go out in a few merged writes")
        XCTAssertGreaterThanOrEqual(fs.cache.statistics.merged, 60)
        try fs.unmount()
        XCTAssertEqual(try stateOnDisk() & 1, 1, "unmounted: clean")
        try assertClean(image)

        // A read-only mount writes nothing at all.
        let readOnlyDevice = try ImageFileBlockDevice(path: image.path)
        let readOnly = try Ext2FileSystem.mount(device: readOnlyDevice, readOnly: true)
        XCTAssertEqual(try readAll(readOnly, try resolve(readOnly, "/contiguous")), pattern(64 * 1024))
        try readOnly.unmount()
        XCTAssertEqual(readOnlyDevice.writeRequests, 0)
    }

    func testGrowingPastOldBytesAfterTheEndReadsZeros() throws {
        let image = try makeImage(blockSize: 1024, size: "2M", tree: false)
        var fs = try mount(image)
        let root = Ext2FileSystem.rootIno
        let file = try fs.create(in: root, "f", mode: 0o100644, uid: 5, gid: 6)
        let other = try fs.create(in: root, "g", mode: 0o100644)
        try write(fs, file, at: 0, Array(repeating: 0x41, count: 100))
        try write(fs, other, at: 0, Array(repeating: 0x42, count: 100))
        try fs.unmount()
        // Bytes past the end on disk, as another system might leave them.
        let block = try firstBlock(image, "/f")
        try patch(image, at: block * 1024 + 100, Array(repeating: 0xee, count: 924))
        try patch(image, at: try firstBlock(image, "/g") * 1024 + 100, Array(repeating: 0xee, count: 924))

        fs = try mount(image)
        try fs.truncate(file, to: 2000)
        try write(fs, other, at: 3000, [1])
        let grown = try readAll(fs, file)
        XCTAssertEqual(Array(grown[0..<100]), Array(repeating: 0x41, count: 100))
        XCTAssertTrue(grown[100...].allSatisfy { $0 == 0 })
        let written = try readAll(fs, other)
        XCTAssertTrue(written[100..<3000].allSatisfy { $0 == 0 })
        XCTAssertEqual(written[3000], 1)

        let stat = try fs.stat(file, device: DeviceNumber(major: 254, minor: 0))
        XCTAssertEqual(stat.mode, 0o100644)
        XCTAssertEqual(stat.size, 2000)
        XCTAssertEqual(stat.blocks, 2, "one 1 KiB block; the grown part is a hole")
        XCTAssertEqual(stat.uid, 5)
        XCTAssertEqual(stat.gid, 6)
        XCTAssertEqual(stat.nlink, 1)
        XCTAssertEqual(stat.blockSize, 1024)
        XCTAssertGreaterThan(stat.modifyTime.seconds, 1_600_000_000)
        try fs.unmount()
        try assertClean(image)
    }

    /// Seeded random operations against a model of the tree (files' bytes,
    /// directories); every read is compared with the model, and at the end
    /// e2fsck judges the image and a fresh mount must see the model again.
    func testRandomOperationsAgainstAModel() throws {
        for blockSize in [1024, 4096] {
            let image = try makeImage(blockSize: blockSize, size: "8M", tree: false)
            var fs = try mount(image, capacity: 32)
            var random = SplitMix64(seed: UInt64(blockSize))
            var files: [String: [UInt8]] = [:]       // path -> contents
            var directories: Set<String> = [""]      // "" is the root
            func parentAndName(_ path: String) -> (String, String) {
                let slash = path.lastIndex(of: "/")!
                return (String(path[..<slash]), String(path[path.index(after: slash)...]))
            }
            func ino(_ path: String) throws -> UInt32 { try resolve(fs, path.isEmpty ? "/" : path) }
            for step in 0..<400 {
                let dirList = directories.sorted()
                let fileList = files.keys.sorted()
                switch random.below(9) {
                case 0, 1:
                    let dir = dirList[random.below(dirList.count)]
                    let path = "\(dir)/f\(step)"
                    _ = try fs.create(in: try ino(dir), "f\(step)", mode: 0o100644)
                    files[path] = []
                case 2:
                    let dir = dirList[random.below(dirList.count)]
                    _ = try fs.mkdir(in: try ino(dir), "d\(step)", mode: 0o755)
                    directories.insert("\(dir)/d\(step)")
                case 3, 4, 5:
                    guard let path = fileList.isEmpty ? nil : fileList[random.below(fileList.count)] else { continue }
                    let offset = random.below(4) == 0 ? random.below(300_000) : random.below(files[path]!.count + 1)
                    let bytes = pattern(1 + random.below(3 * blockSize), seed: step)
                    XCTAssertEqual(try write(fs, try ino(path), at: UInt64(offset), bytes), bytes.count)
                    var model = files[path]!
                    if model.count < offset + bytes.count { model += [UInt8](repeating: 0, count: offset + bytes.count - model.count) }
                    model.replaceSubrange(offset..<offset + bytes.count, with: bytes)
                    files[path] = model
                case 6:
                    guard let path = fileList.isEmpty ? nil : fileList[random.below(fileList.count)] else { continue }
                    let size = random.below(files[path]!.count + 2 * blockSize + 1)
                    try fs.truncate(try ino(path), to: UInt64(size))
                    var model = files[path]!
                    if size < model.count { model.removeSubrange(size...) } else { model += [UInt8](repeating: 0, count: size - model.count) }
                    files[path] = model
                case 7:
                    guard let path = fileList.isEmpty ? nil : fileList[random.below(fileList.count)] else { continue }
                    let (dir, name) = parentAndName(path)
                    let victim = try ino(path)
                    XCTAssertTrue(try fs.unlink(in: try ino(dir), name))
                    try fs.evict(victim)
                    files[path] = nil
                default:
                    // Move a file to another directory under a new name.
                    guard let path = fileList.isEmpty ? nil : fileList[random.below(fileList.count)] else { continue }
                    let (dir, name) = parentAndName(path)
                    let target = dirList[random.below(dirList.count)]
                    try fs.rename(from: try ino(dir), name, to: try ino(target), "m\(step)")
                    files["\(target)/m\(step)"] = files[path]
                    files[path] = nil
                }
                if step % 50 == 0, let path = files.keys.sorted().first {
                    XCTAssertEqual(try readAll(fs, try ino(path)), files[path])
                }
            }
            try fs.unmount()
            try assertClean(image)
            fs = try mount(image, readOnly: true)
            for (path, contents) in files { XCTAssertEqual(try readAll(fs, try ino(path)), contents, path) }
            for dir in directories where !dir.isEmpty { XCTAssertEqual(try fs.readInode(try ino(dir)).fileType, .directory) }
            let someFile = try XCTUnwrap(files.keys.sorted().last)
            XCTAssertEqual(try debugfsCat(image, someFile), files[someFile])
        }
    }

    func testSequentialReadingIsReadAheadInRuns() throws {
        let image = try makeImage(blockSize: 1024)
        let device = try ImageFileBlockDevice(path: image.path)
        let fs = try Ext2FileSystem.mount(device: device, readOnly: true, cacheCapacity: 512)
        let big = try resolve(fs, "/big.bin")
        let before = device.readRequests
        // 4 KiB reads, as a page cache above would issue them.
        var contents: [UInt8] = []
        var page = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = try page.withUnsafeMutableBytes { try fs.read(big, at: UInt64(contents.count), into: $0) }
            if count == 0 { break }
            contents += page[0..<count]
        }
        XCTAssertEqual(contents, pattern(Self.bigSize))
        let requests = device.readRequests - before
        XCTAssertLessThan(requests, Self.bigSize / 1024 / 8, "\(requests) requests for \(Self.bigSize / 1024) blocks")
        XCTAssertGreaterThan(fs.cache.statistics.readAhead, Self.bigSize / 1024 / 2)
    }

    // MARK: - Damaged and unsupported images

    private func patch(_ image: URL, at offset: UInt64, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forWritingTo: image)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    /// The first data block of a file, as debugfs's "blocks" lists it.
    private func firstBlock(_ image: URL, _ path: String) throws -> UInt64 {
        let words = try E2fsprogs.run("debugfs", ["-R", "blocks \(path)", image.path]).output.split(whereSeparator: \.isWhitespace)
        return try XCTUnwrap(words.compactMap { UInt64($0) }.first)
    }

    func testCorruptSuperblockMagicIsEUCLEAN() throws {
        let image = try makeImage(blockSize: 1024, size: "2M", tree: false)
        try patch(image, at: 1024 + 56, [0x34, 0x12])
        var reported: [String] = []
        let device = try ImageFileBlockDevice(path: image.path)
        expectError(.EUCLEAN) {
            _ = try Ext2FileSystem.mount(device: device, readOnly: false, report: { reported.append($0) })
        }
        XCTAssertEqual(reported.count, 1)
        XCTAssertTrue(reported[0].contains("magic"), reported[0])
    }

    func testBadGeometryIsRefused() throws {
        let image = try makeImage(blockSize: 1024, size: "2M", tree: false)
        try patch(image, at: 1024 + 32, [0, 0, 0, 0])   // blocks per group 0
        expectError(.EUCLEAN) { _ = try self.mount(image) }
        try patch(image, at: 1024 + 32, [0, 0x20, 0, 0])
        try patch(image, at: 1024 + 24, [9, 0, 0, 0])   // block size 1024 << 9
        expectError(.EINVAL) { _ = try self.mount(image) }
    }

    func testUnsupportedFeaturesAreEINVAL() throws {
        let image = try makeImage(blockSize: 1024, size: "2M", tree: false)
        let original = try Data(contentsOf: image)
        let incompat = Int(1024 + 96)
        try patch(image, at: UInt64(incompat), [original[incompat] | 0x40, original[incompat + 1], 0, 0])   // extents
        var reported = ""
        let device = try ImageFileBlockDevice(path: image.path)
        expectError(.EINVAL) { _ = try Ext2FileSystem.mount(device: device, readOnly: true, report: { reported = $0 }) }
        XCTAssertTrue(reported.contains("unsupported optional features (0x40)"), reported)

        try original.write(to: image)
        let roCompat = 1024 + 100
        try patch(image, at: UInt64(roCompat), [original[roCompat] | 0x20, original[roCompat + 1], 0, 0])    // dir_nlink
        expectError(.EINVAL) { _ = try self.mount(image) }
        XCTAssertNoThrow(try mount(image, readOnly: true))
    }

    func testCorruptInodeAndDirectoryRecordAreEUCLEAN() throws {
        let image = try makeImage(blockSize: 1024)
        _ = try E2fsprogs.run("debugfs", ["-w", "-R", "sif /hello.txt mode 0170644", image.path])
        _ = try E2fsprogs.run("debugfs", ["-w", "-R", "sif /big.bin block[IND] 4000000000", image.path])
        // The first block of /sub: break the "." record's rec_len.
        let subBlock = try firstBlock(image, "/sub")
        try patch(image, at: subBlock * 1024 + 4, [3, 0])

        let fs = try mount(image)
        let root = Ext2FileSystem.rootIno
        let hello = try resolve(fs, "/hello.txt")
        expectError(.EUCLEAN) { _ = try fs.readInode(hello) }
        XCTAssertTrue(fs.lastError.contains("bad mode"), fs.lastError)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let big = try resolve(fs, "/big.bin")
        expectError(.EUCLEAN) { _ = try buffer.withUnsafeMutableBytes { try fs.read(big, at: 200_000, into: $0) } }
        XCTAssertTrue(fs.lastError.contains("outside the file system"), fs.lastError)
        expectError(.EUCLEAN) { _ = try fs.lookup(try self.resolve(fs, "/sub"), "dir") }
        XCTAssertTrue(fs.lastError.contains("rec_len"), fs.lastError)
        expectError(.EUCLEAN) { _ = try fs.readDirectory(try self.resolve(fs, "/sub")) }
        expectError(.EUCLEAN) { try fs.truncate(big, to: 0) }
        // The rest of the file system still works.
        XCTAssertEqual(try readAll(fs, try resolve(fs, "/sparse.bin")).count, Self.sparseEnd + 3)
        _ = try fs.create(in: root, "after", mode: 0o100644)
        expectError(.EUCLEAN) { _ = try fs.readInode(0) }
        expectError(.EUCLEAN) { _ = try fs.readInode(UInt32.max) }
    }

    /// Where debugfs says inode `path` is: (block, byte offset in it).
    private func inodeLocation(_ image: URL, _ path: String) throws -> UInt64 {
        let output = try E2fsprogs.debugfs(image, "imap \(path)")
        let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == "\t" })
        let block = try XCTUnwrap(words.lastIndex(of: "block").flatMap { UInt64(words[$0 + 1]) }, output)
        let offset = try XCTUnwrap(words.firstIndex(of: "offset").flatMap { UInt64(words[$0 + 1].dropFirst(2), radix: 16) }, output)
        return block * 1024 + offset
    }

    /// Damaged directory records and inodes (random bytes, or a few flipped)
    /// under every operation: each fails with an error, none traps.
    func testDamagedDirectoryAndInodeNeverTrap() throws {
        let image = try makeImage(blockSize: 1024)
        let dirBlock = try firstBlock(image, "/sub/dir") * 1024
        let inodeOffset = try inodeLocation(image, "/sub/dir/nested.txt")
        let original = try Data(contentsOf: image)
        var random = SplitMix64(seed: 0xE872)
        var failures = 0
        for round in 0..<150 {
            try original.write(to: image)
            let (target, length) = round % 2 == 0 ? (dirBlock, 1024) : (inodeOffset, 128)
            var bytes = [UInt8](original[Int(target)..<Int(target) + length])
            if round % 3 == 0 {
                for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
            } else {
                for _ in 0..<(1 + random.below(8)) { bytes[random.below(length)] = UInt8(truncatingIfNeeded: random.next()) }
            }
            try patch(image, at: target, bytes)
            let fs = try mount(image)
            let dir = try resolve(fs, "/sub/dir")
            let operations: [() throws -> Void] = [
                { for entry in try fs.readDirectory(dir) { _ = try fs.readInode(UInt32(entry.ino)) } },
                {
                    guard let ino = try fs.lookup(dir, "nested.txt") else { return }
                    var buffer = [UInt8](repeating: 0, count: 8192)
                    _ = try buffer.withUnsafeMutableBytes { try fs.read(ino, at: UInt64(random.below(100_000)), into: $0) }
                    _ = try self.write(fs, ino, at: UInt64(random.below(1 << 20)), [1, 2, 3])
                    try fs.truncate(ino, to: UInt64(random.below(5000)))
                },
                { _ = try fs.create(in: dir, "new-\(round)", mode: 0o100644) },
                { _ = try fs.mkdir(in: dir, "newdir", mode: 0o755) },
                { if try fs.unlink(in: dir, "nested.txt"), let ino = try fs.lookup(dir, "..") { try fs.evict(ino) } },
                { try fs.rename(from: dir, "nested.txt", to: Ext2FileSystem.rootIno, "moved") },
                { try fs.rmdir(in: try self.resolve(fs, "/sub"), "dir") },
                { try fs.unmount() },
            ]
            for operation in operations {
                do {
                    try operation()
                } catch {
                    XCTAssertNotNil(error as? Errno, "\(error)")
                    failures += 1
                }
            }
        }
        XCTAssertGreaterThan(failures, 50, "the damage was noticed")
    }
}
