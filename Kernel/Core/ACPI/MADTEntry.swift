// The MADT's entries ("interrupt controller structures"): one per processor's
// local APIC, one per I/O APIC, and the exceptions to the default ISA IRQ wiring.
// Field offsets are the ACPI specification's (section 5.2.12).

/// Linux: ACPI_MADT_ENABLED, ACPI_MADT_ONLINE_CAPABLE
public struct LocalAPICFlags: OptionSet, Sendable {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The processor is present and may be started.
    public static let enabled = LocalAPICFlags(rawValue: 1 << 0)
    /// Not enabled now, but the OS may enable it later (hot-plug).
    public static let onlineCapable = LocalAPICFlags(rawValue: 1 << 1)
}

/// One processor: a Processor Local APIC entry (type 0, 8-bit IDs) or a Processor
/// Local x2APIC entry (type 9, 32-bit IDs). Linux: acpi_madt_local_apic, acpi_madt_local_x2apic
public struct MADTProcessor: Equatable, Sendable {
    /// The local APIC ID: what an IPI is addressed to.
    public let apicID: UInt32
    /// The ACPI processor UID, matching the processor objects in the AML tables.
    public let processorUID: UInt32
    public let flags: LocalAPICFlags
    public let isX2APIC: Bool

    public init(apicID: UInt32, processorUID: UInt32, flags: LocalAPICFlags, isX2APIC: Bool) {
        self.apicID = apicID
        self.processorUID = processorUID
        self.flags = flags
        self.isX2APIC = isX2APIC
    }
}

/// An I/O APIC (type 1). Linux: struct acpi_madt_io_apic
public struct MADTIOAPIC: Equatable, Sendable {
    public let id: UInt8
    /// Physical address of its registers.
    public let address: PhysAddr
    /// The first global system interrupt its inputs carry.
    public let gsiBase: UInt32
}

/// Polarity and trigger mode of an interrupt input (the MPS INTI flags).
/// Linux: ACPI_MADT_POLARITY_MASK, ACPI_MADT_TRIGGER_MASK
public struct MPSINTIFlags: Equatable, Sendable {
    public enum Polarity: UInt16, Sendable { case conforming = 0, activeHigh = 1, reserved = 2, activeLow = 3 }
    public enum Trigger: UInt16, Sendable { case conforming = 0, edge = 1, reserved = 2, level = 3 }

    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// "Conforming" means: what the bus specifies (ISA: active high, edge).
    public var polarity: Polarity { Polarity(rawValue: rawValue & 3)! }
    public var trigger: Trigger { Trigger(rawValue: (rawValue >> 2) & 3)! }
}

/// An ISA IRQ that reaches the I/O APIC on a different input or with different
/// polarity or trigger (type 2); QEMU routes the PIT's IRQ 0 to GSI 2.
/// Linux: struct acpi_madt_interrupt_override
public struct MADTInterruptOverride: Equatable, Sendable {
    /// 0: ISA.
    public let bus: UInt8
    public let sourceIRQ: UInt8
    public let gsi: UInt32
    public let flags: MPSINTIFlags
}

/// Which local APIC input (LINT0/1) carries NMI (type 4). Linux: struct acpi_madt_local_apic_nmi
public struct MADTLocalAPICNMI: Equatable, Sendable {
    /// 0xff: every processor.
    public let processorUID: UInt8
    public let flags: MPSINTIFlags
    public let lint: UInt8
}
