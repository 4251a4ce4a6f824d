// Why an initramfs archive could not be read. The archive comes from the boot
// loader and is parsed before anything else runs, so a corrupt one must produce
// a message naming the byte offset, not a trap.

/// A malformed newc archive. Each payload is the byte offset into the archive
/// where the problem was found. Linux: the error() calls of init/initramfs.c
public enum CpioError: Error, Equatable, CustomStringConvertible {
    /// Fewer than 110 bytes left for the entry header starting here.
    case truncatedHeader(offset: Int)
    /// The header here starts with neither "070701" nor "070702".
    case badMagic(offset: Int)
    /// The 8-digit header field starting here holds a non-hex character.
    case badHexField(offset: Int)
    /// c_namesize is 0 in the header starting here (the name needs at least its NUL).
    case emptyName(offset: Int)
    /// The name starting here runs past the end of the archive.
    case truncatedName(offset: Int)
    /// The name starting here does not end with its only NUL byte.
    case nameNotTerminated(offset: Int)
    /// The file data starting here runs past the end of the archive.
    case truncatedData(offset: Int)
    /// A "070702" regular file starting here whose data does not sum to c_check.
    case checksumMismatch(offset: Int)
    /// The archive ends here, between entries, without a "TRAILER!!!" entry.
    case missingTrailer(offset: Int)

    public var description: String {
        switch self {
        case .truncatedHeader(let o): return "cpio: truncated header at " + String(o)
        case .badMagic(let o): return "cpio: no newc magic at " + String(o)
        case .badHexField(let o): return "cpio: non-hex header field at " + String(o)
        case .emptyName(let o): return "cpio: empty name in header at " + String(o)
        case .truncatedName(let o): return "cpio: truncated name at " + String(o)
        case .nameNotTerminated(let o): return "cpio: name not NUL-terminated at " + String(o)
        case .truncatedData(let o): return "cpio: truncated file data at " + String(o)
        case .checksumMismatch(let o): return "cpio: checksum mismatch in entry at " + String(o)
        case .missingTrailer(let o): return "cpio: archive ends at " + String(o) + " without TRAILER!!!"
        }
    }
}
