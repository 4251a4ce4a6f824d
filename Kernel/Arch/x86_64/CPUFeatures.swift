// What this CPU can do, read once from CPUID. Linux: struct cpuinfo_x86, X86_FEATURE_*

enum CPUFeatures {
    /// No-execute page protection (EFER.NXE). Linux: X86_FEATURE_NX
    nonisolated(unsafe) static var nx = false
    /// 1 GiB pages in the direct map. Linux: X86_FEATURE_GBPAGES
    nonisolated(unsafe) static var gigabytePages = false
    /// Supervisor-mode execution prevention. Linux: X86_FEATURE_SMEP
    nonisolated(unsafe) static var smep = false
    /// Supervisor-mode access prevention. Linux: X86_FEATURE_SMAP
    nonisolated(unsafe) static var smap = false
    /// Global pages survive CR3 reloads. Linux: X86_FEATURE_PGE
    nonisolated(unsafe) static var globalPages = false
    /// RDRAND. Linux: X86_FEATURE_RDRAND
    nonisolated(unsafe) static var rdrand = false
    /// CPUID leaf 1's EDX, which user space receives as AT_HWCAP. Linux: ELF_HWCAP
    nonisolated(unsafe) static var hwcap: UInt64 = 0

    static func detect() {
        let basic = cpuid(1, 0)
        hwcap = UInt64(basic.edx)
        globalPages = basic.edx & (1 << 13) != 0
        rdrand = basic.ecx & (1 << 30) != 0
        if cpuid(0, 0).eax >= 7 {
            let extended = cpuid(7, 0)
            smep = extended.ebx & (1 << 7) != 0
            smap = extended.ebx & (1 << 20) != 0
        }
        let amd = cpuid(0x8000_0001, 0)
        nx = amd.edx & (1 << 20) != 0
        gigabytePages = amd.edx & (1 << 26) != 0
    }

    static var summary: String {
        var s = "CPU features:"
        if nx { s += " nx" }
        if gigabytePages { s += " pdpe1gb" }
        if globalPages { s += " pge" }
        if smep { s += " smep" }
        if smap { s += " smap" }
        if rdrand { s += " rdrand" }
        return s
    }
}
