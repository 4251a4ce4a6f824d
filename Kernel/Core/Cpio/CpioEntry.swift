// One member of an initramfs archive, as views into the archive's own bytes:
// reading an archive allocates nothing, and the views stay valid as long as the
// archive memory does (for the initramfs, the boot module that is never freed).

/// A file, directory, symlink or special file stored in a newc archive.
/// Linux: the header fields and name that init/initramfs.c collects per entry
public struct CpioEntry {
    /// Offset of this entry's header in the archive.
    public let headerOffset: Int
    /// Linux: c_ino (with the device numbers, identifies hard links)
    public let ino: UInt32
    /// File type and permission bits. Linux: c_mode (umode_t)
    public let mode: UInt32
    /// Linux: c_uid
    public let uid: UInt32
    /// Linux: c_gid
    public let gid: UInt32
    /// Link count; GNU cpio stores a hard-linked file's data only with its last
    /// link, the others have size 0. Linux: c_nlink
    public let nlink: UInt32
    /// Modification time, seconds since the epoch. Linux: c_mtime
    public let mtime: UInt32
    /// Device holding the original file. Linux: c_devmajor, c_devminor
    public let devMajor: UInt32
    public let devMinor: UInt32
    /// Device number of a character or block special file. Linux: c_rdevmajor, c_rdevminor
    public let rdevMajor: UInt32
    public let rdevMinor: UInt32
    /// The name exactly as stored, without its NUL.
    public let name: UnsafeRawBufferPointer
    /// `name` relative to the archive root: leading "/" and "./" are dropped and a
    /// lone "." becomes empty (the root itself), which is where Linux's unpacker,
    /// running in "/", puts them. Nothing else ("a//b", "..") is rewritten.
    public let path: UnsafeRawBufferPointer
    /// Offset of the file data in the archive.
    public let dataOffset: Int
    /// The file contents; a symlink's target; empty for directories.
    public let data: UnsafeRawBufferPointer
    /// Offset of the next header: the data padded to 4 bytes.
    let nextOffset: Int

    /// Bytes of data. Linux: c_filesize
    public var size: Int { data.count }
    /// nil for a type Linux's unpacker would also skip.
    public var fileType: FileType? { FileType(mode: mode) }
    /// Permission, setuid, setgid and sticky bits. Linux: mode & S_IALLUGO
    public var permissions: UInt32 { mode & 0o7777 }
}

extension CpioEntry {
    /// Drops what `path` documents from the front of `name`.
    static func relativePath(_ name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var start = 0
        while start < name.count {
            if name[start] == slash {
                start += 1
            } else if name[start] == dot, start + 1 == name.count || name[start + 1] == slash {
                start += 1
            } else {
                break
            }
        }
        return UnsafeRawBufferPointer(rebasing: name[start...])
    }
}
