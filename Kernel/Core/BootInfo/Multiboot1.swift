// The first Multiboot specification's boot information, the form QEMU's own
// loader uses (`qemu-system-x86_64 -kernel keel32.elf -initrd ... -append ...`,
// the way Linux is booted without a boot loader). Keel rewrites it as a
// Multiboot2 block, so one parser (MultibootInfo) and one set of tests serve
// both loaders, and everything after Boot.parse cannot tell them apart.
//
// The v1 block is a fixed structure whose `flags` word says which fields are
// valid, with physical pointers to the rest (Multiboot 0.6.96, section 3.3):
//
//   offset  field                      valid if flags bit
//      0    flags
//      4    mem_lower, mem_upper (KiB)  0
//     16    cmdline (address of C string)  2
//     20    mods_count, mods_addr       3   (16-byte entries: mod_start, mod_end, string, 0)
//     44    mmap_length, mmap_addr      6   (entries: size u32 not counting itself,
//                                             base u64, length u64, type u32)
//     64    boot_loader_name            9
//
// It has no ACPI pointer: the caller finds the RSDP the way Linux does without
// a boot loader's help (RSDP.scan over the BIOS area) and passes it in.

public enum Multiboot1 {
    /// The value in eax when a Multiboot (v1) loader jumps to the kernel.
    public static let bootLoaderMagic: UInt32 = 0x2BAD_B002
    /// Bytes of the fixed structure Keel reads (up to boot_loader_name).
    public static let infoSize = 68

    /// Reads `count` bytes of physical memory at an address the v1 block names;
    /// nil if they are not readable.
    public typealias ReadPhysical = (_ address: UInt64, _ count: Int) -> UnsafeRawBufferPointer?

    /// Writes the Multiboot2 equivalent of the v1 block `info` into `out` and
    /// returns its size. `rsdp` is the firmware's RSDP, if one was found.
    public static func translate(info: UnsafeRawBufferPointer, rsdp: UnsafeRawBufferPointer?,
                                 read: ReadPhysical,
                                 into out: UnsafeMutableRawBufferPointer) throws(MultibootError) -> Int {
        guard info.count >= infoSize else { throw .truncatedHeader(available: info.count) }
        let v1 = LittleEndianBytes(bytes: info)
        let flags = v1.u32(0)
        var block = BlockWriter(out: out)

        if flags & 1 << 2 != 0 {
            // v1 loaders put the kernel's file name first ("keel32.elf init=/bin/sh"),
            // where a Multiboot2 command line holds the arguments alone.
            let line = try cString(at: v1.u32(16), field: 16, read: read)
            let arguments = line.firstIndex(of: UInt8(ascii: " ")).map { line[($0 + 1)...] } ?? line[line.endIndex...]
            try block.stringTag(MultibootTagType.commandLine, UnsafeRawBufferPointer(rebasing: arguments))
        }
        if flags & 1 << 9 != 0 {
            try block.stringTag(MultibootTagType.bootLoaderName, try cString(at: v1.u32(64), field: 64, read: read))
        }
        if flags & 1 << 0 != 0 {
            try block.basicMemoryTag(lower: v1.u32(4), upper: v1.u32(8))
        }
        if flags & 1 << 3 != 0 {
            let count = Int(v1.u32(20))
            guard count <= 64, let list = read(UInt64(v1.u32(24)), count * 16) else { throw .version1Unreadable(field: 20) }
            let modules = LittleEndianBytes(bytes: list)
            for i in 0..<count {
                let start = modules.u32(i * 16), end = modules.u32(i * 16 + 4)
                if end < start { throw .badModuleRange(offset: i * 16, start: start, end: end) }
                try block.moduleTag(start: start, end: end,
                                    string: try cString(at: modules.u32(i * 16 + 8), field: 20, read: read))
            }
        }
        if flags & 1 << 6 != 0 {
            let length = Int(v1.u32(44))
            guard length <= 64 * 1024, let map = read(UInt64(v1.u32(48)), length) else { throw .version1Unreadable(field: 44) }
            try block.memoryMapTag(from: map)
        }
        if let rsdp { try block.rsdpTag(rsdp) }
        try block.endTag()
        block.finish()
        return block.size
    }

    /// The bytes of the NUL-terminated string at `address`, without the NUL (at most 4 KiB).
    private static func cString(at address: UInt32, field: Int, read: ReadPhysical) throws(MultibootError) -> UnsafeRawBufferPointer {
        var length = 0
        while true {
            guard length < 4096, let byte = read(UInt64(address) + UInt64(length), 1) else {
                throw .version1Unreadable(field: field)
            }
            if byte[0] == 0 { break }
            length += 1
        }
        guard let bytes = read(UInt64(address), length) else { throw .version1Unreadable(field: field) }
        return bytes
    }

    /// Appends Multiboot2 tags (type u32, size u32, body, padding to 8 bytes)
    /// after the 8-byte block header, refusing to write past `out`. It allocates
    /// nothing: it runs before the kernel has a heap.
    private struct BlockWriter {
        let out: UnsafeMutableRawBufferPointer
        var size = 8

        private mutating func append(_ bytes: UnsafeRawBufferPointer) throws(MultibootError) {
            guard bytes.count <= out.count - size else { throw .version1TooLarge(capacity: out.count) }
            if let base = bytes.baseAddress {
                out.baseAddress!.advanced(by: size).copyMemory(from: base, byteCount: bytes.count)
            }
            size += bytes.count
        }

        private mutating func append<T: FixedWidthInteger>(_ value: T) throws(MultibootError) {
            try withUnsafeBytes(of: value.littleEndian) { (bytes) throws(MultibootError) in try append(bytes) }
        }

        /// A tag's header; `body` bytes must follow.
        private mutating func begin(_ type: UInt32, body: Int) throws(MultibootError) {
            try append(type)
            try append(UInt32(8 + body))
        }

        private mutating func pad() throws(MultibootError) {
            while size % 8 != 0 { try append(UInt8(0)) }
        }

        mutating func endTag() throws(MultibootError) { try begin(MultibootTagType.end, body: 0) }

        /// mem_lower and mem_upper.
        mutating func basicMemoryTag(lower: UInt32, upper: UInt32) throws(MultibootError) {
            try begin(MultibootTagType.basicMemoryInfo, body: 8)
            try append(lower)
            try append(upper)
        }

        /// A command line or boot loader name: the string and its NUL.
        mutating func stringTag(_ type: UInt32, _ string: UnsafeRawBufferPointer) throws(MultibootError) {
            try begin(type, body: string.count + 1)
            try append(string)
            try append(UInt8(0))
            try pad()
        }

        mutating func moduleTag(start: UInt32, end: UInt32, string: UnsafeRawBufferPointer) throws(MultibootError) {
            try begin(MultibootTagType.module, body: 8 + string.count + 1)
            try append(start)
            try append(end)
            try append(string)
            try append(UInt8(0))
            try pad()
        }

        /// The RSDP copied whole (20 bytes for ACPI 1.0, 36 for 2.0+).
        mutating func rsdpTag(_ rsdp: UnsafeRawBufferPointer) throws(MultibootError) {
            let isNew = rsdp.count >= RSDP.v2Length && rsdp[15] >= 2
            let bytes = UnsafeRawBufferPointer(rebasing: rsdp[0..<(isNew ? RSDP.v2Length : RSDP.v1Length)])
            try begin(isNew ? MultibootTagType.acpiNewRSDP : MultibootTagType.acpiOldRSDP, body: bytes.count)
            try append(bytes)
            try pad()
        }

        /// The memory map, from v1 entries (each preceded by its own size) to
        /// Multiboot2's fixed 24-byte entries: one pass to check and count, one to write.
        mutating func memoryMapTag(from map: UnsafeRawBufferPointer) throws(MultibootError) {
            let fields = LittleEndianBytes(bytes: map)
            func entries(_ body: (Int) throws(MultibootError) -> Void) throws(MultibootError) {
                var offset = 0
                while offset + 4 <= map.count {
                    let entrySize = Int(fields.u32(offset))
                    guard entrySize >= 20, entrySize <= map.count - offset - 4 else {
                        throw .memoryMapEntryTooSmall(offset: offset, entrySize: UInt32(truncatingIfNeeded: entrySize))
                    }
                    try body(offset + 4)
                    offset += 4 + entrySize
                }
            }
            var count = 0
            try entries { _ throws(MultibootError) in count += 1 }
            try begin(MultibootTagType.memoryMap, body: 8 + 24 * count)
            try append(UInt32(24))                  // entry_size
            try append(UInt32(0))                   // entry_version
            try entries { (entry) throws(MultibootError) in
                try append(fields.u64(entry))       // base_addr
                try append(fields.u64(entry + 8))   // length
                try append(fields.u32(entry + 16))  // type
                try append(UInt32(0))               // reserved
            }
            try pad()
        }

        /// Writes total_size and the reserved word.
        func finish() {
            out.storeBytes(of: UInt32(size).littleEndian, toByteOffset: 0, as: UInt32.self)
            out.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        }
    }
}
