// The "new ASCII" (newc) cpio format that GNU `cpio -H newc` writes and Linux
// unpacks as the initramfs: a 110-byte header of a 6-byte magic and 13 fields of
// 8 hex digits, the NUL-terminated name padded so header+name is a multiple of
// 4, then the data padded to 4. Linux: init/initramfs.c, Documentation/driver-api/early-userspace/buffer-format.rst

/// Layout constants of the newc format.
enum Newc {
    /// Magic, 13 fields of 8 hex digits.
    static let headerSize = 6 + 13 * 8
    /// Headers, names and data start on multiples of this. Linux: N_ALIGN()
    static let alignment = 4
    /// Name of the entry that ends an archive.
    static let trailer: StaticString = "TRAILER!!!"

    static func alignUp(_ offset: Int) -> Int { (offset + alignment - 1) & ~(alignment - 1) }

    /// The value of an ASCII hex digit, or nil. Stricter than Linux's simple_strtoul,
    /// which silently stops at the first bad character.
    static func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}

extension CpioEntry {
    /// Parses the entry whose header starts at `offset`, checking that its
    /// header, name and data all lie inside `archive`. Linux: parse_header(),
    /// do_header() and do_name()
    init(parsing archive: UnsafeRawBufferPointer, at offset: Int) throws(CpioError) {
        guard archive.count - offset >= Newc.headerSize else { throw .truncatedHeader(offset: offset) }
        let hasChecksum = try Self.magic(archive, offset)
        // Field n of the header, in the order c_ino, c_mode, ... c_check.
        func field(_ n: Int) throws(CpioError) -> UInt32 { try Self.hexField(archive, offset + 6 + 8 * n) }
        let ino = try field(0), mode = try field(1), uid = try field(2), gid = try field(3)
        let nlink = try field(4), mtime = try field(5), fileSize = Int(try field(6))
        let devMajor = try field(7), devMinor = try field(8), rdevMajor = try field(9), rdevMinor = try field(10)
        let nameSize = Int(try field(11)), check = try field(12)

        guard nameSize > 0 else { throw .emptyName(offset: offset) }
        let nameStart = offset + Newc.headerSize
        guard archive.count - nameStart >= nameSize else { throw .truncatedName(offset: nameStart) }
        let name = UnsafeRawBufferPointer(rebasing: archive[nameStart..<nameStart + nameSize - 1])
        guard archive[nameStart + nameSize - 1] == 0, !name.contains(0) else {
            throw .nameNotTerminated(offset: nameStart)
        }

        let dataStart = Newc.alignUp(nameStart + nameSize)
        guard dataStart <= archive.count, archive.count - dataStart >= fileSize else {
            throw .truncatedData(offset: dataStart)
        }
        let data = UnsafeRawBufferPointer(rebasing: archive[dataStart..<dataStart + fileSize])

        self.init(headerOffset: offset, ino: ino, mode: mode, uid: uid, gid: gid, nlink: nlink, mtime: mtime,
                  devMajor: devMajor, devMinor: devMinor, rdevMajor: rdevMajor, rdevMinor: rdevMinor,
                  name: name, path: Self.relativePath(name), dataOffset: dataStart, data: data,
                  nextOffset: Newc.alignUp(dataStart + fileSize))
        // GNU cpio sums only regular files' bytes; other types carry c_check 0.
        if hasChecksum, fileType == .regular, Self.byteSum(data) != check {
            throw .checksumMismatch(offset: offset)
        }
    }

    /// True for the "TRAILER!!!" entry that ends the archive.
    var isTrailer: Bool {
        Newc.trailer.withUTF8Buffer { name.elementsEqual($0) }
    }

    /// Checks "070701" (no checksum) or "070702" (c_check holds a byte sum);
    /// returns whether the entry is checksummed.
    private static func magic(_ archive: UnsafeRawBufferPointer, _ offset: Int) throws(CpioError) -> Bool {
        let prefix: StaticString = "07070"
        let prefixMatches = prefix.withUTF8Buffer { archive[offset..<offset + 5].elementsEqual($0) }
        switch archive[offset + 5] {
        case UInt8(ascii: "1") where prefixMatches: return false
        case UInt8(ascii: "2") where prefixMatches: return true
        default: throw .badMagic(offset: offset)
        }
    }

    /// The 8-hex-digit field at `offset`.
    private static func hexField(_ archive: UnsafeRawBufferPointer, _ offset: Int) throws(CpioError) -> UInt32 {
        var value: UInt32 = 0
        for i in offset..<offset + 8 {
            guard let digit = Newc.hexDigit(archive[i]) else { throw .badHexField(offset: offset) }
            value = value << 4 | digit
        }
        return value
    }

    /// The "070702" checksum: the sum of all data bytes, modulo 2^32.
    private static func byteSum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var sum: UInt32 = 0
        for byte in data { sum &+= UInt32(byte) }
        return sum
    }
}
