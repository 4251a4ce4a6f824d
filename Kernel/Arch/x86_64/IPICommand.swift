// The low word of the local APIC's Interrupt Command Register: what kind of
// inter-processor interrupt to send. LocalAPIC.sendIPI puts the destination
// APIC ID in the high word. Linux: APIC_DM_*, APIC_INT_* (asm/apicdef.h)

enum IPICommand {
    /// Level "assert"; the SDM wants it set for every kind except INIT de-assert. Linux: APIC_INT_ASSERT
    static let assert: UInt32 = 1 << 14
    /// Linux: APIC_INT_LEVELTRIG
    static let levelTriggered: UInt32 = 1 << 15
    /// Linux: APIC_DM_INIT
    static let initMode: UInt32 = 0x500
    /// Linux: APIC_DM_STARTUP
    static let startupMode: UInt32 = 0x600

    /// An ordinary interrupt on `vector` at the destination. Linux: APIC_DM_FIXED
    static func fixed(_ vector: UInt8) -> UInt32 { assert | UInt32(vector) }

    /// INIT: the destination resets and waits for a STARTUP IPI.
    static let initAssert = initMode | levelTriggered | assert
    /// Ends the INIT level pulse (older APICs need it; newer ones ignore it).
    static let initDeassert = initMode | levelTriggered

    /// STARTUP (SIPI): the destination starts in real mode at physical `page << 12`.
    static func startup(page: UInt8) -> UInt32 { startupMode | assert | UInt32(page) }
}
