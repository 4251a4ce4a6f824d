// /proc/sys: the kernel's tunables, one number per file, in Linux's layout.
// Keel has /proc/sys/vm's write-back tunables, drop_caches and compact_memory
// (Kernel/Memory/VMSysctl.swift keeps the values; Kernel/Core/FS/Sysctl.swift
// reads and writes their text). A fixed tree made once: its inode numbers are
// /proc/sys 3, /proc/sys/vm 4 and its files 5 and up, below the numbers of
// /proc's own files (ProcRootDirectory).
// Linux: fs/proc/proc_sysctl.c (proc_sys_lookup, proc_sys_readdir,
// proc_sys_call_handler, proc_sys_permission)

enum ProcSys {
    static let ino: UInt64 = 3
    private static let vmIno: UInt64 = 4

    /// The /proc/sys directory. Linux: proc_sys_root
    static let root = directory(ino: ino, [("vm", vm)])

    private static let vm = directory(ino: vmIno, VMSysctlFile.allCases.map { file in
        (file.name, Inode(ino: vmIno + 1 + UInt64(file.rawValue), superBlock: ProcFS.superBlock,
                          kind: .special(SysctlFile(file)), permissions: file.permissions))
    })

    private static func directory(ino: UInt64, _ children: [(String, Inode)]) -> Inode {
        Inode(ino: ino, superBlock: ProcFS.superBlock, kind: .directory(FixedTree(children)), permissions: 0o555)
    }
}

/// One /proc/sys/vm file. Linux: proc_sys_file_operations over a ctl_table entry
final class SysctlFile: SpecialFile {
    private let file: VMSysctlFile

    init(_ file: VMSysctlFile) { self.file = file }

    /// The table's mode decides, for root too: root gets the owner's bits and
    /// no override, so drop_caches (0200) cannot be opened for reading.
    /// Linux: proc_sys_permission() → sysctl_perm() → test_perm()
    func open(flags: OpenFlags) throws(Errno) {
        let owner = AccessMask(rawValue: (file.permissions >> 6) & 7)
        guard owner.isSuperset(of: flags.requiredAccess) else { throw .EACCES }
    }

    /// The number and a newline at offset 0, nothing after. Linux: proc_dointvec() reading
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let bytes = SysctlText.readBytes(VMSysctl.text(file), count: buffer.count, at: offset)
        for (i, byte) in bytes.enumerated() { buffer[i] = byte }
        return bytes.count
    }

    /// Linux: proc_sys_call_handler() → the entry's proc_handler
    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        try VMSysctl.write(file, buffer, at: offset)
    }
}
