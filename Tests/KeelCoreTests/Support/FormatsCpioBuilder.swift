// Writes newc archives the way GNU `cpio -o -H newc` does (upper-case hex,
// name and data padded to 4 bytes), with knobs to produce each kind of damage.
@testable import KeelCore

struct CpioArchiveBuilder {
    var bytes: [UInt8] = []

    /// Appends one entry. `nameSize` overrides c_namesize (default: name + NUL),
    /// `check` overrides c_check (default: the byte sum for "070702", else 0).
    mutating func add(_ name: String, mode: UInt32, data: [UInt8] = [], magic: String = "070701",
                      ino: UInt32 = 1, uid: UInt32 = 0, gid: UInt32 = 0, nlink: UInt32 = 1, mtime: UInt32 = 0,
                      rdev: (UInt32, UInt32) = (0, 0), nameSize: UInt32? = nil, check: UInt32? = nil) {
        let nameBytes = Array(name.utf8) + [0]
        let sum = magic == "070702" ? data.reduce(UInt32(0)) { $0 &+ UInt32($1) } : 0
        let fields: [UInt32] = [ino, mode, uid, gid, nlink, mtime, UInt32(data.count), 0, 0, rdev.0, rdev.1,
                                nameSize ?? UInt32(nameBytes.count), check ?? sum]
        bytes += Array(magic.utf8)
        for f in fields {
            let hex = String(f, radix: 16, uppercase: true)
            bytes += Array((String(repeating: "0", count: 8 - hex.count) + hex).utf8)
        }
        bytes += nameBytes
        pad()
        bytes += data
        pad()
    }

    mutating func addTrailer(magic: String = "070701") { add("TRAILER!!!", mode: 0, magic: magic, ino: 0) }

    /// Zero bytes up to the next multiple of 4.
    mutating func pad() { while bytes.count % 4 != 0 { bytes.append(0) } }

    /// A small archive with the root, a directory, a file, a symlink and the trailer.
    static func sample(magic: String = "070701") -> CpioArchiveBuilder {
        var b = CpioArchiveBuilder()
        b.add(".", mode: 0o040755, magic: magic, ino: 1, nlink: 3)
        b.add("bin", mode: 0o040755, magic: magic, ino: 2, nlink: 2)
        b.add("bin/hello", mode: 0o100755, data: Array("#!hello\n".utf8), magic: magic, ino: 3, uid: 1000,
              gid: 100, mtime: 0x6543_2100)
        b.add("bin/sh", mode: 0o120777, data: Array("hello".utf8), magic: magic, ino: 4)
        b.addTrailer(magic: magic)
        return b
    }
}

/// A plain-value copy of a CpioEntry, so entries from different buffers compare.
struct CpioEntrySnapshot: Equatable {
    var name: String
    var path: String
    var mode: UInt32
    var data: [UInt8]
    var ino, uid, gid, nlink, mtime: UInt32

    init(_ e: CpioEntry) {
        name = String(decoding: e.name, as: UTF8.self)
        path = String(decoding: e.path, as: UTF8.self)
        mode = e.mode
        data = Array(e.data)
        ino = e.ino; uid = e.uid; gid = e.gid; nlink = e.nlink; mtime = e.mtime
    }
}

/// Reads `archive` to the end: the entries seen, then the error if there was one.
/// `inBounds` is false if any entry's views reached outside the archive.
func readCpio(_ archive: [UInt8]) -> (entries: [CpioEntrySnapshot], error: CpioError?, inBounds: Bool) {
    archive.withUnsafeBytes { raw in
        var reader = CpioReader(raw)
        var entries: [CpioEntrySnapshot] = []
        var inBounds = true
        let archiveRange = UInt(bitPattern: raw.baseAddress)..<UInt(bitPattern: raw.baseAddress) + UInt(raw.count)
        func inside(_ view: UnsafeRawBufferPointer) -> Bool {
            view.isEmpty || (archiveRange.contains(UInt(bitPattern: view.baseAddress))
                && UInt(bitPattern: view.baseAddress) + UInt(view.count) <= archiveRange.upperBound)
        }
        do throws(CpioError) {
            while let e = try reader.next() {
                guard inside(e.name), inside(e.path), inside(e.data), e.headerOffset + 110 <= e.dataOffset else {
                    inBounds = false
                    break
                }
                entries.append(CpioEntrySnapshot(e))
            }
            return (entries, nil, inBounds)
        } catch {
            return (entries, error, inBounds)
        }
    }
}
