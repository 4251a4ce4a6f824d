// The memory-management system calls: registers in, one MM method called
// (Kernel/Memory/Mmap.swift, Mprotect.swift, Mremap.swift, Mlock.swift), result out. All
// checking of lengths, flags and ranges happens there, in Linux's order. Each
// call holds the mm's mmap_lock around its work: for writing where VMAs or
// pages change, for reading where they are only looked at.
// Linux: the SYSCALL_DEFINEs of mm/mmap.c, mm/mprotect.c, mm/mremap.c,
// mm/mlock.c, mm/madvise.c, mm/msync.c and arch/x86/kernel/sys_x86_64.c

enum MemorySyscalls {
    private static var mm: MM {
        get throws(Errno) {
            guard let mm = Scheduler.current.mm else { throw .EFAULT }
            return mm
        }
    }

    /// mmap(addr, length, prot, flags, fd, offset). Linux: sys_mmap() → ksys_mmap_pgoff()
    static func mmap(_ a: SyscallArgs) throws(Errno) -> Int {
        let offset = a.u64(5)
        guard offset & (pageSize - 1) == 0 else { throw .EINVAL }
        let file = a.int(3) & Mman.MAP_ANONYMOUS == 0 ? try FileSyscalls.file(a.int(4)) : nil   // Linux: fget()
        let mm = try mm
        let start = try mm.mmapLock.withWrite { () throws(Errno) in
            try mm.mmap(hint: a.address(0), length: a.u64(1), prot: a.u64(2), flags: a.int(3), file: file, offset: offset)
        }
        return Int(start.value)
    }

    /// munmap(addr, length)
    static func munmap(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        try mm.mmapLock.withWrite { () throws(Errno) in try mm.munmap(a.address(0), length: a.u64(1)) }
        return 0
    }

    /// mprotect(addr, length, prot)
    static func mprotect(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        try mm.mmapLock.withWrite { () throws(Errno) in try mm.mprotect(a.address(0), length: a.u64(1), prot: a.u64(2)) }
        return 0
    }

    /// brk(addr): the new break, or the old one if refused.
    static func brk(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        return Int(try mm.mmapLock.withWrite { () throws(Errno) in try mm.brk(a.address(0)) }.value)
    }

    /// mremap(old, old_length, new_length, flags, new_address)
    static func mremap(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        return Int(try mm.mmapLock.withWrite { () throws(Errno) in
            try mm.mremap(a.address(0), oldLength: a.u64(1), newLength: a.u64(2), flags: a.u64(3), newAddress: a.address(4))
        }.value)
    }

    /// madvise(addr, length, advice)
    static func madvise(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        // For writing, as the other calls that remove pages (Linux takes it for
        // reading and relies on the page-table lock, which Keel's faults do not take yet).
        try mm.mmapLock.withWrite { () throws(Errno) in try mm.madvise(a.address(0), length: a.u64(1), advice: a.int(2)) }
        return 0
    }

    /// mlock(addr, len), mlock2(addr, len, flags) and munlock(addr, len).
    /// mlock2's flags are an int in Linux; only MLOCK_ONFAULT is known.
    /// Linux: SYSCALL_DEFINE2(mlock), SYSCALL_DEFINE3(mlock2), SYSCALL_DEFINE2(munlock)
    static func mlock(_ a: SyscallArgs) throws(Errno) -> Int {
        var lock: VMFlags = a.number == Syscall.munlock.rawValue ? [] : [.locked]
        if a.number == Syscall.mlock2.rawValue {
            let flags = UInt64(UInt32(truncatingIfNeeded: a.u64(2)))
            guard flags & ~Mlock.MLOCK_ONFAULT == 0 else { throw .EINVAL }
            if flags & Mlock.MLOCK_ONFAULT != 0 { lock.insert(.lockOnFault) }
        }
        let mm = try mm
        try mm.mmapLock.withWrite { () throws(Errno) in try mm.mlock(a.address(0), length: a.u64(1), lock) }
        return 0
    }

    /// mlockall(flags)
    static func mlockall(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        try mm.mmapLock.withWrite { () throws(Errno) in try mm.mlockall(a.int(0)) }
        return 0
    }

    /// munlockall()
    static func munlockall() throws(Errno) -> Int {
        let mm = try mm
        mm.mmapLock.withWrite { mm.munlockall() }
        return 0
    }

    /// msync(addr, length, flags): with MS_SYNC, the shared file pages of the
    /// range are written back and waited for, after mmap_lock is let go of.
    /// Linux: SYSCALL_DEFINE3(msync) → vfs_fsync_range()
    static func msync(_ a: SyscallArgs) throws(Errno) -> Int {
        let mm = try mm
        let files = try mm.mmapLock.withRead { () throws(Errno) in
            try mm.msync(a.address(0), length: a.u64(1), flags: a.int(2))
        }
        for (file, pages) in files {
            try MappedFiles.mapping(file)?.sync(pages)
        }
        return 0
    }
}

extension MemorySyscalls {
    /// swapon(path, swapflags): the disk `path` names becomes a swap area.
    /// Linux's order: flags (EINVAL), CAP_SYS_ADMIN (EPERM), the path
    /// (EFAULT, ENOENT, ...), then the file. Linux: SYSCALL_DEFINE2(swapon)
    static func swapon(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = a.int(1)
        guard flags & ~Swap.validFlags == 0 else { throw .EINVAL }
        guard Scheduler.current.capabilities.effective & Swap.capSysAdmin != 0 else { throw .EPERM }
        let (disk, number, path) = try swapDevice(FileSyscalls.userPath(a.address(0)))
        try Swap.swapon(disk: disk, number: number, path: path, flags: flags)
        return 0
    }

    /// swapoff(path): every page of the area comes back into memory, then it
    /// is switched off. EINVAL if `path` is no swap area. Linux: SYSCALL_DEFINE1(swapoff)
    static func swapoff(_ a: SyscallArgs) throws(Errno) -> Int {
        guard Scheduler.current.capabilities.effective & Swap.capSysAdmin != 0 else { throw .EPERM }
        let (_, number, _) = try swapDevice(FileSyscalls.userPath(a.address(0)))
        try Swap.swapoff(number: number)
        return 0
    }

    /// The disk a swapon/swapoff path names, its number and its full path
    /// (what /proc/swaps shows). Linux opens it O_RDWR (EISDIR for a
    /// directory); a disk node with no disk is ENXIO; anything but a disk is
    /// EINVAL (Linux's claim_swapfile(); Keel has no swap files yet).
    static func swapDevice(_ path: String) throws(Errno) -> (any BlockDevice, DeviceNumber, String) {
        let found = try FileSyscalls.lookup(FileSyscalls.AT_FDCWD, path, follow: true)
        guard !found.inode.isDirectory else { throw .EISDIR }
        guard case .blockDevice(let number) = found.inode.kind else { throw .EINVAL }
        guard let disk = FS.disk(for: number) else { throw .ENXIO }
        return (disk, number, found.path(below: Optional<Dentry>.none))
    }
}
