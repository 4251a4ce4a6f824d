// Turning interrupts off around code that an interrupt handler might also run
// (the scheduler's run queues). Linux: local_irq_save() / local_irq_restore()

struct InterruptsDisabled: ~Copyable {
    private let wereEnabled: Bool

    /// Disables interrupts until this value is dropped.
    init() {
        wereEnabled = read_rflags() & (1 << 9) != 0
        cpu_cli()
    }

    deinit {
        if wereEnabled { cpu_sti() }
    }
}
