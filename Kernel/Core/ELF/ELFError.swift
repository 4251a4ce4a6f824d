// Why execve refused a file. The ELF parser reads untrusted bytes, so every
// malformed input ends here instead of in a trap; the caller turns these into
// the errno Linux gives (ENOEXEC for the program; for its interpreter, see
// `interpreterFailure`) and logs `description` so the user learns which check failed.

/// A reason an ELF file cannot be executed. Segment payloads are indices into
/// the program header table. Linux: the `goto out` paths of load_elf_binary()
public enum ELFError: Error, Equatable, CustomStringConvertible {
    /// Which structure a file was too short to hold.
    public enum Part: Equatable, Sendable {
        case fileHeader
        case programHeaders
    }

    /// e_ident does not start with "\177ELF".
    case badMagic
    /// e_ident[EI_CLASS] is not ELFCLASS64.
    case notELF64
    /// e_ident[EI_DATA] is not ELFDATA2LSB.
    case wrongEndianness
    /// e_ident[EI_VERSION] or e_version is not EV_CURRENT.
    case wrongVersion
    /// e_machine is not EM_X86_64.
    case wrongMachine(UInt16)
    /// e_type is neither ET_EXEC nor ET_DYN (a relocatable object or core dump).
    case wrongType(UInt16)
    /// e_phentsize is not sizeof(Elf64_Phdr).
    case badProgramHeaderSize(UInt16)
    /// e_phnum is zero or above ELF.maxProgramHeaders.
    case badProgramHeaderCount(UInt16)
    /// The file ends inside the named structure.
    case truncated(Part)
    /// p_offset + p_filesz lies beyond the end of the file.
    case segmentOutOfFile(Int)
    /// p_filesz > p_memsz.
    case filesizeExceedsMemsize(Int)
    /// p_vaddr and p_offset differ modulo the page size, so the file cannot be mapped.
    case misalignedSegment(Int)
    /// The segment, after the load bias, is not inside [pageSize, TASK_SIZE).
    case segmentOutsideUserSpace(Int)
    /// The segment starts below the end of the previous PT_LOAD.
    case overlappingSegments(Int)
    /// No PT_LOAD with a non-zero p_memsz.
    case noLoadSegments
    /// e_entry, after the load bias, is not a user address.
    case entryOutsideUserSpace
    /// PT_INTERP's path is under 2 or over PATH_MAX bytes, or does not end in a NUL.
    case badInterpreterPath

    public var description: String {
        switch self {
        case .badMagic: return "not an ELF file (bad magic)"
        case .notELF64: return "not a 64-bit ELF file"
        case .wrongEndianness: return "not a little-endian ELF file"
        case .wrongVersion: return "unknown ELF version"
        case .wrongMachine(let m): return "wrong machine " + String(m) + " (want x86-64, 62)"
        case .wrongType(let t): return "ELF type " + String(t) + " is not executable"
        case .badProgramHeaderSize(let s): return "program header size " + String(s) + " (want 56)"
        case .badProgramHeaderCount(let n): return "bad program header count " + String(n)
        case .truncated(.fileHeader): return "file too short for the ELF header"
        case .truncated(.programHeaders): return "program header table beyond end of file"
        case .segmentOutOfFile(let i): return "segment " + String(i) + " beyond end of file"
        case .filesizeExceedsMemsize(let i): return "segment " + String(i) + " has p_filesz > p_memsz"
        case .misalignedSegment(let i): return "segment " + String(i) + " vaddr and offset not congruent"
        case .segmentOutsideUserSpace(let i): return "segment " + String(i) + " outside user space"
        case .overlappingSegments(let i): return "segment " + String(i) + " overlaps or precedes the previous one"
        case .noLoadSegments: return "no loadable segments"
        case .entryOutsideUserSpace: return "entry point outside user space"
        case .badInterpreterPath: return "PT_INTERP is not a NUL-terminated path of 2 to PATH_MAX bytes"
        }
    }
}

/// How execve fails. Linux reads and checks both ELF files (the program and
/// its interpreter) before the point of no return, where errors return to the
/// caller, but maps the interpreter after it, where errors kill the process.
public enum ExecFailure: Error, Equatable, Sendable {
    /// execve returns this error; the calling program goes on.
    case error(Errno)
    /// execve does not return: the process dies of SIGSEGV.
    /// Linux: force_fatal_sig(SIGSEGV) in bprm_execve() after point_of_no_return
    case killed
}

extension ELFError {
    /// What Linux makes of this error in the interpreter rather than the
    /// program: a file shorter than its ELF header is EIO (elf_read() falls
    /// short); a file that is not an x86-64 ELF object, or whose program header
    /// table is unusable, is ELIBBAD ("accessing a corrupted shared library");
    /// anything wrong with its type, segments or entry point is found while
    /// mapping it, past the point of no return. Linux: load_elf_binary(),
    /// load_elf_interp()
    public var interpreterFailure: ExecFailure {
        switch self {
        case .truncated(.fileHeader): return .error(.EIO)
        case .badMagic, .notELF64, .wrongEndianness, .wrongVersion, .wrongMachine, .badProgramHeaderSize,
             .badProgramHeaderCount, .truncated(.programHeaders):
            return .error(.ELIBBAD)
        case .wrongType, .segmentOutOfFile, .filesizeExceedsMemsize, .misalignedSegment, .segmentOutsideUserSpace,
             .overlappingSegments, .noLoadSegments, .entryOutsideUserSpace, .badInterpreterPath:
            return .killed
        }
    }
}
