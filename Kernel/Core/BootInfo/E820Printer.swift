// The boot-time memory map printed the way Linux's dmesg shows it, so a student can
// put Keel's console next to a Linux boot log (arch/x86/kernel/e820.c).

extension E820Type {
    /// The name e820 tables print for this type. Linux: e820_print_type()
    public var e820Name: String {
        switch self {
        case .usable: "usable"
        case .reserved: "reserved"
        case .acpiReclaimable: "ACPI data"
        case .acpiNVS: "ACPI NVS"
        case .badRAM: "unusable"
        case .other(let n) where n == 7 || n == 12: "persistent (type " + Fmt.dec(n) + ")"
        case .other(let n): "type " + Fmt.dec(n)
        }
    }
}

extension Sequence where Element == E820Entry {
    /// One line per region: `who: [mem 0x...-0x...] name`, with the inclusive end.
    /// Linux: e820__print_table()
    public func printE820Table<S: TextSink>(who: String, to sink: inout S) {
        for entry in self {
            sink.write(who)
            // Linux's "%#018Llx": "0x" plus 16 digits; its printk keeps the 0x even for zero.
            sink.write(": [mem 0x")
            sink.write(Fmt.hex(entry.base.value, digits: 16))
            sink.write("-0x")
            sink.write(Fmt.hex(entry.last.value, digits: 16))
            sink.write("] ")
            sink.write(entry.type.e820Name)
            sink.write("\n")
        }
    }

    /// The banner and table Linux prints at boot, noting that Keel got the map from
    /// multiboot2 rather than from the BIOS directly. Linux: e820__memory_setup()
    public func printBootMemoryMap<S: TextSink>(to sink: inout S) {
        sink.write("BIOS-provided physical RAM map (from multiboot2):\n")
        printE820Table(who: "BIOS-e820", to: &sink)
    }
}
