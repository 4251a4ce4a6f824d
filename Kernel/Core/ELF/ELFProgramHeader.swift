// One entry of the program header table: the loader's view of the file (the
// linker's sections do not matter to execve). Also the R/W/X permission bits
// that become a VMA's VM_READ/VM_WRITE/VM_EXEC.

/// Segment permissions, with ELF's bit values. Linux: PF_X, PF_W, PF_R
public struct SegmentFlags: OptionSet, Equatable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Linux: PF_X
    public static let execute = SegmentFlags(rawValue: 1)
    /// Linux: PF_W
    public static let write = SegmentFlags(rawValue: 2)
    /// Linux: PF_R
    public static let read = SegmentFlags(rawValue: 4)

    /// Keeps R, W and X; drops OS- and processor-specific bits (PF_MASKOS, PF_MASKPROC).
    init(elfFlags: UInt32) { self.init(rawValue: elfFlags & 7) }
}

/// A raw program header, not yet validated. Linux: struct elf64_phdr (Elf64_Phdr)
struct ELFProgramHeader {
    /// Linux: p_type
    let type: UInt32
    /// Linux: p_flags
    let flags: SegmentFlags
    /// Linux: p_offset
    let offset: UInt64
    /// Linux: p_vaddr
    let vaddr: UInt64
    /// Linux: p_filesz
    let fileSize: UInt64
    /// Linux: p_memsz
    let memSize: UInt64
    /// Linux: p_align
    let align: UInt64

    /// Reads entry `index` of the table; the caller has checked the table lies in the file.
    init(_ file: LittleEndianBytes, header: ELFHeader, index: Int) {
        let at = header.programHeaderOffset + index * ELF.programHeaderSize
        type = file.u32(at)
        flags = SegmentFlags(elfFlags: file.u32(at + 4))
        offset = file.u64(at + 8)
        vaddr = file.u64(at + 16)
        fileSize = file.u64(at + 32)
        memSize = file.u64(at + 40)
        align = file.u64(at + 48)
    }
}
