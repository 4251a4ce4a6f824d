// `test=smp` (Tests/Boot smp_selftest): starts the other CPUs, checks that a
// SpinLock saves and restores the interrupt flag, has every CPU increment one
// plain counter under a SpinLock at the same time (a broken lock loses
// updates), and proves TLB shootdowns reach every CPU: each CPU reads a page
// through a mapping, the mapping is changed, and after the shootdown every CPU
// must read the new frame. Prints "smp selftest: ok" or what failed.

import Synchronization

enum SMPSelfTest {
    private static let increments = 10_000

    private static let counterLock = SpinLock(LockClass("smp_selftest_counter"))
    nonisolated(unsafe) private static var counter = 0
    private static let arrived = Atomic<Int>(0)
    /// Per CPU: increments done, and the last word `readProbe` read.
    nonisolated(unsafe) private static let incrementsByCPU = zeroedSlots()
    nonisolated(unsafe) fileprivate static let seen = zeroedSlots()

    private static let oldMark: UInt64 = 0x6f6c_6420_7061_6765         // "old page"
    private static let newMark: UInt64 = 0x6e65_7720_7061_6765         // "new page"

    static func run() {
        SMP.startSecondaryCPUs(max: SMP.maxCPUs)
        // Lazy globals come to life here, on one CPU: cross-call functions must not allocate.
        _ = (counterLock, counter, incrementsByCPU, seen)
        var failures: [String] = []
        checkInterruptFlag(&failures)
        checkCounter(&failures)
        checkShootdowns(&failures)
        if failures.isEmpty {
            Console.write("smp selftest: ok\n")
        } else {
            for f in failures { Console.write("smp selftest: FAILED: " + f + "\n") }
        }
    }

    /// Linux's irqsave contract: off while held, restored on unlock, nested too.
    private static func checkInterruptFlag(_ failures: inout [String]) {
        let outer = SpinLock(LockClass("smp_selftest_outer")), inner = SpinLock(LockClass("smp_selftest_inner"))
        let wereEnabled = interruptsEnabled
        cpu_sti()
        outer.lock()
        let offWhileHeld = !interruptsEnabled
        let refused = !outer.tryLock()
        inner.lock()
        inner.unlock()
        let stillOff = !interruptsEnabled && outer.isLocked && !inner.isLocked
        outer.unlock()
        let backOn = interruptsEnabled
        if !wereEnabled { cpu_cli() }
        if !(offWhileHeld && refused && stillOff && backOn) {
            failures.append("spinlock: interrupt flag or state wrong (held: off=\(offWhileHeld), tryLock refused=\(refused), after inner unlock off=\(stillOff), after unlock on=\(backOn))")
        }
    }

    private static func checkCounter(_ failures: inout [String]) {
        let cpus = SMP.online
        CrossCall.run(on: cpus, incrementCounter, argument: UInt64(increments))
        let expected = SMP.onlineCount * increments
        Log.notice("smp selftest: \(SMP.onlineCount) CPUs x \(increments) locked increments = \(counter) (expected \(expected))")
        if counter != expected { failures.append("counter is \(counter), expected \(expected)") }
        for cpu in 0..<SMP.maxCPUs where cpus.contains(cpu: cpu) && incrementsByCPU[cpu] != UInt64(increments) {
            failures.append("CPU \(cpu) did \(incrementsByCPU[cpu]) increments")
        }
    }

    /// Three rounds, one per kind of flush. Round 1's mapping is global, like every
    /// kernel mapping; rounds 2 and 3 map without the global bit, because a CR3
    /// reload (round 3) leaves global translations in place.
    private static func checkShootdowns(_ failures: inout [String]) {
        guard let page = Vmalloc.allocate(bytes: Int(pageSize)), let newFrame = PageAllocator.allocate(flags: .zero) else {
            failures.append("shootdown: no memory")
            return
        }
        let va = VirtAddr(UInt64(UInt(bitPattern: page)))
        let oldFrame = KernelPageTable.table.translate(va)!.phys
        let rounds: [(name: String, flush: TLB.Flush)] = [
            ("page", .pages(start: va, count: 1)), ("all", .all), ("address space", .addressSpace),
        ]
        DirectMap.pointer(oldFrame, as: UInt64.self).pointee = oldMark
        DirectMap.pointer(newFrame, as: UInt64.self).pointee = newMark
        for (round, (name, flush)) in rounds.enumerated() {
            let (from, to) = round % 2 == 0 ? (oldFrame, newFrame) : (newFrame, oldFrame)
            let expected = DirectMap.pointer(to, as: UInt64.self).pointee
            CrossCall.run(on: SMP.online, readProbe, argument: va.value)       // every TLB caches va → from
            remap(va, to: to, global: round == 0, &failures)
            if round == 0 {
                CrossCall.run(on: SMP.online, readProbe, argument: va.value)
                let stale = (0..<SMP.maxCPUs).filter { SMP.online.contains(cpu: $0) && seen[$0] != expected }.count
                Log.notice("smp selftest: page remapped; before the shootdown \(stale) of \(SMP.onlineCount) CPUs still read the old frame")
            }
            TLB.flush(flush, on: SMP.online)
            CrossCall.run(on: SMP.online, readProbe, argument: va.value)
            for cpu in 0..<SMP.maxCPUs where SMP.online.contains(cpu: cpu) && seen[cpu] != expected {
                failures.append("shootdown (\(name)): CPU \(cpu) still reads frame 0x\(Fmt.hex(from.value))")
            }
        }
        remap(va, to: oldFrame, global: true, &failures)
        Vmalloc.free(page)
        TLB.flushRange(va, va + pageSize, on: SMP.online)
        PageAllocator.free(newFrame)
        if failures.isEmpty {
            Log.notice("smp selftest: TLB shootdowns (page, all, address space) reached all \(SMP.onlineCount) CPUs")
        }
    }

    /// Points `va` at `frame` without flushing any TLB.
    private static func remap(_ va: VirtAddr, to frame: PhysAddr, global: Bool, _ failures: inout [String]) {
        var frames = KernelFrameAllocator()
        var flags = KernelPageTable.kernelFlags(writable: true, executable: false)
        if !global { flags.remove(.global) }
        do {
            _ = try KernelPageTable.table.unmap(va, freeEmptyTables: false, allocator: &frames)
            try KernelPageTable.table.map(va, to: frame, size: .size4K, flags: flags, allocator: &frames)
        } catch {
            failures.append("remap: \(error)")
        }
    }

    private static var interruptsEnabled: Bool { read_rflags() & (1 << 9) != 0 }

    private static func zeroedSlots() -> UnsafeMutablePointer<UInt64> {
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: SMP.maxCPUs)
        slots.initialize(repeating: 0, count: SMP.maxCPUs)
        return slots
    }

    /// All CPUs start together (a barrier), and each increment is a separate read
    /// and write with a pause between: without the lock, updates get lost.
    fileprivate static func increment(times: UInt64) {
        let cpu = PerCPU.cpu
        arrived.wrappingAdd(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < SMP.onlineCount { cpu_pause() }
        for _ in 0..<times {
            counterLock.lock()
            let value = counter
            cpu_pause()
            counter = value + 1
            incrementsByCPU[cpu] += 1
            counterLock.unlock()
        }
    }
}

/// Cross-call functions: they run on every CPU at once, in interrupt context.
private let incrementCounter: CrossCall.Function = { times in SMPSelfTest.increment(times: times) }
private let readProbe: CrossCall.Function = { address in
    SMPSelfTest.seen[PerCPU.cpu] = UnsafePointer<UInt64>(bitPattern: UInt(address))!.pointee
}
