// The Swift side of every interrupt and exception (Boot/isr.S calls here).
// Linux: arch/x86/kernel/traps.c and arch/x86/mm/fault.c

/// Called by isr_common with the saved registers (an InterruptFrame).
@_cdecl("keel_interrupt")
func keelInterrupt(_ framePointer: UnsafeMutableRawPointer) {
    let frame = framePointer.assumingMemoryBound(to: InterruptFrame.self)
    Panic.exception(frame.pointee, cr2: read_cr2())
}
