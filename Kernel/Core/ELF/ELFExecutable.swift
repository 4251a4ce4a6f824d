// The ELF half of execve: turn an untrusted file image into the list of
// mappings, the entry point, the auxiliary-vector facts and the start of the
// heap. Pure arithmetic over the file's bytes; building the address space is
// the caller's job. Every malformed input becomes an ELFError, never a trap.

/// A static ELF64 executable (ET_EXEC, or static-PIE ET_DYN) validated and
/// placed in a user address space. Linux: the parsing half of load_elf_binary()
/// (fs/binfmt_elf.c)
public struct ELFExecutable {
    /// True for ET_DYN (static-PIE), which is relocated by `loadBias`.
    public let isPositionIndependent: Bool
    /// Added to every p_vaddr: 0 for ET_EXEC; for ET_DYN, ELF.etDynBase (aligned
    /// down to the largest power-of-two p_align) minus the first PT_LOAD's page.
    /// Linux: load_bias
    public let loadBias: UInt64
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
    /// out. The result refers to the file only by offsets, so it outlives `image`.
    public init(parsing image: UnsafeRawBufferPointer, fileLength: Int? = nil) throws(ELFError) {
        let fileLength = fileLength ?? image.count
        let file = LittleEndianBytes(bytes: image)
        let header = try ELFHeader(file)
        let bias = try Self.loadBias(file, header)

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
        self.entry = VirtAddr(entry)
        self.segments = segments
        self.programHeaderAddress = phdrVaddr.map { VirtAddr($0 &+ bias) }
            ?? Self.mappedAddress(ofFileOffset: UInt64(header.programHeaderOffset), in: segments)
        self.programHeaderCount = UInt64(header.programHeaderCount)
        self.brkStart = highest.end.alignedUp()
        self.stackFlags = stackFlags
        self.tls = tls
    }

    /// The first pass over the program headers, as in Linux: refuse PT_INTERP
    /// before anything is placed, then derive the bias from the first PT_LOAD and
    /// the largest power-of-two alignment any PT_LOAD asks for.
    /// Linux: the PT_INTERP loop, maximum_alignment() and the ET_DYN branch of load_elf_binary()
    private static func loadBias(_ file: LittleEndianBytes, _ header: ELFHeader) throws(ELFError) -> UInt64 {
        var firstVaddr: UInt64?
        var alignment = pageSize
        for index in 0..<header.programHeaderCount {
            let ph = ELFProgramHeader(file, header: header, index: index)
            if ph.type == ELF.ptInterp { throw .interpreterNotSupported }
            guard ph.type == ELF.ptLoad else { continue }
            if firstVaddr == nil { firstVaddr = ph.vaddr }
            if ph.align > alignment, ph.align & (ph.align - 1) == 0 { alignment = ph.align }
        }
        guard let firstVaddr else { throw .noLoadSegments }
        guard header.type == ELF.typeDyn else { return 0 }
        // Wrapping on purpose: a nonsensical p_vaddr yields addresses that the
        // per-segment user-space check then rejects.
        return ((ELF.etDynBase & ~(alignment - 1)) &- firstVaddr) & ~(pageSize - 1)
    }

    /// Where file byte `offset` appears in memory, if a segment maps it from the file.
    private static func mappedAddress(ofFileOffset offset: UInt64, in segments: [LoadSegment]) -> VirtAddr? {
        for segment in segments where segment.fileOffset <= offset && offset - segment.fileOffset < segment.fileSize {
            return segment.start + (offset - segment.fileOffset)
        }
        return nil
    }
}
