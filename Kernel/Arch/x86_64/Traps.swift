// The Swift side of every interrupt and exception (Boot/isr.S calls here): the
// hardware decoding only. Which handler a vector goes to is decided here; what
// happens next is not: page faults go to Kernel/Memory/PageFault.swift, a
// user's exception to Signals.userException (Kernel/Process), and every return
// to user mode through Signals.exitToUserMode. A kernel exception is a bug: panic.
// Linux: arch/x86/kernel/traps.c, arch/x86/kernel/idt.c, arch/x86/kernel/apic/

/// Called by isr_common with the saved registers (an InterruptFrame).
@_cdecl("keel_interrupt")
func keelInterrupt(_ framePointer: UnsafeMutableRawPointer) {
    let frame = framePointer.assumingMemoryBound(to: InterruptFrame.self)
    let vector = frame.pointee.vector
    switch vector {
    case UInt64(LocalAPIC.timerVector):
        LocalAPIC.endOfInterrupt()
        ConsoleDevice.timerTick()
        if Lockdep.inInterrupt({ Scheduler.tick(fromUserMode: frame.pointee.isUserMode) }) { Scheduler.schedule() }
        if frame.pointee.isUserMode { Signals.exitToUserMode(frame) }
    case UInt64(CPUKick.vector):
        LocalAPIC.endOfInterrupt()                      // the run queue changed: look again
        if frame.pointee.isUserMode && Scheduler.needResched[PerCPU.cpu] { Scheduler.schedule() }
    case UInt64(CrossCall.vector):
        Lockdep.inInterrupt { CrossCall.handleInterrupt() }
    case _ where DeviceInterrupts.contains(vector):
        LocalAPIC.endOfInterrupt()
        Lockdep.inInterrupt { DeviceInterrupts.handle(vector) }
        // A wake-up may have asked this CPU to switch (the idle loop looks by itself).
        if frame.pointee.isUserMode && Scheduler.needResched[PerCPU.cpu] { Scheduler.schedule() }
        if frame.pointee.isUserMode { Signals.exitToUserMode(frame) }
    case UInt64(LocalAPIC.spuriousVector):
        return                                  // no EOI for spurious interrupts
    case UInt64(ExceptionVector.pageFault.rawValue):
        let address = read_cr2()          // before interrupts are on: a nested fault would change CR2
        conditionallyEnableInterrupts(frame)
        PageFaultHandler.handle(frame, address: address)
        if frame.pointee.isUserMode { Signals.exitToUserMode(frame) }
        CPU.disableInterrupts()
    default:
        guard let exception = ExceptionVector(vector: vector) else {
            LocalAPIC.endOfInterrupt()
            // Interrupts are off: a fixed message, nothing allocated.
            Console.write("keel: unexpected interrupt vector ")
            Console.write(hex: vector)
            Console.write("\n")
            return
        }
        guard frame.pointee.isUserMode else { Panic.exception(exception, frame: frame.pointee, cr2: read_cr2()) }
        conditionallyEnableInterrupts(frame)
        Signals.userException(exception, frame.pointee)
        Signals.exitToUserMode(frame)
        CPU.disableInterrupts()
    }
}

/// An exception handler may allocate, log and sleep like a system call, so it
/// runs with interrupts on whenever the code it interrupted had them on (user
/// code always does). The exception gate turned them off; they go off again
/// before the return path (swapgs, iretq). Interrupt handlers proper (the
/// timer, IPIs) keep them off and never allocate. Linux: cond_local_irq_enable()
private func conditionallyEnableInterrupts(_ frame: UnsafeMutablePointer<InterruptFrame>) {
    if frame.pointee.rflags & (1 << 9) != 0 { CPU.enableInterrupts() }
}
