// Time: the TSC for a monotonic nanosecond clock (calibrated against the PIT
// with the APIC timer) and the CMOS real-time clock for the wall-clock epoch.
// Linux: arch/x86/kernel/tsc.c, drivers/rtc/rtc-mc146818-lib.c

enum Clock {
    nonisolated(unsafe) private static var tscAtBoot: UInt64 = 0
    nonisolated(unsafe) private(set) static var tscPerMicrosecond: UInt64 = 1000
    /// Seconds since 1970 when tscAtBoot was taken. Linux: the boot-time wall clock
    nonisolated(unsafe) private static var epochAtBoot: UInt64 = 0

    /// Called around a known 10 ms interval (LocalAPIC.calibrate).
    static func calibrate(tscTicksIn10ms ticks: UInt64) {
        tscPerMicrosecond = max(ticks / 10_000, 1)
        tscAtBoot = rdtsc()
        epochAtBoot = CMOS.readEpochSeconds()
        Log.info("TSC: \(tscPerMicrosecond) MHz; wall clock \(epochAtBoot) s since 1970")
    }

    /// CLOCK_MONOTONIC in nanoseconds since boot.
    static var monotonicNanoseconds: UInt64 {
        let ticks = rdtsc() &- tscAtBoot
        return ticks / tscPerMicrosecond * 1000 + (ticks % tscPerMicrosecond) * 1000 / tscPerMicrosecond
    }

    /// CLOCK_REALTIME in nanoseconds since 1970.
    static var realtimeNanoseconds: UInt64 { epochAtBoot * 1_000_000_000 + monotonicNanoseconds }
}

/// The MC146818 real-time clock in CMOS. Linux: mc146818_get_time()
enum CMOS {
    private static func read(_ register: UInt8) -> UInt8 {
        outb(0x70, register)
        return inb(0x71)
    }

    static func readEpochSeconds() -> UInt64 {
        while read(0x0a) & 0x80 != 0 { cpu_pause() }        // update in progress
        let status = read(0x0b)
        let binary = status & 0x04 != 0
        func value(_ r: UInt8) -> UInt64 {
            let v = read(r)
            return UInt64(binary ? v : (v >> 4) * 10 + (v & 0x0f))
        }
        let second = value(0x00), minute = value(0x02), day = value(0x07), month = value(0x08)
        let year = 2000 + value(0x09)
        var hour = value(0x04) & 0x7f
        if status & 0x02 == 0 && read(0x04) & 0x80 != 0 { hour = (hour % 12) + 12 }
        return epochSeconds(year: year, month: month, day: day) + hour * 3600 + minute * 60 + second
    }

    /// Days-from-civil (Howard Hinnant's algorithm), in seconds.
    private static func epochSeconds(year: UInt64, month: UInt64, day: UInt64) -> UInt64 {
        let y = Int64(year) - (month <= 2 ? 1 : 0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return UInt64(era * 146_097 + doe - 719_468) * 86_400
    }
}
