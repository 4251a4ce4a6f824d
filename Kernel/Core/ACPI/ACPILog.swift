// The boot-log lines Linux prints about ACPI, in Linux's formats, so a Keel boot
// log reads like `dmesg`: one line per table found, then the MADT's entries.

/// Linux: acpi_tb_print_table_header(), acpi_table_print_madt_entry()
public enum ACPILog {
    /// `ACPI: RSDP 0x00000000000F59E0 000014 (v00 BOCHS )`
    public static func writeRSDP<S: TextSink>(_ rsdp: RSDP, at address: PhysAddr, to sink: inout S) {
        sink.write("ACPI: RSDP 0x" + upperHex(address.value, digits: 16) + " " + upperHex(UInt64(rsdp.length), digits: 6)
                   + " (v" + twoDigits(rsdp.revision) + " " + Fmt.padRight(rsdp.oemID, 6) + ")\n")
    }

    /// `ACPI: APIC 0x000000000FFE2298 000090 (v01 BOCHS  BXPC     00000001 BXPC 00000001)`
    public static func writeTable<S: TextSink>(_ header: ACPITableHeader, at address: PhysAddr, to sink: inout S) {
        sink.write("ACPI: " + header.signature.name + " 0x" + upperHex(address.value, digits: 16) + " "
                   + upperHex(UInt64(header.length), digits: 6) + " (v" + twoDigits(header.revision) + " "
                   + Fmt.padRight(header.oemID, 6) + " " + Fmt.padRight(header.oemTableID, 8) + " "
                   + upperHex(UInt64(header.oemRevision), digits: 8) + " " + Fmt.padRight(header.creatorID, 4) + " "
                   + upperHex(UInt64(header.creatorRevision), digits: 8) + ")\n")
    }

    /// One line per entry, grouped by type in the order Linux parses them: processors,
    /// local APIC NMIs, I/O APICs, interrupt overrides.
    public static func writeMADT<S: TextSink>(_ madt: MADT, to sink: inout S) {
        sink.write("ACPI: Local APIC address 0x" + Fmt.hex(madt.localAPICAddress.value, digits: 8) + "\n")
        for p in madt.processors {
            let state = p.flags.contains(.enabled) ? "enabled" : "disabled"
            if p.isX2APIC {
                sink.write("ACPI: X2APIC (apic_id[0x" + Fmt.hex(p.apicID, digits: 2) + "] uid[0x"
                           + Fmt.hex(p.processorUID, digits: 2) + "] " + state + ")\n")
            } else {
                sink.write("ACPI: LAPIC (acpi_id[0x" + Fmt.hex(p.processorUID, digits: 2) + "] lapic_id[0x"
                           + Fmt.hex(p.apicID, digits: 2) + "] " + state + ")\n")
            }
        }
        for nmi in madt.localAPICNMIs {
            sink.write("ACPI: LAPIC_NMI (acpi_id[0x" + Fmt.hex(nmi.processorUID, digits: 2) + "] " + flagNames(nmi.flags)
                       + " lint[0x" + Fmt.hex(nmi.lint) + "])\n")
        }
        for io in madt.ioAPICs {
            sink.write("ACPI: IOAPIC (id[0x" + Fmt.hex(io.id, digits: 2) + "] address[0x" + Fmt.hex(io.address.value, digits: 8)
                       + "] gsi_base[\(io.gsiBase)])\n")
        }
        for o in madt.interruptOverrides {
            sink.write("ACPI: INT_SRC_OVR (bus \(o.bus) bus_irq \(o.sourceIRQ) global_irq \(o.gsi) " + flagNames(o.flags) + ")\n")
        }
    }

    /// Linux: mps_inti_flags_polarity[] and mps_inti_flags_trigger[]
    private static func flagNames(_ flags: MPSINTIFlags) -> String {
        let polarity = ["dfl", "high", "res", "low"][Int(flags.polarity.rawValue)]
        let trigger = ["dfl", "edge", "res", "level"][Int(flags.trigger.rawValue)]
        return polarity + " " + trigger
    }

    /// printf "%0*X": ACPICA prints addresses and lengths in capitals.
    private static func upperHex(_ value: UInt64, digits: Int) -> String {
        String(decoding: Fmt.hex(value, digits: digits).utf8.map { $0 >= UInt8(ascii: "a") ? $0 - 32 : $0 }, as: UTF8.self)
    }

    /// printf "%.2d"
    private static func twoDigits(_ value: UInt8) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
