// Host-side helpers for the format tests: run the real tools (cc, readelf,
// cpio) when they are installed, and a seeded PRNG for mutation tests.
import Foundation
import XCTest

enum FormatsHost {
    /// Runs `script` with /bin/sh in `directory`; nil on a non-zero exit.
    static func shell(_ script: String, in directory: URL? = nil) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        if let directory { p.currentDirectoryURL = directory }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    /// Whether `tool` is on PATH.
    static func has(_ tool: String) -> Bool { shell("command -v " + tool) != nil }

    /// A fresh empty directory, removed when the test ends.
    static func temporaryDirectory(_ test: XCTestCase) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keel-formats-" + UUID().uuidString)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}


extension SplitMix64 {
    /// Overwrites 1...4 random bytes of `bytes` with random values.
    mutating func mutate(_ bytes: inout [UInt8], within limit: Int? = nil) {
        let range = min(limit ?? bytes.count, bytes.count)
        for _ in 0...below(4) { bytes[below(range)] = UInt8(truncatingIfNeeded: next()) }
    }
}
