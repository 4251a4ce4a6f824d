// Running a function on other CPUs and waiting until they have: the basis of TLB
// shootdowns and of anything else one CPU must make every CPU do. The caller
// publishes a request, sends each target an IPI on `vector`, and the targets'
// interrupt handlers run the function and clear their bit in `pending`.
// Linux: kernel/smp.c smp_call_function_many_cond(), on_each_cpu_mask(),
// and the CALL_FUNCTION_VECTOR handler generic_smp_call_function_interrupt()
//
// One request is in flight at a time (Linux queues one per target CPU in
// call_single_queue; a single slot is enough for Keel). Functions run with
// interrupts off, in interrupt context on the targets: they must not sleep,
// allocate or take a lock whose holder could be waiting for this call.

import Synchronization

enum CrossCall {
    /// Linux: CALL_FUNCTION_VECTOR
    static let vector: UInt8 = 0xfc

    /// A function and its argument (for example the address of a request on the
    /// caller's stack, which stays valid because the caller waits). Linux: smp_call_func_t
    typealias Function = @convention(c) (UInt64) -> Void

    /// The one request slot (innermost in the lock order, see SpinLock.swift).
    private static let slot = SpinLock(LockClass("crosscall_slot"))
    nonisolated(unsafe) private static var function: Function? = nil
    nonisolated(unsafe) private static var argument: UInt64 = 0
    /// CPUs that have not yet finished the current request. Linux: the CSD_FLAG_LOCK bits
    private static let pending = Atomic<UInt64>(0)

    /// Runs `function(argument)` on every online CPU in `cpus`, this one included
    /// when it is in the mask, and returns once all of them have finished.
    static func run(on cpus: CPUMask, _ function: Function, argument: UInt64) {
        let me = PerCPU.cpu
        // While another CPU's request occupies the slot, ours may be among its
        // targets with interrupts off: serve it by polling, or both CPUs would wait forever.
        while !slot.tryLock() {
            serve(cpu: me)
            cpu_pause()
        }
        let targets = CPUMask(rawValue: cpus.rawValue & SMP.online.rawValue)
        let others = targets.subtracting(.cpu(me))
        Self.function = function
        Self.argument = argument
        pending.store(others.rawValue, ordering: .releasing)
        for cpu in 0..<SMP.maxCPUs where others.contains(cpu: cpu) {
            LocalAPIC.sendIPI(to: SMP.apicID(of: cpu), IPICommand.fixed(vector))
        }
        if targets.contains(cpu: me) { function(argument) }
        while pending.load(ordering: .acquiring) != 0 { cpu_pause() }
        Self.function = nil
        slot.unlock()
    }

    /// The handler for `vector`. Linux: sysvec_call_function()
    static func handleInterrupt() {
        LocalAPIC.endOfInterrupt()
        serve(cpu: PerCPU.cpu)
    }

    /// Runs the current request if it is addressed to `cpu` and not yet done here.
    /// Interrupts stay off, so the IPI cannot run it a second time meanwhile.
    private static func serve(cpu: Int) {
        let interrupts = InterruptsDisabled()
        let bit = UInt64(1) << UInt64(cpu)
        if pending.load(ordering: .acquiring) & bit != 0, let function {
            function(argument)
            pending.bitwiseAnd(~bit, ordering: .releasing)
        }
        _ = consume interrupts
    }
}
