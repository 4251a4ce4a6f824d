// The ELF half of execve: turn an untrusted file image into the list of
// mappings, the entry point, the auxiliary-vector facts and the start of the
// heap. Pure arithmetic over the file's bytes; building the address space is
// the caller's job. Every malformed input becomes an ELFError, never a trap.
//
// A dynamically linked program is two ELF files: the program, whose PT_INTERP
// names its dynamic loader (/lib64/ld-linux-x86-64.so.2), and that loader, an
// ET_DYN object the kernel maps wherever mmap finds room and starts instead of
// the program. Both are parsed here, in their two roles.

/// An ELF64 executable (ET_EXEC, or position-independent ET_DYN) or dynamic
/// loader validated and placed in a user address space. Linux: the parsing
/// half of load_elf_binary() and load_elf_interp() (fs/binfmt_elf.c)
public struct ELFExecutable {
    /// Which of execve's two ELF files is parsed, which decides where an ET_DYN goes.
    public enum Role: Equatable, Sendable {
        /// The file execve was given: an ET_DYN goes at ELF.etDynBase; its
        /// PT_INTERP, if any, is reported in `interpreter`. Linux: load_elf_binary()
        case program
        /// The dynamic loader a program's PT_INTERP names: an ET_DYN's first page
        /// goes at `base` (chosen by get_unmapped_area for `mappingSpan`); its own
        /// PT_INTERP is ignored. Linux: load_elf_interp()
        case interpreter(base: VirtAddr)
    }

    /// True for ET_DYN (a PIE or the dynamic loader), which is relocated by `loadBias`.
    public let isPositionIndependent: Bool
    /// Added to every p_vaddr: 0 for ET_EXEC; for an ET_DYN program, ELF.etDynBase
    /// (aligned down to the largest power-of-two p_align) minus the first
    /// PT_LOAD's page; for an ET_DYN interpreter, its base minus that page.
    /// Linux: load_bias (the program), load_addr (the interpreter, AT_BASE)
    public let loadBias: UInt64
    /// The program's PT_INTERP: where the loader's path lies in the file, to be
    /// read and checked by `interpreterPath(_:)`. nil for a static program and
    /// for the interpreter role.
    public let interpreter: InterpreterRequest?
    /// Where user mode starts, bias applied. Linux: e_entry + load_bias (AT_ENTRY)
    public let entry: VirtAddr
    /// Non-empty PT_LOAD segments, sorted by address, non-overlapping, inside
    /// [pageSize, KernelLayout.taskSize).
    public let segments: [LoadSegment]
    /// The program header table in the loaded image: PT_PHDR's address if present,
    /// else e_phoff translated through the PT_LOAD that holds it, else nil (pass 0).
    /// Linux: AT_PHDR
    public let programHeaderAddress: VirtAddr?
    /// Linux: AT_PHENT (always sizeof(Elf64_Phdr): other sizes are refused)
    public var programHeaderEntrySize: UInt64 { UInt64(ELF.programHeaderSize) }
    /// Linux: AT_PHNUM
    public let programHeaderCount: UInt64
    /// First heap byte: end of the highest segment, page-aligned up. Linux: mm->start_brk
    public let brkStart: VirtAddr
    /// PT_GNU_STACK's flags, or nil when the file has none. Linux: executable_stack
    public let stackFlags: SegmentFlags?
    /// The PT_TLS template, if any.
    public let tls: TLSSegment?

    /// Whether the stack must be executable: only when PT_GNU_STACK asks for PF_X,
    /// since x86-64 does not imply exec for a missing header. Linux: EXSTACK_ENABLE_X
    public var executableStack: Bool { stackFlags?.contains(.execute) ?? false }

    /// How many bytes from the start of the file `init(parsing:fileLength:)`
    /// needs: through the end of the program-header table, as `fileHeader` (the
    /// file's first bytes) gives it, and at least the file header itself. A
    /// nonsensical table position gives the header size: the parse then reports
    /// the precise error. Linux: the BINPRM_BUF_SIZE read, then elf_read() of the phdrs
    public static func headerBytes(in fileHeader: UnsafeRawBufferPointer) -> Int {
        guard fileHeader.count >= ELF.fileHeaderSize else { return ELF.fileHeaderSize }
        let header = LittleEndianBytes(bytes: fileHeader)
        let tableSize = UInt64(header.u16(56)) * UInt64(ELF.programHeaderSize)
        let (end, overflow) = header.u64(32).addingReportingOverflow(tableSize)
        guard !overflow, end <= UInt64(Int32.max) else { return ELF.fileHeaderSize }
        return max(ELF.fileHeaderSize, Int(end))
    }

    /// Validates `image`, the first bytes of a file of `fileLength` bytes (the
    /// whole file when nil; at least `headerBytes` of it otherwise), and lays it
    /// out for `role`. The result refers to the file only by offsets, so it
    /// outlives `image`.
    public init(parsing image: UnsafeRawBufferPointer, fileLength: Int? = nil, role: Role = .program) throws(ELFError) {
        let fileLength = fileLength ?? image.count
        let file = LittleEndianBytes(bytes: image)
        let header = try ELFHeader(file)
        let plan = try LoadPlan(file, header, role: role)
        let bias = plan.bias(header, role: role)

        var segments: [LoadSegment] = []
        var phdrVaddr: UInt64?
        var stackFlags: SegmentFlags?
        var tls: TLSSegment?
        for index in 0..<header.programHeaderCount {
            let ph = ELFProgramHeader(file, header: header, index: index)
            switch ph.type {
            case ELF.ptLoad:
                guard let segment = try LoadSegment(validating: ph, index: index, bias: bias,
                                                    fileLength: fileLength) else { continue }
                if let previous = segments.last, segment.start < previous.end {
                    throw .overlappingSegments(index)
                }
                segments.append(segment)
            case ELF.ptPhdr:
                phdrVaddr = ph.vaddr
            case ELF.ptTLS:
                tls = TLSSegment(start: VirtAddr(ph.vaddr &+ bias), fileSize: ph.fileSize,
                                 memSize: ph.memSize, align: ph.align)
            case ELF.ptGNUStack:
                stackFlags = ph.flags
            default:
                continue
            }
        }
        guard let highest = segments.last else { throw .noLoadSegments }
        let entry = header.entry &+ bias
        // Linux: BAD_ADDR(elf_entry)
        guard entry < KernelLayout.taskSize else { throw .entryOutsideUserSpace }

        self.isPositionIndependent = header.type == ELF.typeDyn
        self.loadBias = bias
        self.interpreter = plan.interpreter
        self.entry = VirtAddr(entry)
        self.segments = segments
        self.programHeaderAddress = phdrVaddr.map { VirtAddr($0 &+ bias) }
            ?? Self.mappedAddress(ofFileOffset: UInt64(header.programHeaderOffset), in: segments)
        self.programHeaderCount = UInt64(header.programHeaderCount)
        self.brkStart = highest.end.alignedUp()
        self.stackFlags = stackFlags
        self.tls = tls
    }

    /// How much address space the PT_LOAD segments span as linked, from the
    /// first one's page to the end of the last, and the alignment their base
    /// needs (the largest power-of-two p_align, at least a page): what execve
    /// asks get_unmapped_area for before it places an interpreter with
    /// `.interpreter(base:)`. A span that wraps is reported as UInt64.max, which
    /// no address space has room for. Linux: total_mapping_size(), maximum_alignment()
    public static func mappingSpan(of image: UnsafeRawBufferPointer) throws(ELFError) -> (size: UInt64, alignment: UInt64) {
        let file = LittleEndianBytes(bytes: image)
        let header = try ELFHeader(file)
        let plan = try LoadPlan(file, header, role: .interpreter(base: VirtAddr(0)))
        let start = plan.firstVaddr & ~(pageSize - 1)
        guard plan.lastEnd >= start else { return (UInt64.max, plan.alignment) }
        return (plan.lastEnd - start, plan.alignment)
    }

    /// The path in PT_INTERP's bytes (`request.size` of them read from
    /// `request.fileOffset`): it must end in a NUL, and ends at its first NUL.
    /// Linux: the "make sure path is NULL terminated" check of load_elf_binary()
    public static func interpreterPath(_ bytes: UnsafeRawBufferPointer) throws(ELFError) -> String {
        guard let last = bytes.last, last == 0 else { throw .badInterpreterPath }
        let length = bytes.firstIndex(of: 0) ?? 0
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<length]), as: UTF8.self)
    }

    /// Where file byte `offset` appears in memory, if a segment maps it from the file.
    private static func mappedAddress(ofFileOffset offset: UInt64, in segments: [LoadSegment]) -> VirtAddr? {
        for segment in segments where segment.fileOffset <= offset && offset - segment.fileOffset < segment.fileSize {
            return segment.start + (offset - segment.fileOffset)
        }
        return nil
    }
}

/// Where a program's PT_INTERP keeps the loader's path: `size` bytes (2 through
/// PATH_MAX, NUL included) at `fileOffset`. Linux: elf_ppnt->p_offset, p_filesz
public struct InterpreterRequest: Equatable, Sendable {
    public let fileOffset: UInt64
    public let size: Int
}

/// The first pass over the program headers, as in Linux: find PT_INTERP and
/// refuse a bad one before anything is placed, and note the first PT_LOAD's
/// address, the end of the last and the largest power-of-two alignment any
/// asks for. Linux: the PT_INTERP loop, maximum_alignment() and
/// total_mapping_size() of fs/binfmt_elf.c
private struct LoadPlan {
    var firstVaddr: UInt64
    /// p_vaddr + p_memsz of the last PT_LOAD (wrapping on purpose: a nonsensical
    /// one yields addresses the per-segment checks then reject).
    var lastEnd: UInt64
    var alignment: UInt64
    var interpreter: InterpreterRequest?

    init(_ file: LittleEndianBytes, _ header: ELFHeader, role: ELFExecutable.Role) throws(ELFError) {
        var firstVaddr: UInt64?
        var lastEnd: UInt64 = 0
        var alignment = pageSize
        var interpreter: InterpreterRequest?
        for index in 0..<header.programHeaderCount {
            let ph = ELFProgramHeader(file, header: header, index: index)
            // Only the first PT_INTERP counts, and only the program's.
            if ph.type == ELF.ptInterp, role == .program, interpreter == nil {
                guard ph.fileSize >= 2, ph.fileSize <= UInt64(PathWalk.pathMax) else { throw .badInterpreterPath }
                interpreter = InterpreterRequest(fileOffset: ph.offset, size: Int(ph.fileSize))
            }
            guard ph.type == ELF.ptLoad else { continue }
            if firstVaddr == nil { firstVaddr = ph.vaddr }
            lastEnd = ph.vaddr &+ ph.memSize
            if ph.align > alignment, ph.align & (ph.align - 1) == 0 { alignment = ph.align }
        }
        guard let firstVaddr else { throw .noLoadSegments }
        self.firstVaddr = firstVaddr
        self.lastEnd = lastEnd
        self.alignment = alignment
        self.interpreter = interpreter
    }

    /// The load bias: 0 for ET_EXEC; an ET_DYN's first page goes at ELF.etDynBase
    /// (a program, aligned down to `alignment`) or at the interpreter's base.
    /// Linux: the ET_DYN branch of load_elf_binary(); load_addr in load_elf_interp()
    func bias(_ header: ELFHeader, role: ELFExecutable.Role) -> UInt64 {
        guard header.type == ELF.typeDyn else { return 0 }
        // Wrapping on purpose: a nonsensical p_vaddr yields addresses that the
        // per-segment user-space check then rejects.
        switch role {
        case .program: return ((ELF.etDynBase & ~(alignment - 1)) &- firstVaddr) & ~(pageSize - 1)
        case .interpreter(let base): return base.value &- (firstVaddr & ~(pageSize - 1))
        }
    }
}
