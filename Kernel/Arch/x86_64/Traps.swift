// The Swift side of every interrupt and exception (Boot/isr.S calls here).
// Linux: arch/x86/kernel/traps.c, arch/x86/mm/fault.c, arch/x86/kernel/apic/

/// Called by isr_common with the saved registers (an InterruptFrame).
@_cdecl("keel_interrupt")
func keelInterrupt(_ framePointer: UnsafeMutableRawPointer) {
    let frame = framePointer.assumingMemoryBound(to: InterruptFrame.self)
    let vector = frame.pointee.vector
    switch vector {
    case UInt64(LocalAPIC.timerVector):
        LocalAPIC.endOfInterrupt()
        Scheduler.tick(fromUserMode: frame.pointee.isUserMode)
        if frame.pointee.isUserMode { deliverSignals(frame) }
    case UInt64(CPUKick.vector):
        LocalAPIC.endOfInterrupt()                      // the run queue changed: look again
        if frame.pointee.isUserMode && Scheduler.needResched[PerCPU.cpu] { Scheduler.schedule() }
    case UInt64(CrossCall.vector):
        CrossCall.handleInterrupt()
    case UInt64(LocalAPIC.spuriousVector):
        return                                  // no EOI for spurious interrupts
    case UInt64(ExceptionVector.pageFault.rawValue):
        BigKernelLock.lock()
        PageFaultHandler.handle(frame, address: read_cr2())
        BigKernelLock.unlock()
        if frame.pointee.isUserMode { deliverSignals(frame) }
    default:
        guard let exception = ExceptionVector(vector: vector) else {
            LocalAPIC.endOfInterrupt()
            Log.warning("keel: unexpected interrupt vector \(vector)")
            return
        }
        guard frame.pointee.isUserMode else { Panic.exception(exception, frame: frame.pointee, cr2: read_cr2()) }
        BigKernelLock.lock()
        UserTraps.signal(for: exception, frame.pointee)
        BigKernelLock.unlock()
        deliverSignals(frame)
    }
}

/// On the way back to user mode after an interrupt: act on pending signals,
/// under the big kernel lock (a handler frame or an exit touches memory).
private func deliverSignals(_ frame: UnsafeMutablePointer<InterruptFrame>) {
    BigKernelLock.lock()
    Signals.deliver(frame)
    BigKernelLock.unlock()
}

/// A CPU exception raised by user code becomes a signal to that process.
/// Linux: do_trap() / do_error_trap() → force_sig()
enum UserTraps {
    static func signal(for exception: ExceptionVector, _ frame: InterruptFrame) {
        let signal: Int32
        switch exception {
        case .divideError, .x87FloatingPoint, .simdFloatingPoint: signal = Signal.SIGFPE
        case .invalidOpcode: signal = Signal.SIGILL
        case .breakpoint, .debug: signal = Signal.SIGTRAP
        case .alignmentCheck: signal = Signal.SIGBUS
        default: signal = Signal.SIGSEGV
        }
        let task = Scheduler.current
        Log.notice("traps: \(task.name)[\(task.pid)] \(exception.name) ip:\(Fmt.hex(frame.rip)) sp:\(Fmt.hex(frame.rsp)) error:\(Fmt.hex(frame.errorCode))")
        Signals.force(signal, info: SignalFrame.Info(code: 0, address: frame.rip), on: task)
    }
}
