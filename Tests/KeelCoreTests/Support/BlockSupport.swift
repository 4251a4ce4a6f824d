// Block devices for the buffer-cache and ext2 tests: one in memory that counts
// requests (and can be told to fail), one over an image file, and helpers to
// run e2fsprogs (mke2fs, e2fsck, debugfs) on images.
import Foundation
import XCTest
@testable import KeelCore

/// A disk in memory; counts every request so tests can see merging.
final class MemoryBlockDevice: BlockDevice {
    let name = "mem0"
    var bytes: [UInt8]
    var readRequests = 0
    var writeRequests: [(sector: UInt64, count: Int)] = []
    var flushes = 0
    var failWrites = false

    init(sectors: Int) { bytes = [UInt8](repeating: 0, count: sectors * 512) }

    var sectorCount: UInt64 { UInt64(bytes.count / 512) }

    func read(sector: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) {
        readRequests += 1
        let start = Int(sector) * 512
        guard start + buffer.count <= bytes.count else { throw .EIO }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<start + buffer.count])) }
    }

    func write(sector: UInt64, from buffer: UnsafeRawBufferPointer) throws(Errno) {
        if failWrites { throw .EIO }
        writeRequests.append((sector, buffer.count))
        let start = Int(sector) * 512
        guard start + buffer.count <= bytes.count else { throw .EIO }
        bytes.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + buffer.count]).copyMemory(from: buffer) }
    }

    func flush() throws(Errno) { flushes += 1 }
}

/// A disk over an image file (pread/pwrite).
final class ImageFileBlockDevice: BlockDevice {
    let name = "vda"
    let fd: Int32
    let sectorCount: UInt64
    var writeRequests = 0
    var readRequests = 0

    init(path: String) throws {
        fd = open(path, O_RDWR)
        guard fd >= 0 else { throw CocoaError(.fileNoSuchFile) }
        sectorCount = UInt64(lseek(fd, 0, SEEK_END)) / 512
    }

    deinit { close(fd) }

    func read(sector: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) {
        readRequests += 1
        guard pread(fd, buffer.baseAddress, buffer.count, off_t(sector * 512)) == buffer.count else { throw .EIO }
    }

    func write(sector: UInt64, from buffer: UnsafeRawBufferPointer) throws(Errno) {
        writeRequests += 1
        guard pwrite(fd, buffer.baseAddress, buffer.count, off_t(sector * 512)) == buffer.count else { throw .EIO }
    }

    func flush() throws(Errno) {
        guard fsync(fd) == 0 else { throw .EIO }
    }
}

/// e2fsprogs from /usr/sbin or /sbin; the tests skip without them.
enum E2fsprogs {
    static func path(_ tool: String) -> String? {
        for dir in ["/usr/sbin", "/sbin", "/usr/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") {
            return "\(dir)/\(tool)"
        }
        return nil
    }

    /// Runs a tool; returns its exit status and its output (stdout + stderr).
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        guard let path = path(tool) else { throw XCTSkip("\(tool) not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A fresh image made by mke2fs from `contents` (a directory), in a temporary directory.
    static func makeImage(blockSize: Int, size: String, contents: URL?, extra: [String] = []) throws -> URL {
        let image = FileManager.default.temporaryDirectory.appendingPathComponent("keel-ext2-\(UUID().uuidString).img")
        var arguments = ["-q", "-F", "-t", "ext2", "-b", "\(blockSize)"] + extra
        if let contents { arguments += ["-d", contents.path] }
        arguments += [image.path, size]
        let (status, output) = try run("mke2fs", arguments)
        guard status == 0 else { throw XCTSkip("mke2fs failed: \(output)") }
        return image
    }

    /// e2fsck -fn: exit 0 means clean.
    static func check(_ image: URL) throws -> (status: Int32, output: String) {
        try run("e2fsck", ["-fn", image.path])
    }

    static func debugfs(_ image: URL, _ request: String) throws -> String {
        try run("debugfs", ["-R", request, image.path]).output
    }
}
