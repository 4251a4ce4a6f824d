// Assembles ELF64 images byte by byte (file header, program headers, payload),
// so each test can start from a valid executable and break exactly one field.
@testable import KeelCore

/// A mutable description of an ELF64 file; `bytes` serialises it little-endian.
struct ELFImageBuilder {
    struct Phdr {
        var type: UInt32
        var flags: UInt32 = 4
        var offset: UInt64 = 0
        var vaddr: UInt64 = 0
        var fileSize: UInt64 = 0
        var memSize: UInt64 = 0
        var align: UInt64 = 0x1000
    }

    var ident: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    var type = ELF.typeExec
    var machine = ELF.machineX86_64
    var version: UInt32 = 1
    var entry: UInt64 = 0
    var phoff: UInt64 = 64
    var phentsize: UInt16 = 56
    /// e_phnum; nil means phdrs.count.
    var phnum: UInt16?
    var phdrs: [Phdr] = []
    /// Total file length; the image is zero-filled up to it (and grown to hold the headers).
    var length = 0

    /// Three PT_LOADs as a static linker lays them out (headers+rodata R, text RX,
    /// data+bss RW), plus PT_TLS and PT_GNU_STACK. The phdr table sits in the
    /// first segment at file offset 64. Linked at `base`: 0x400000 for ET_EXEC, 0 for ET_DYN.
    static func staticExecutable(type: UInt16 = ELF.typeExec) -> ELFImageBuilder {
        let base: UInt64 = type == ELF.typeExec ? 0x40_0000 : 0
        var b = ELFImageBuilder()
        b.type = type
        b.entry = base + 0x1000
        b.phdrs = [
            Phdr(type: ELF.ptLoad, flags: 4, offset: 0, vaddr: base, fileSize: 0x200, memSize: 0x200),
            Phdr(type: ELF.ptLoad, flags: 5, offset: 0x1000, vaddr: base + 0x1000, fileSize: 0x100, memSize: 0x100),
            Phdr(type: ELF.ptLoad, flags: 6, offset: 0x2010, vaddr: base + 0x2010, fileSize: 0x20, memSize: 0x3000),
            Phdr(type: ELF.ptTLS, flags: 4, offset: 0x2010, vaddr: base + 0x2010, fileSize: 8, memSize: 16, align: 8),
            Phdr(type: ELF.ptGNUStack, flags: 6, align: 16),
        ]
        b.length = 0x2030
        return b
    }

    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: max(length, 64 + phdrs.count * 56))
        func put<T: FixedWidthInteger>(_ v: T, at offset: Int) {
            withUnsafeBytes(of: v.littleEndian) { raw in
                for (i, byte) in raw.enumerated() where offset + i < out.count { out[offset + i] = byte }
            }
        }
        for (i, byte) in ident.enumerated() { out[i] = byte }
        put(type, at: 16)
        put(machine, at: 18)
        put(version, at: 20)
        put(entry, at: 24)
        put(phoff, at: 32)
        put(UInt16(64), at: 52)
        put(phentsize, at: 54)
        put(phnum ?? UInt16(phdrs.count), at: 56)
        // The table is written at phoff when that is inside the image, else at 64
        // (so a test can lie about e_phoff and still have the headers present).
        let tableStart = phoff < UInt64(out.count) ? Int(phoff) : 64
        for (i, ph) in phdrs.enumerated() {
            let at = tableStart + i * 56
            put(ph.type, at: at)
            put(ph.flags, at: at + 4)
            put(ph.offset, at: at + 8)
            put(ph.vaddr, at: at + 16)
            put(ph.vaddr, at: at + 24)
            put(ph.fileSize, at: at + 32)
            put(ph.memSize, at: at + 40)
            put(ph.align, at: at + 48)
        }
        return out
    }

    func parse() -> Result<ELFExecutable, ELFError> { parseELF(bytes) }
    func error() -> ELFError? { elfError(bytes) }
}

/// Runs the kernel's parser over a file image.
func parseELF(_ image: [UInt8]) -> Result<ELFExecutable, ELFError> {
    image.withUnsafeBytes { raw in Result { () throws(ELFError) in try ELFExecutable(parsing: raw) } }
}

/// The error the parser reports for `image`, or nil if it accepts it.
func elfError(_ image: [UInt8]) -> ELFError? {
    if case .failure(let e) = parseELF(image) { return e }
    return nil
}

/// Checks every promise ELFExecutable documents; returns the first broken one.
func elfInvariantViolation(_ exe: ELFExecutable, fileLength: Int) -> String? {
    guard let last = exe.segments.last else { return "no segments" }
    var previousEnd: UInt64 = 0
    for s in exe.segments {
        if s.start.value < pageSize { return "segment in page 0" }
        if s.end.value > KernelLayout.taskSize { return "segment above TASK_SIZE" }
        if s.start.value < previousEnd { return "segments overlap or unsorted" }
        if s.memSize == 0 || s.fileSize > s.memSize { return "bad sizes" }
        if s.fileOffset + s.fileSize > UInt64(fileLength) { return "segment beyond file" }
        if s.start.pageOffset != s.fileOffset & (pageSize - 1) { return "not congruent" }
        previousEnd = s.end.value
    }
    if exe.entry.value >= KernelLayout.taskSize { return "entry above TASK_SIZE" }
    if exe.brkStart != last.end.alignedUp() { return "brk not after last segment" }
    if !exe.isPositionIndependent && exe.loadBias != 0 { return "ET_EXEC with a bias" }
    return nil
}
