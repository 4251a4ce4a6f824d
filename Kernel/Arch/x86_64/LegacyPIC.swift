// The two 8259 interrupt controllers of the PC/AT. Keel uses the local APIC
// instead, so the PICs are moved off the exception vectors (where a stray IRQ
// would look like a CPU fault) and then masked. Linux: arch/x86/kernel/i8259.c

enum LegacyPIC {
    static func disable() {
        outb(0x20, 0x11); outb(0xa0, 0x11)     // ICW1: initialise, expect ICW4
        outb(0x21, 0x20); outb(0xa1, 0x28)     // ICW2: vectors 0x20-0x2f
        outb(0x21, 0x04); outb(0xa1, 0x02)     // ICW3: cascade on IRQ2
        outb(0x21, 0x01); outb(0xa1, 0x01)     // ICW4: 8086 mode
        outb(0x21, 0xff); outb(0xa1, 0xff)     // mask everything
    }
}
