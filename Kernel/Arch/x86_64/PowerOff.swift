// Leaving the machine. QEMU's isa-debug-exit device (enabled by tools/run-qemu.sh)
// makes QEMU exit with status (value << 1) | 1; the runner maps that back to
// init's exit status, which the kernel also prints. Linux: kernel_power_off()

enum PowerOff {
    /// What the kernel tells the runner through isa-debug-exit.
    enum Reason: UInt32 {
        case normal = 0      // runner exits with the status printed by "init exited"
        case panic = 1       // runner exits with 250
    }

    /// This CPU stops for good (interrupts off); the others go on. Linux: the
    /// loop at the end of panic() on the CPUs that lost the race
    static func haltThisCPU() -> Never {
        while true { cpu_cli(); cpu_hlt() }
    }

    static func now(_ reason: Reason) -> Never {
        outl(0xf4, reason.rawValue)       // isa-debug-exit: QEMU quits here
        outw(0x604, 0x2000)               // QEMU's ACPI PM1a control: S5 (soft-off)
        while true { cpu_cli(); cpu_hlt() }
    }
}
