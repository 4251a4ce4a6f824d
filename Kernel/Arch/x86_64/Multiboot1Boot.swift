// Starting under QEMU's own loader (`-kernel build/keel32.elf`), which speaks
// Multiboot v1: its information is rewritten as a Multiboot2 block in the
// kernel image (Boot/multiboot.S multiboot1_block) by Kernel/Core's
// Multiboot1.translate, and parsing goes on as if GRUB had started Keel.
//
// The v1 information has no ACPI pointer, so the RSDP is looked for where the
// firmware leaves it, as Linux does without a boot loader's copy: the first KiB
// of the EBDA (its segment is the word at 0x40e), then 0xE0000-0xFFFFF.
// Linux: acpi_find_root_pointer()

enum Multiboot1Boot {
    /// The bytes Boot/multiboot.S reserves for the rewritten block.
    static let blockSize = 8192
    /// The boot-time map covers physical 0-4 GiB (Boot/entry32.S); v1 pointers are 32-bit.
    private static let earlyMapEnd: UInt64 = 1 << 32

    /// Physical memory through the boot-time direct map; nil past its end.
    private static func read(_ address: UInt64, _ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, address < earlyMapEnd, UInt64(count) <= earlyMapEnd - address else { return nil }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(PhysAddr(address).directMapped.value)),
                                      count: count)
    }

    /// The firmware's RSDP, or nil. Linux: acpi_find_root_pointer()
    private static func findRSDP() -> UnsafeRawBufferPointer? {
        func scan(_ start: UInt64, _ count: Int) -> UnsafeRawBufferPointer? {
            guard let area = read(start, count), let offset = RSDP.scan(area) else { return nil }
            return read(start + UInt64(offset), RSDP.v2Length)
        }
        if let segment = read(0x40e, 2) {
            let ebda = UInt64(segment.loadUnaligned(as: UInt16.self)) << 4
            if ebda >= 0x400, let rsdp = scan(ebda, 1024) { return rsdp }
        }
        return scan(0xe0000, 0x20000)
    }

    /// Rewrites the v1 information at `infoPhys` and returns the address of the
    /// Multiboot2 block; panics (with the reason) if the information is malformed.
    static func translate(infoPhys: UInt64) -> PhysAddr {
        let block = PhysAddr(symbol_multiboot1_block())
        guard let info = read(infoPhys, Multiboot1.infoSize) else {
            Panic.now("multiboot v1 information at 0x\(Fmt.hex(infoPhys)) is out of reach")
        }
        let out = UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(block.directMapped.value)),
                                                count: blockSize)
        do {
            _ = try Multiboot1.translate(info: info, rsdp: findRSDP(), read: read, into: out)
        } catch {
            Panic.now("malformed multiboot v1 information: \(error.message)")
        }
        return block
    }
}
