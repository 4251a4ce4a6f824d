// The numbers of the ELF64 format that execve checks, named as in Linux's
// include/uapi/linux/elf.h so a student can grep both trees for the same word.

/// ELF64 format constants. Linux: include/uapi/linux/elf.h
public enum ELF {
    /// e_ident[0..<4] ("\177ELF") read as one little-endian word. Linux: ELFMAG
    static let magic: UInt32 = 0x464c_457f
    /// e_ident[EI_CLASS] of a 64-bit object. Linux: ELFCLASS64
    static let class64: UInt8 = 2
    /// e_ident[EI_DATA] of a little-endian object. Linux: ELFDATA2LSB
    static let data2LSB: UInt8 = 1
    /// The only ELF version there is. Linux: EV_CURRENT
    static let versionCurrent: UInt8 = 1

    /// Executable linked at fixed addresses. Linux: ET_EXEC
    public static let typeExec: UInt16 = 2
    /// Position-independent object; for execve, a PIE program (static or
    /// dynamically linked) or the dynamic loader itself. Linux: ET_DYN
    public static let typeDyn: UInt16 = 3
    /// AMD x86-64. Linux: EM_X86_64
    public static let machineX86_64: UInt16 = 62

    /// Size of the file header. Linux: sizeof(struct elf64_hdr)
    public static let fileHeaderSize = 64
    /// Size of one program header. Linux: sizeof(struct elf64_phdr)
    public static let programHeaderSize = 56
    /// Most program headers execve reads: Linux refuses a table above 64 KiB
    /// (load_elf_phdrs), which is 1170 entries of 56 bytes.
    public static let maxProgramHeaders = 65536 / programHeaderSize

    /// Loadable segment. Linux: PT_LOAD
    public static let ptLoad: UInt32 = 1
    /// Path of the dynamic loader, NUL included. Linux: PT_INTERP
    public static let ptInterp: UInt32 = 3
    /// The program header table itself. Linux: PT_PHDR
    public static let ptPhdr: UInt32 = 6
    /// Thread-local storage template. Linux: PT_TLS
    public static let ptTLS: UInt32 = 7
    /// Stack permissions (only its flags matter). Linux: PT_GNU_STACK
    public static let ptGNUStack: UInt32 = 0x6474_e551

    /// Where execve places a position-independent (ET_DYN) program, static or
    /// dynamically linked (its loader goes where mmap finds room): two thirds of the
    /// 47-bit user window, page-aligned, the value Linux's ELF_ET_DYN_BASE has on
    /// x86-64 without randomisation, so Keel's /proc/self/maps of a PIE reads
    /// like Linux's under `setarch -R`. It lies well below KernelLayout.taskSize.
    /// Linux: ELF_ET_DYN_BASE (arch/x86/include/asm/elf.h)
    public static let etDynBase: UInt64 = 0x5555_5555_4000
}
