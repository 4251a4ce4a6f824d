// The Swift side of every interrupt and exception (Boot/isr.S calls here).
// Linux: arch/x86/kernel/traps.c and arch/x86/mm/fault.c

/// Called by isr_common with the saved registers (an InterruptFrame).
@_cdecl("keel_interrupt")
func keelInterrupt(_ framePointer: UnsafeMutableRawPointer) {
    let frame = framePointer.assumingMemoryBound(to: InterruptFrame.self)
    let vector = frame.pointee.vector
    guard let exception = ExceptionVector(vector: vector) else {
        Panic.now("unexpected interrupt vector \(vector)")
    }
    Panic.exception(exception, frame: frame.pointee, cr2: read_cr2())
}
