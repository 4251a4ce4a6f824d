// The local APIC: each CPU's interrupt controller and timer. Keel's scheduler
// tick is the APIC timer in periodic mode, calibrated against the PIT.
// Linux: arch/x86/kernel/apic/apic.c (setup_APIC_timer, calibrate_APIC_clock)

import _Volatile

enum LocalAPIC {
    static let timerVector: UInt8 = 32
    static let spuriousVector: UInt8 = 255

    private static let regID = 0x20, regEOI = 0xb0, regSpurious = 0xf0, regICRLow = 0x300, regICRHigh = 0x310
    private static let regLVTTimer = 0x320, regInitialCount = 0x380, regCurrentCount = 0x390, regDivide = 0x3e0

    nonisolated(unsafe) private static var base: UnsafeMutableRawPointer? = nil
    /// APIC timer counts per tick (bus clock / 16 / HZ).
    nonisolated(unsafe) private(set) static var countsPerTick: UInt32 = 0

    /// Volatile, whole 32-bit accesses, as the APIC requires: a plain load lets the
    /// compiler turn `read(regID) >> 24` into a byte load (QEMU answers 0) or hoist
    /// a polled register out of its loop.
    static func read(_ register: Int) -> UInt32 {
        VolatileMappedRegister<UInt32>(unsafeBitPattern: UInt(bitPattern: base!) + UInt(register)).load()
    }
    static func write(_ register: Int, _ value: UInt32) {
        VolatileMappedRegister<UInt32>(unsafeBitPattern: UInt(bitPattern: base!) + UInt(register)).store(value)
    }

    /// Maps the APIC registers (once) and enables this CPU's APIC.
    static func enable() {
        if base == nil {
            let phys = PhysAddr(rdmsr(MSR.apicBase) & 0xf_ffff_f000)
            guard let mapped = Vmalloc.ioremap(phys, bytes: Int(pageSize)) else { Panic.now("cannot map the local APIC") }
            base = mapped
        }
        write(regSpurious, 0x100 | UInt32(spuriousVector))
    }

    static var id: UInt32 { read(regID) >> 24 }

    /// End of interrupt: lets the APIC deliver the next one. Linux: apic_eoi()
    static func endOfInterrupt() { write(regEOI, 0) }

    /// Measures the APIC timer against 10 ms of the PIT, once, on the boot CPU.
    static func calibrate() {
        write(regDivide, 0x3)                               // divide by 16
        let pitCounts: UInt16 = 11932                       // 1193182 Hz / 100 = 10 ms
        outb(0x61, (inb(0x61) & 0xfd) | 0x01)               // PIT channel 2 gate on, speaker off
        outb(0x43, 0xb0)                                    // channel 2, lo/hi, mode 0
        outb(0x42, UInt8(truncatingIfNeeded: pitCounts))
        outb(0x42, UInt8(truncatingIfNeeded: pitCounts >> 8))
        outb(0x61, inb(0x61) & 0xfe)                        // restart the count:
        outb(0x61, inb(0x61) | 0x01)                        //   gate low, then high
        write(regInitialCount, 0xffff_ffff)
        let tscStart = rdtsc()
        while inb(0x61) & 0x20 == 0 { cpu_pause() }         // OUT2 goes high after 10 ms
        let elapsed = 0xffff_ffff - read(regCurrentCount)
        Clock.calibrate(tscTicksIn10ms: rdtsc() &- tscStart)
        write(regInitialCount, 0)
        countsPerTick = elapsed * 100 / UInt32(HZ)
        Log.info("APIC timer: \(elapsed / 10_000) MHz bus/16 clock, \(countsPerTick) counts per \(1000 / HZ) ms tick")
    }

    /// The periodic scheduler tick on this CPU.
    static func startTimer() {
        write(regDivide, 0x3)
        write(regLVTTimer, UInt32(timerVector) | 1 << 17)   // periodic
        write(regInitialCount, countsPerTick)
    }

    /// Sends an inter-processor interrupt. Linux: __default_send_IPI_dest_field()
    static func sendIPI(to apicID: UInt32, _ command: UInt32) {
        write(regICRHigh, apicID << 24)
        write(regICRLow, command)
        while read(regICRLow) & (1 << 12) != 0 { cpu_pause() }
    }
}
