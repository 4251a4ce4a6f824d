// Loading a program: a new address space whose VMAs describe the ELF file's
// PT_LOAD segments (filled from the file on first touch), an anonymous bss, a
// grow-down stack holding argv, envp and the auxiliary vector, and the heap's
// start after the bss. Linux: fs/exec.c do_execveat_common(), fs/binfmt_elf.c
// load_elf_binary(), create_elf_tables()

enum Exec {
    /// A loaded program, ready to run in its own address space.
    struct Image {
        let mm: AddressSpace
        let entry: VirtAddr
        let stackPointer: UInt64
        let name: String
    }

    /// Bytes of argv + envp + auxv a program may start with. Linux: 1/4 of RLIMIT_STACK (2 MiB)
    static let argumentLimit = 2 << 20
    /// The stack VMA's initial size; it grows down on demand up to RLIMIT_STACK.
    static let initialStackBytes: UInt64 = 128 << 10

    static func load(path: String, relativeTo cwd: Inode?, arguments: [String], environment: [String]) throws(Errno) -> Image {
        let inode = try FS.lookup(path, relativeTo: cwd)
        guard inode.isRegular else { throw .EACCES }
        guard inode.mode & 0o111 != 0 else { throw .EACCES }
        var file = [UInt8](repeating: 0, count: inode.size)
        let read = file.withUnsafeMutableBytes { inode.read(into: $0, at: 0) }
        guard read == inode.size else { throw .EIO }
        let parsed = file.withUnsafeBytes { bytes -> Result<ELFExecutable, ELFError> in
            do throws(ELFError) { return .success(try ELFExecutable(parsing: bytes)) } catch { return .failure(error) }
        }
        guard case .success(let exe) = parsed else {
            if case .failure(let error) = parsed { Log.notice("execve: \(path): \(error.description)") }
            throw .ENOEXEC
        }
        guard let mm = AddressSpace() else { throw .ENOMEM }
        try mapSegments(exe, file: MappedFiles.id(for: inode), into: mm)
        let stackPointer = try buildStack(mm, exe: exe, path: path, arguments: arguments, environment: environment)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return Image(mm: mm, entry: exe.entry, stackPointer: stackPointer, name: String(name.prefix(15)))
    }

    /// PT_LOAD segments as private file VMAs plus anonymous bss. Linux: elf_map(), set_brk()
    private static func mapSegments(_ exe: ELFExecutable, file: MappedFileID, into mm: AddressSpace) throws(Errno) {
        for segment in exe.segments {
            var flags: VMFlags = [.mayRead, .mayWrite, .mayExec]
            if segment.flags.contains(.read) { flags.insert(.read) }
            if segment.flags.contains(.write) { flags.insert(.write) }
            if segment.flags.contains(.execute) { flags.insert(.exec) }
            let start = segment.start.alignedDown()
            let fileEnd = segment.fileEnd.alignedUp()
            let end = segment.end.alignedUp()
            if segment.fileSize > 0 {
                let pageOffset = (segment.fileOffset - (segment.start - start)) >> pageShift
                try insert(VMA(start: start, end: fileEnd, flags: flags, backing: .file(file, pageOffset: pageOffset)), into: mm)
            }
            let bssStart = segment.fileSize > 0 ? fileEnd : start
            if end > bssStart { try insert(VMA(start: bssStart, end: end, flags: flags), into: mm) }
            // The rest of the last file page belongs to the bss: it must read as zeros.
            if segment.memSize > segment.fileSize && !segment.fileEnd.isPageAligned {
                guard mm.zero(at: segment.fileEnd, count: Int(fileEnd - segment.fileEnd)) else { throw .ENOMEM }
            }
            if segment.flags.contains(.execute) {
                mm.startCode = mm.startCode.value == 0 ? segment.start : min(mm.startCode, segment.start)
                mm.endCode = max(mm.endCode, segment.fileEnd)
            } else {
                mm.startData = mm.startData.value == 0 ? segment.start : min(mm.startData, segment.start)
                mm.endData = max(mm.endData, segment.fileEnd)
            }
        }
        mm.startBrk = exe.brkStart
        mm.brk = exe.brkStart
    }

    /// A segment overlapping the previous one's last page replaces it there, as
    /// Linux's MAP_FIXED mapping of each segment does.
    private static func insert(_ vma: VMA, into mm: AddressSpace) throws(Errno) {
        if mm.vmas.findIntersection(vma.start, vma.end) != nil {
            _ = try? mm.vmas.unmapRange(vma.start, vma.end)
            mm.releaseUserPages(vma.start, vma.end)
        }
        do { try mm.vmas.insert(vma) } catch { throw .ENOMEM }
    }

    private static func buildStack(_ mm: AddressSpace, exe: ELFExecutable, path: String,
                                   arguments: [String], environment: [String]) throws(Errno) -> UInt64 {
        let top = mm.layout.stackTop
        do {
            try mm.vmas.insert(VMA(start: VirtAddr(top.value - initialStackBytes), end: top, flags: .stackDefault))
        } catch {
            throw .ENOMEM
        }
        var random: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &random) { arc4random_buf($0.baseAddress!, 16) }
        let auxv: [(AuxKey, UInt64)] = [
            (.minsigstksz, 2048),
            (.hwcap, UInt64(cpuid(1, 0).edx)),
            (.pagesz, pageSize), (.clktck, UInt64(LocalAPIC.hz)),
            (.phdr, exe.programHeaderAddress?.value ?? 0),
            (.phent, exe.programHeaderEntrySize), (.phnum, exe.programHeaderCount),
            (.base, 0), (.flags, 0), (.entry, exe.entry.value),
            (.uid, 0), (.euid, 0), (.gid, 0), (.egid, 0), (.secure, 0),
        ]
        let contents = InitialStackContents(arguments: arguments, environment: environment, executablePath: path,
                                            auxiliary: auxv, randomBytes: random)
        guard let stack = InitialStack(contents, top: top.value, limit: argumentLimit) else { throw .E2BIG }
        let written = stack.bytes.withUnsafeBytes { mm.write($0, at: VirtAddr(stack.stackPointer)) }
        guard written else { throw .ENOMEM }
        mm.startStack = VirtAddr(stack.stackPointer)
        return stack.stackPointer
    }
}
