// execve, all of it: a new mm whose VMAs describe the ELF file's PT_LOAD
// segments (filled from the file on first touch), an anonymous bss, for a
// dynamically linked program the same for its loader (PT_INTERP), a grow-down
// stack holding argv, envp and the auxiliary vector, and the heap's start after
// the bss; then the point of no return, where the task drops its old mm and
// starts the new program (at its loader's entry, if it has one). Until that
// point any failure leaves the caller as it was; the failures Linux finds only
// past its own point of no return (mapping the loader) kill the caller instead.
// Linux: fs/exec.c do_execveat_common(), begin_new_exec(), exec_mmap();
// fs/binfmt_elf.c load_elf_binary(), load_elf_interp(), create_elf_tables()

enum Exec {
    /// A loaded program, ready to run in its own address space.
    struct Image {
        let mm: MM
        let entry: VirtAddr
        let stackPointer: UInt64
        let name: String
    }

    /// Bytes of argv + envp + auxv a program may start with. Linux: 1/4 of RLIMIT_STACK (2 MiB)
    static let argumentLimit = 2 << 20
    /// The stack VMA's initial size; it grows down on demand up to RLIMIT_STACK.
    static let initialStackBytes: UInt64 = 128 << 10

    /// Replaces the calling task's program. On success the task returns to user
    /// mode at the new entry point (`frame` is rewritten); on failure nothing
    /// changed. Linux: do_execveat_common()
    static func execve(path: String, arguments: ExecStrings, environment: ExecStrings,
                       frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) {
        let task = Scheduler.current
        let image: Image
        do throws(ExecFailure) {
            image = try load(path: path, in: task.fs, arguments: arguments, environment: environment)
        } catch {
            switch error {
            case .error(let errno): throw errno
            case .killed:
                // Dies on its way back to user mode; the error is never seen.
                // Linux: force_fatal_sig(SIGSEGV)
                task.fatalSignal = Signal.SIGSEGV
                throw .ENOEXEC
            }
        }
        // The point of no return. Linux: begin_new_exec() → exec_mmap()
        MMU.load(image.mm.pageTable.root)             // before the old tables can be freed
        image.mm.activate(on: PerCPU.cpu)
        // The task runs on the new mm before the old one is put: tearing it down
        // may sleep (its mmap_lock), and a switch must not bring it back.
        let signals = task.signals.copy()               // no longer shared with threads of the old image
        signals.resetForExec()
        let old = task.allocLock.withLock { () -> MM? in
            let old = task.mm
            task.mm = image.mm
            task.name = image.name
            task.signals = signals
            task.capabilities = task.capabilities.afterExec
            return old
        }
        if let old {
            old.deactivate(on: PerCPU.cpu)
            old.put()
        }
        task.completeVforkDone()                        // off the parent's memory: it may run
        Task.tasklistLock.withLock { (task.groupLeader ?? task).didExec = true }
        task.fsBase = 0
        CPU.setFSBase(0)
        task.signalStack = SignalStack()                // the old program's stack is gone
        task.files.closeOnExec()
        frame.pointee = InterruptFrame.userEntry(rip: image.entry.value, rsp: image.stackPointer)
        // The new program starts with clean x87/SSE state. Linux: fpu__clear_user_states()
        TaskStack.initializeSSEState(at: TaskStack.sseArea(of: task))
        TaskStack.loadUserFPUState(task)
        frame.pointee.vector = InterruptFrame.rewrittenVector
    }

    /// The new program's mm, entry point and stack, with one user (the caller
    /// installs it or puts it). A dynamically linked program (PT_INTERP) gets its
    /// loader mapped too and starts there, the loader finding the program
    /// through the auxiliary vector. Linux: bprm_execve() → load_elf_binary()
    static func load(path: String, in fs: FSContext, arguments: ExecStrings,
                     environment: ExecStrings) throws(ExecFailure) -> Image {
        let (root, pwd) = fs.rootAndPwd
        // Both ELF files are opened and their headers checked before anything is
        // built: these errors return to the caller.
        let program: ExecFile
        let loader: ExecFile?
        do throws(Errno) {
            program = try ExecFile(opening: path, root: root, pwd: pwd)
        } catch {
            throw .error(error)
        }
        let exe: ELFExecutable
        do throws(ELFError) {
            exe = try parse(program.headers) { (raw) throws(ELFError) in
                try ELFExecutable(parsing: raw, fileLength: program.size)
            }
        } catch {
            Log.notice("execve: \(path): \(error.description)")
            throw .error(.ENOEXEC)
        }
        if let request = exe.interpreter {
            loader = try openInterpreter(request, of: program, path: path, root: root, pwd: pwd)
        } else {
            loader = nil
        }
        guard let mm = MM() else { throw .error(.ENOMEM) }
        mm.setExeFile(program.name)
        do throws(ExecFailure) {
            do throws(Errno) {
                try mapSegments(exe, file: mm.attach(MappedFiles.get(program.name)), into: mm)
                setProgramBounds(exe, mm)
            } catch {
                throw .error(error)
            }
            // Linux maps the interpreter past the point of no return: a failure
            // here kills the process instead of returning.
            let interpreter = try loader.map { (loader) throws(ExecFailure) in try mapInterpreter(loader, into: mm) }
            let stackPointer: UInt64
            do throws(Errno) {
                stackPointer = try buildStack(mm, exe: exe, interpreterBase: interpreter?.loadBias ?? 0, path: path,
                                              arguments: arguments, environment: environment)
            } catch {
                throw .error(error)
            }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            return Image(mm: mm, entry: interpreter?.entry ?? exe.entry, stackPointer: stackPointer,
                         name: String(name.prefix(15)))
        } catch {
            mm.put()                                    // the half-built mm goes
            throw error
        }
    }

    /// Reads the program's PT_INTERP path, opens that file as execve opens a
    /// program, and checks its ELF header and program header table: a path that
    /// is not NUL-terminated is ENOEXEC, a missing or non-executable loader
    /// ENOENT or EACCES, one that is not an x86-64 ELF object ELIBBAD, one shorter
    /// than an ELF header EIO. Linux: the PT_INTERP loop of load_elf_binary(),
    /// open_exec(), and the ELIBBAD checks after it
    private static func openInterpreter(_ request: InterpreterRequest, of program: ExecFile, path: String,
                                        root: Dentry, pwd: Dentry) throws(ExecFailure) -> ExecFile {
        let loader: ExecFile
        do throws(Errno) {
            let bytes = try readBytes(of: program.name.inode, at: request.fileOffset, count: request.size)
            guard bytes.count == request.size else { throw .EIO }    // Linux: elf_read() falls short
            let interpreterPath: String
            do throws(ELFError) {
                interpreterPath = try parse(bytes) { (raw) throws(ELFError) in try ELFExecutable.interpreterPath(raw) }
            } catch {
                Log.notice("execve: \(path): \(error.description)")
                throw .ENOEXEC
            }
            loader = try ExecFile(opening: interpreterPath, root: root, pwd: pwd)
        } catch {
            throw .error(error)
        }
        do throws(ELFError) {
            _ = try parse(loader.headers) { (raw) throws(ELFError) in try ELFExecutable.mappingSpan(of: raw) }
        } catch {
            // The rest of its errors are found while mapping it (mapInterpreter).
            if case .error = error.interpreterFailure {
                Log.notice("execve: \(path): interpreter: \(error.description)")
                throw error.interpreterFailure
            }
        }
        return loader
    }

    /// Maps the loader: an ET_DYN one wherever get_unmapped_area finds room for
    /// all its segments (below the mmap base, like any mmap), an ET_EXEC one at
    /// its own addresses. Its segments are private file mappings like the
    /// program's. Any failure kills the process, as in Linux. Linux: load_elf_interp()
    private static func mapInterpreter(_ loader: ExecFile, into mm: MM) throws(ExecFailure) -> ELFExecutable {
        let interpreter: ELFExecutable
        do throws(ELFError) {
            interpreter = try parse(loader.headers) { (raw) throws(ELFError) in
                let span = try ELFExecutable.mappingSpan(of: raw)
                let base: VirtAddr
                do throws(VMError) {
                    base = try mm.vmas.getUnmappedArea(length: span.size, alignment: span.alignment, layout: mm.layout)
                } catch {
                    // No room for it: the interpreter's first mmap fails. Linux: elf_map()
                    throw .segmentOutsideUserSpace(0)
                }
                return try ELFExecutable(parsing: raw, fileLength: loader.size, role: .interpreter(base: base))
            }
        } catch {
            Log.notice("execve: interpreter \(loader.path): \(error.description)")
            throw error.interpreterFailure
        }
        do throws(Errno) {
            try mapSegments(interpreter, file: mm.attach(MappedFiles.get(loader.name)), into: mm)
        } catch {
            Log.notice("execve: interpreter \(loader.path): \(error.name) mapping it")
            throw .killed
        }
        return interpreter
    }

    /// `body` over the bytes of `array`, keeping its error's type (withUnsafeBytes
    /// would erase it).
    private static func parse<T>(_ array: [UInt8],
                                 _ body: (UnsafeRawBufferPointer) throws(ELFError) -> T) throws(ELFError) -> T {
        let result = array.withUnsafeBytes { raw -> Result<T, ELFError> in
            do throws(ELFError) {
                return .success(try body(raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The first `count` bytes at `offset` of a regular file (fewer if it is
    /// shorter); a read error (EIO from a disk) fails the exec.
    fileprivate static func readBytes(of inode: Inode, at offset: UInt64, count: Int) throws(Errno) -> [UInt8] {
        guard offset <= UInt64(Int.max) else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let read = try bytes.withMutableBytes { (buffer) throws(Errno) in try inode.read(into: buffer, at: Int(offset)) }
        bytes.removeLast(count - read)
        return bytes
    }

    /// PT_LOAD segments as private file VMAs plus anonymous bss. Linux: elf_map(), padzero()
    private static func mapSegments(_ exe: ELFExecutable, file: MappedFileID, into mm: MM) throws(Errno) {
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
            // The rest of the last file page belongs to the bss: it must read as
            // zeros. The write goes through the fault path, so it lands in this
            // process's private copy of the page, never in the file's.
            if segment.memSize > segment.fileSize && !segment.fileEnd.isPageAligned {
                guard mm.zero(at: segment.fileEnd, count: Int(fileEnd - segment.fileEnd)) else { throw .ENOMEM }
            }
        }
    }

    /// The program's (not its loader's) code and data bounds for /proc, and the
    /// heap's start after its bss. Linux: start_code, end_data... and set_brk()
    private static func setProgramBounds(_ exe: ELFExecutable, _ mm: MM) {
        for segment in exe.segments {
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
    private static func insert(_ vma: VMA, into mm: MM) throws(Errno) {
        if mm.vmas.findIntersection(vma.start, vma.end) != nil { try mm.munmap(vma.start, vma.end) }
        do { try mm.vmas.insert(vma) } catch { throw .ENOMEM }
    }

    /// The stack VMA, sized for the arguments, and Linux's initial stack streamed
    /// into it from the calling program's memory. Linux: setup_arg_pages(),
    /// copy_strings(), create_elf_tables()
    /// `interpreterBase` is where the loader was mapped (AT_BASE), 0 without one.
    private static func buildStack(_ mm: MM, exe: ELFExecutable, interpreterBase: UInt64, path: String,
                                   arguments: ExecStrings, environment: ExecStrings) throws(Errno) -> UInt64 {
        let top = mm.layout.stackTop
        let auxv: [(AuxKey, UInt64)] = [
            (.minsigstksz, 2048),
            (.hwcap, CPUFeatures.hwcap),
            (.pagesz, pageSize), (.clktck, UInt64(HZ)),
            (.phdr, exe.programHeaderAddress?.value ?? 0),
            (.phent, exe.programHeaderEntrySize), (.phnum, exe.programHeaderCount),
            (.base, interpreterBase), (.flags, 0), (.entry, exe.entry.value),
            (.uid, 0), (.euid, 0), (.gid, 0), (.egid, 0), (.secure, 0),
        ]
        guard let layout = InitialStackLayout(argumentCount: arguments.count, environmentCount: environment.count,
                                              stringBytes: arguments.bytes + environment.bytes,
                                              executablePathBytes: path.utf8.count + 1, auxiliaryPairs: auxv.count,
                                              top: top.value, limit: argumentLimit) else { throw .E2BIG }
        let stackBytes = max(initialStackBytes, VirtAddr(top.value - layout.stackPointer).alignedUp().value)
        do {
            try mm.vmas.insert(VMA(start: VirtAddr(top.value - stackBytes), end: top, flags: .stackDefault))
        } catch {
            throw .ENOMEM
        }
        var stack = StackWriter(mm: mm)
        try stack.word(UInt64(arguments.count), at: layout.stackPointer)
        var string = VirtAddr(layout.strings)
        let end = VirtAddr(layout.executablePath)
        try arguments.copy(to: &stack, pointers: layout.argumentPointers, strings: &string, end: end)
        try environment.copy(to: &stack, pointers: layout.environmentPointers, strings: &string, end: end)
        try stack.string(path, at: layout.executablePath)
        for (i, word) in layout.auxiliaryWords(auxv).enumerated() {
            try stack.word(word, at: layout.auxiliaryVector + 8 * UInt64(i))
        }
        var random: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &random) { arc4random_buf($0.baseAddress!, 16) }
        try stack.word(random.0, at: layout.random)
        try stack.word(random.1, at: layout.random + 8)
        try stack.string(InitialStackLayout.platformString, at: layout.platform)
        mm.startStack = VirtAddr(layout.stackPointer)
        return layout.stackPointer
    }
}

/// A file execve runs, the program or its loader: opened with exec's checks
/// and its ELF headers read (the file header, then through the program header
/// table; the segments are read page by page when they fault).
/// Linux: open_exec() and the first elf_read()s of load_elf_binary()
private struct ExecFile {
    let path: String
    let name: Dentry
    let size: Int
    let headers: [UInt8]

    /// EACCES unless a regular file with an execute bit. A file shorter than
    /// its headers is read as far as it goes: the parse finds it truncated.
    init(opening path: String, root: Dentry, pwd: Dentry) throws(Errno) {
        let name = try FS.lookup(path, root: root, from: pwd)
        let inode = name.inode
        guard inode.isRegular else { throw .EACCES }
        guard inode.mode & 0o111 != 0 else { throw .EACCES }
        let size = inode.size
        let fileHeader = try Exec.readBytes(of: inode, at: 0, count: min(size, ELF.fileHeaderSize))
        let headerBytes = fileHeader.withUnsafeBytes { ELFExecutable.headerBytes(in: $0) }
        self.path = path
        self.name = name
        self.size = size
        self.headers = try Exec.readBytes(of: inode, at: 0, count: min(size, headerBytes))
    }
}

extension InterruptFrame {
    /// The registers a new program starts with: everything zero but the entry
    /// point, the stack, user segments and interrupts on. Linux: start_thread()
    static func userEntry(rip: UInt64, rsp: UInt64) -> InterruptFrame {
        var frame = InterruptFrame()
        frame.rip = rip
        frame.rsp = rsp
        frame.cs = UInt64(GDT.userCode)
        frame.ss = UInt64(GDT.userData)
        frame.rflags = 0x202
        return frame
    }
}

/// argv or envp in the calling program's memory: the user array of string
/// pointers, how many strings and their bytes with NULs. Measured when execve
/// starts; copied straight into the new stack once it exists, so the kernel never
/// holds a program's arguments (up to 2 MiB) in memory of its own.
/// Linux: count() + the size checks of copy_strings() (the bprm)
struct ExecStrings {
    private enum Source {
        /// The NULL-terminated array of pointers in user memory (NULL itself: no strings).
        case user(VirtAddr)
        /// Strings of the kernel's own, for the init it starts. Linux: copy_string_kernel()
        case kernel([String])
    }
    private let source: Source
    let count: Int
    /// Every string's length plus its NUL.
    let bytes: Int

    /// Longest single string. Linux: MAX_ARG_STRLEN (32 pages)
    static let maxStringLength = 32 * Int(pageSize)

    /// Counts the strings, charging each its bytes and an 8-byte pointer to
    /// `budget` (what is left of Exec.argumentLimit): E2BIG past it, EFAULT for
    /// a bad pointer.
    init(userArray array: VirtAddr, budget: inout Int, bounce: UnsafeMutableRawBufferPointer) throws(Errno) {
        source = .user(array)
        var count = 0, bytes = 0
        if array.value != 0 {
            while let pointer = try Self.pointer(array, count) {
                if Signals.fatalPending(Scheduler.current) { throw .EINTR }   // the caller dies anyway
                Scheduler.condResched()
                guard let length = try UserCopy.stringLength(at: pointer, maxLength: Self.maxStringLength - 1,
                                                             bounce: bounce) else { throw .E2BIG }
                budget -= length + 1 + 8
                guard budget >= 0 else { throw .E2BIG }
                count += 1
                bytes += length + 1
            }
        }
        self.count = count
        self.bytes = bytes
    }

    /// The kernel's own strings (init's argv and envp, from the command line).
    /// Linux: kernel_execve()
    init(kernel strings: [String]) {
        source = .kernel(strings)
        count = strings.count
        bytes = strings.reduce(0) { $0 + $1.utf8.count + 1 }
    }

    /// The `index`th pointer of the user array; nil at its NULL.
    private static func pointer(_ array: VirtAddr, _ index: Int) throws(Errno) -> VirtAddr? {
        // index < 2^18 (the budget) and the address is checked by the copy: no overflow.
        guard array.value < KernelLayout.taskSize else { throw .EFAULT }
        let pointer = try UserCopy.read(UInt64.self, at: VirtAddr(array.value + 8 * UInt64(index)))
        return pointer == 0 ? nil : VirtAddr(pointer)
    }

    /// Copies the strings to `strings` onward in the new stack and their addresses
    /// to the pointer slots from `pointers`. The program may have changed them since
    /// they were measured (another thread): a string that no longer fits before
    /// `end` is E2BIG, never a write outside the layout.
    func copy(to stack: inout StackWriter, pointers: UInt64, strings: inout VirtAddr, end: VirtAddr) throws(Errno) {
        for index in 0..<count {
            try stack.word(strings.value, at: pointers + 8 * UInt64(index))
            switch source {
            case .kernel(let all):
                try stack.string(all[index], at: strings.value)
                strings = strings + UInt64(all[index].utf8.count + 1)
            case .user(let array):
                try copyUserString(array, index, to: &stack, at: &strings, end: end)
            }
        }
        try stack.word(0, at: pointers + 8 * UInt64(count))
    }

    private func copyUserString(_ array: VirtAddr, _ index: Int, to stack: inout StackWriter,
                                at strings: inout VirtAddr, end: VirtAddr) throws(Errno) {
        guard let source = try Self.pointer(array, index) else { throw .EFAULT }
        let room = Int(end - strings) - 1
        guard let length = try UserCopy.stringLength(at: source, maxLength: room, bounce: stack.bounce) else {
            throw .E2BIG
        }
        try stack.copyString(from: source, length: length, to: strings)
        strings = strings + UInt64(length + 1)
    }
}

/// Writes into the new program's stack (an address space not loaded in CR3),
/// with one page of kernel memory to bounce user strings through.
struct StackWriter: ~Copyable {
    let mm: MM
    let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(pageSize), alignment: 16)

    init(mm: MM) { self.mm = mm }
    deinit { bounce.deallocate() }

    mutating func word(_ value: UInt64, at address: UInt64) throws(Errno) {
        let written = withUnsafeBytes(of: value) { mm.write($0, at: VirtAddr(address)) }
        guard written else { throw .ENOMEM }
    }

    mutating func string(_ s: String, at address: UInt64) throws(Errno) {
        let written = (Array(s.utf8) + [0]).withUnsafeBytes { mm.write($0, at: VirtAddr(address)) }
        guard written else { throw .ENOMEM }
    }

    /// `length` bytes of the current program's string at `source`, then a NUL.
    mutating func copyString(from source: VirtAddr, length: Int, to target: VirtAddr) throws(Errno) {
        var done = 0
        while done < length {
            let piece = try UserRange(source + UInt64(done), count: length - done).firstPage
            try UserCopy.copyIn(bounce.baseAddress!, from: piece)
            guard mm.write(UnsafeRawBufferPointer(rebasing: bounce[0..<piece.count]), at: target + UInt64(done)) else {
                throw .ENOMEM
            }
            done += piece.count
        }
        let nul = withUnsafeBytes(of: UInt8(0)) { mm.write($0, at: target + UInt64(length)) }
        guard nul else { throw .ENOMEM }
    }
}
