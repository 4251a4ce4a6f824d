// /proc: a file system with no stored files. Its directories invent their
// entries when looked up or listed (one directory per live process), and its
// files print their text when opened. Inode numbers are computed, not
// allocated: the root is 1, /proc/self 2, the system-wide files 16 and up,
// process <pid>'s directory pid << 8 with its files just above, and the
// entries of its fd and fdinfo directories from 2^44 (ProcFdDirectory.swift).
// Linux: fs/proc/root.c, fs/proc/base.c, fs/proc/generic.c

enum ProcFS {
    /// One proc for the whole system: every mount of it shows the same tree.
    /// Linux: proc's s_dev, an anonymous device
    static let superBlock = SuperBlock(device: FS.anonymousDevice(), isReadOnly: false, typeName: "proc",
                                       magic: FileSystemMagic.proc, hasFixedAttributes: true)
    /// Linux: proc_root (PROC_ROOT_INO = 1)
    nonisolated(unsafe) static let root = Inode(ino: 1, superBlock: superBlock, kind: .directory(ProcRootDirectory()),
                                                permissions: 0o555)
    /// What mount(2) of "proc" mounts; `path` and `covered` are filled in by the caller.
    /// Linux: proc_fill_super()
    static var mount: Mount { Mount(source: "proc", path: "", covered: nil, root: root, options: "") }

    /// A read-only file whose text `show` prints. Linux: proc_create_single()
    static func fileInode(ino: UInt64, _ show: @escaping (inout TextWindow) throws(Errno) -> Void) -> Inode {
        Inode(ino: ino, superBlock: superBlock, kind: .generated(PrintedFile(show)), permissions: 0o444)
    }

    /// A pid or descriptor number spelled in decimal without sign or leading
    /// zeros ("0" itself is fine), as proc accepts it. Linux: name_to_int()
    static func number(named name: String) -> Int32? {
        let digits = name.utf8
        guard let first = digits.first, digits.count <= 10, first != UInt8(ascii: "0") || digits.count == 1 else {
            return nil
        }
        var value: Int64 = 0
        for c in digits {
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(c - UInt8(ascii: "0"))
        }
        return value <= Int64(Int32.max) ? Int32(value) : nil
    }

    /// A small file printed as one String.
    static func text(_ show: @escaping () throws(Errno) -> String) -> (inout TextWindow) throws(Errno) -> Void {
        { (window: inout TextWindow) throws(Errno) in window.write(try show()) }
    }
}
