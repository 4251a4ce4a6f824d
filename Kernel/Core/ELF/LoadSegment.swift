// What the parser hands to execve for each segment, with the load bias already
// applied: execve only maps, it never re-derives addresses from the file.

/// A validated PT_LOAD segment at its final address: the first `fileSize` bytes
/// come from the file at `fileOffset` (a private file mapping), the rest up to
/// `memSize` is zero-filled (bss). Two segments never overlap, but they may
/// share a boundary page; map the later one over it, as Linux's MAP_FIXED does.
/// Linux: one PT_LOAD handled by elf_load() in load_elf_binary()
public struct LoadSegment: Equatable {
    /// First byte (p_vaddr + load bias); congruent to `fileOffset` modulo pageSize.
    public let start: VirtAddr
    /// Linux: p_offset
    public let fileOffset: UInt64
    /// Bytes backed by the file. Linux: p_filesz
    public let fileSize: UInt64
    /// Bytes in memory, >= fileSize and > 0. Linux: p_memsz
    public let memSize: UInt64
    /// Linux: p_flags
    public let flags: SegmentFlags

    /// First byte after the segment (<= KernelLayout.taskSize).
    public var end: VirtAddr { start + memSize }
    /// First byte after the file-backed part: the bss runs from here to `end`, and
    /// the rest of this address's page must be zeroed. Linux: padzero(elf_bss)
    public var fileEnd: VirtAddr { start + fileSize }
}

/// The thread-local storage template (PT_TLS), for user space's own TLS set-up;
/// the kernel only reports it. Linux: PT_TLS
public struct TLSSegment: Equatable {
    /// The template's address, load bias applied.
    public let start: VirtAddr
    /// Initialised bytes (.tdata).
    public let fileSize: UInt64
    /// Initialised plus zeroed bytes (.tdata + .tbss).
    public let memSize: UInt64
    /// Required alignment of each thread's copy.
    public let align: UInt64
}

extension LoadSegment {
    /// Validates PT_LOAD number `index` of a file of `fileLength` bytes and places
    /// it at p_vaddr + `bias`; nil for an empty segment (p_memsz 0), which maps nothing.
    /// Linux: the p_filesz/p_memsz/TASK_SIZE checks of load_elf_binary()
    init?(validating ph: ELFProgramHeader, index: Int, bias: UInt64, fileLength: Int) throws(ELFError) {
        guard ph.fileSize <= ph.memSize else { throw .filesizeExceedsMemsize(index) }
        let (dataEnd, dataOverflow) = ph.offset.addingReportingOverflow(ph.fileSize)
        guard !dataOverflow, dataEnd <= UInt64(fileLength) else { throw .segmentOutOfFile(index) }
        // mmap maps whole pages: the file page and the memory page must start together.
        guard ph.vaddr & (pageSize - 1) == ph.offset & (pageSize - 1) else { throw .misalignedSegment(index) }
        guard ph.memSize > 0 else { return nil }

        let start = ph.vaddr &+ bias
        let (end, endOverflow) = start.addingReportingOverflow(ph.memSize)
        let linkedOverflow = ph.vaddr.addingReportingOverflow(ph.memSize).overflow
        // Page 0 stays unmapped so that NULL dereferences fault. Linux: mmap_min_addr
        guard !endOverflow, !linkedOverflow, start >= pageSize, end <= KernelLayout.taskSize else {
            throw .segmentOutsideUserSpace(index)
        }
        self.init(start: VirtAddr(start), fileOffset: ph.offset, fileSize: ph.fileSize,
                  memSize: ph.memSize, flags: ph.flags)
    }
}
