// Where a regular file's bytes are. The initramfs archive stays in the memory the
// boot loader put it in (reserved, never freed, never written), so its files are
// views into it and unpacking copies nothing. A writable ramfs will add a case
// for page-cache pages here; readers go through `bytes(from:count:)` either way.

/// The contents of a regular file. Linux: the inode's address_space (page cache)
public enum FileData {
    /// Read-only bytes owned by someone else that outlive the inode (the archive).
    case borrowed(UnsafeRawBufferPointer)

    /// Linux: i_size
    public var count: Int {
        switch self {
        case .borrowed(let bytes): bytes.count
        }
    }

    /// Up to `count` bytes starting at `offset`; empty at or past the end.
    public func bytes(from offset: Int, count: Int) -> UnsafeRawBufferPointer {
        switch self {
        case .borrowed(let bytes):
            guard offset >= 0, offset < bytes.count, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
            let end = offset + min(count, bytes.count - offset)
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
        }
    }
}
