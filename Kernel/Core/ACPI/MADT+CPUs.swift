// From the firmware's processor list to Keel's CPU numbers. The boot CPU is
// always CPU 0, whatever its position in the MADT; the other enabled processors
// follow in table order. Disabled entries (even "online capable" ones: Keel has
// no CPU hot-plug) and repeated APIC IDs are left out.

extension MADT {
    /// The local APIC ID of each CPU, indexed by CPU number: the boot CPU's first,
    /// then every other enabled processor in table order, at most `maxCPUs` in all.
    /// IDs above `maxAPICID` are skipped: in xAPIC mode an IPI can address only
    /// 0…254 (255 is the broadcast). Linux: acpi_register_lapic() → generic_processor_info()
    public func cpuAPICIDs(bootAPICID: UInt32, maxCPUs: Int, maxAPICID: UInt32 = 0xfe) -> [UInt32] {
        var ids: [UInt32] = [bootAPICID]
        for processor in processors where ids.count < maxCPUs {
            guard processor.flags.contains(.enabled), processor.apicID <= maxAPICID, !ids.contains(processor.apicID) else {
                continue
            }
            ids.append(processor.apicID)
        }
        return ids
    }
}
