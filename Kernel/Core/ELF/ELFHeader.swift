// The ELF file header and the checks execve makes on it before it reads any
// program header: identity, type, machine, and that the program header table is
// a sane size and lies entirely inside the file.

/// The validated fields of an ELF64 file header. Linux: struct elf64_hdr (Elf64_Ehdr)
struct ELFHeader {
    /// ET_EXEC or ET_DYN. Linux: e_type
    let type: UInt16
    /// Entry point before any load bias. Linux: e_entry
    let entry: UInt64
    /// File offset of the program header table. Linux: e_phoff
    let programHeaderOffset: Int
    /// Number of program headers, 1...ELF.maxProgramHeaders. Linux: e_phnum
    let programHeaderCount: Int

    /// Reads and validates the header at the start of `file`.
    /// Linux: the header checks of load_elf_binary() and load_elf_phdrs()
    init(_ file: LittleEndianBytes) throws(ELFError) {
        guard file.bytes.count >= ELF.fileHeaderSize else { throw .truncated(.fileHeader) }
        guard file.u32(0) == ELF.magic else { throw .badMagic }
        guard file.u8(4) == ELF.class64 else { throw .notELF64 }
        guard file.u8(5) == ELF.data2LSB else { throw .wrongEndianness }
        guard file.u8(6) == ELF.versionCurrent, file.u32(20) == UInt32(ELF.versionCurrent) else {
            throw .wrongVersion
        }
        let type = file.u16(16)
        guard type == ELF.typeExec || type == ELF.typeDyn else { throw .wrongType(type) }
        let machine = file.u16(18)
        guard machine == ELF.machineX86_64 else { throw .wrongMachine(machine) }
        let entrySize = file.u16(54)
        guard Int(entrySize) == ELF.programHeaderSize else { throw .badProgramHeaderSize(entrySize) }
        let count = file.u16(56)
        guard count > 0, Int(count) <= ELF.maxProgramHeaders else { throw .badProgramHeaderCount(count) }

        // The table is at most 64 KiB, so only e_phoff itself can be absurd.
        let offset = file.u64(32)
        let tableSize = UInt64(count) * UInt64(ELF.programHeaderSize)
        guard offset <= UInt64(file.bytes.count), tableSize <= UInt64(file.bytes.count) - offset else {
            throw .truncated(.programHeaders)
        }
        self.type = type
        self.entry = file.u64(24)
        self.programHeaderOffset = Int(offset)
        self.programHeaderCount = Int(count)
    }
}
