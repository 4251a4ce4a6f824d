// Starting the other CPUs. The boot CPU (BSP) finds the processors in the ACPI
// MADT and wakes each application processor (AP) in turn: it gives the AP an
// idle task with a guarded kernel stack, points the trampoline at it, sends
// INIT, then STARTUP twice (Intel's MP start-up sequence), and waits until the
// AP reports online from apMain. One AP at a time: they share the trampoline,
// and apMain allocates (its GDT, its per-CPU block) while nobody else does.
// Linux: arch/x86/kernel/smpboot.c (native_smp_prepare_cpus, do_boot_cpu,
// wakeup_secondary_cpu_via_init, start_secondary), kernel/smp.c (smp_init)

import Synchronization

enum SMP {
    /// The most CPUs Keel runs: CPUMask's width. Linux: NR_CPUS
    static let maxCPUs = 64
    /// How long an AP has to come online. Linux: do_boot_cpu() waits 10 s
    private static let bootTimeoutNanoseconds: UInt64 = 10_000_000_000

    /// Bit n: CPU n finished apMain's set-up. The boot CPU is online from the start.
    private static let onlineBits = Atomic<UInt64>(1)
    /// The local APIC ID of each CPU, the address IPIs go to. Linux: x86_cpu_to_apicid
    nonisolated(unsafe) private static let apicIDs: UnsafeMutablePointer<UInt32> = {
        let ids = UnsafeMutablePointer<UInt32>.allocate(capacity: maxCPUs)
        ids.initialize(repeating: 0, count: maxCPUs)
        return ids
    }()
    /// Each AP's idle task, made by the boot CPU and taken over by the AP.
    nonisolated(unsafe) private static var idleTasks: [Task?] = []
    nonisolated(unsafe) private static var started = false

    /// Linux: cpu_online_mask
    static var online: CPUMask { CPUMask(rawValue: onlineBits.load(ordering: .acquiring)) }
    /// Linux: num_online_cpus()
    static var onlineCount: Int { online.rawValue.nonzeroBitCount }
    /// Linux: per_cpu(x86_cpu_to_apicid, cpu)
    static func apicID(of cpu: Int) -> UInt32 { apicIDs[cpu] }

    /// Starts every enabled processor the MADT lists, up to `max` CPUs in all
    /// (the boot CPU included): CPU 1, 2, … in MADT order. Runs once; later calls
    /// return at once. Linux: smp_init() → bringup_nonboot_cpus()
    static func startSecondaryCPUs(max: Int) {
        guard !started else { return }
        started = true
        let bootAPICID = LocalAPIC.id
        apicIDs[0] = bootAPICID
        NUMA.setNode(ofCPU: 0, apicID: bootAPICID)
        let cpus = ACPIBoot.findMADT()?.cpuAPICIDs(bootAPICID: bootAPICID, maxCPUs: Swift.min(max, maxCPUs)) ?? [bootAPICID]
        Log.info("smpboot: Allowing \(cpus.count) CPUs, 0 hotplug CPUs")
        if cpus.count > 1 && Trampoline.install() {
            Log.info("smp: Bringing up secondary CPUs ...")
            idleTasks = [Task?](repeating: nil, count: cpus.count)
            var next = 1
            for apicID in cpus.dropFirst() where boot(cpu: next, apicID: apicID) { next += 1 }
            Trampoline.release()
        }
        let n = onlineCount
        let nodes = NUMA.nodeCount
        Log.notice("smp: Brought up \(nodes) node" + (nodes == 1 ? "" : "s") + ", \(n) CPU" + (n == 1 ? "" : "s"))
    }

    /// Wakes one AP as CPU `cpu` and waits until it is online. Linux: do_boot_cpu()
    private static func boot(cpu: Int, apicID: UInt32) -> Bool {
        guard let stack = KernelStacks.allocate(), PerCPU.prepare(cpu: cpu) else {
            Log.error("smpboot: no memory for CPU\(cpu)'s stack or per-CPU data")
            return false
        }
        idleTasks[cpu] = Task(pid: 0, tgid: 0, name: "swapper/\(cpu)", kernelStack: stack)
        apicIDs[cpu] = apicID
        NUMA.setNode(ofCPU: cpu, apicID: apicID)
        Trampoline.prepare(cpu: cpu, stackTop: stack.top)
        sendStartup(to: apicID)
        let deadline = Clock.monotonicNanoseconds + bootTimeoutNanoseconds
        while !online.contains(cpu: cpu) {
            guard Clock.monotonicNanoseconds < deadline else {
                // Hold it in reset, so it cannot wake later on a trampoline prepared for another CPU.
                LocalAPIC.sendIPI(to: apicID, IPICommand.initAssert)
                LocalAPIC.sendIPI(to: apicID, IPICommand.initDeassert)
                idleTasks[cpu] = nil
                Log.error("smpboot: do_boot_cpu failed(-1) to wakeup CPU#\(cpu)")
                return false
            }
            cpu_pause()
        }
        return true
    }

    /// INIT, 10 ms, STARTUP, 200 µs, STARTUP, 200 µs: the universal start-up
    /// algorithm of Intel's MultiProcessor Specification (B.4). The second STARTUP
    /// covers CPUs that miss the first; one already running ignores it.
    /// Linux: wakeup_secondary_cpu_via_init()
    private static func sendStartup(to apicID: UInt32) {
        LocalAPIC.sendIPI(to: apicID, IPICommand.initAssert)
        LocalAPIC.sendIPI(to: apicID, IPICommand.initDeassert)
        delay(microseconds: 10_000)
        for _ in 0..<2 {
            LocalAPIC.sendIPI(to: apicID, IPICommand.startup(page: Trampoline.startupPage))
            delay(microseconds: 200)
        }
    }

    /// Busy-waits on the TSC clock (calibrated by LocalAPIC.calibrate). Linux: udelay()
    private static func delay(microseconds: UInt64) {
        let end = Clock.monotonicNanoseconds + microseconds * 1000
        while Clock.monotonicNanoseconds < end { cpu_pause() }
    }

    /// Called by each AP once it is ready: it may now be sent IPIs and, for the
    /// boot CPU, the next AP may start. Linux: set_cpu_online() in start_secondary()
    fileprivate static func cpuOnline(_ cpu: Int) -> Task {
        Log.notice("smpboot: CPU \(cpu) (APIC id \(LocalAPIC.id)) online")
        let idle = idleTasks[cpu]!
        onlineBits.bitwiseOr(UInt64(1) << UInt64(cpu), ordering: .releasing)
        return idle
    }
}

/// An AP's first Swift code, called by ap_start64 (Boot/trampoline.S) on its
/// idle stack with interrupts off and the kernel's page table loaded. CR0, CR4
/// and EFER already hold the boot CPU's values (the trampoline copied them), so
/// NX, SSE, write protection, SMEP, SMAP and syscall are on as there.
/// Linux: start_secondary()
@_cdecl("keel_ap_main")
func apMain(_ cpu: Int) {
    GDT.load(cpu: cpu)              // first: GDTR still names the unmapped trampoline GDT
    IDT.loadOnThisCPU()
    PerCPU.install(cpu: cpu)
    SyscallMSR.enable()
    LocalAPIC.enable()
    let idle = SMP.cpuOnline(cpu)
    Scheduler.secondaryCPUStarted(cpu: cpu, idle: idle)
}
