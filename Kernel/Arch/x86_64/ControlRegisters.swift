// Turning on the protections the kernel page tables rely on.
// Linux: arch/x86/kernel/cpu/common.c (setup_smep, setup_smap), cr4_set_bits()

enum ControlRegisters {
    static let cr0WriteProtect: UInt64 = 1 << 16
    static let cr4GlobalPages: UInt64 = 1 << 7
    static let cr4SMEP: UInt64 = 1 << 20
    static let cr4SMAP: UInt64 = 1 << 21

    /// CR0.WP (the kernel honours read-only pages too: copy-on-write needs it),
    /// CR4.PGE, SMEP and SMAP where the CPU has them.
    static func enableProtections() {
        write_cr0(read_cr0() | cr0WriteProtect)
        var cr4 = read_cr4()
        if CPUFeatures.globalPages { cr4 |= cr4GlobalPages }
        if CPUFeatures.smep { cr4 |= cr4SMEP }
        if CPUFeatures.smap { cr4 |= cr4SMAP }
        write_cr4(cr4)
        set_smap_enabled(CPUFeatures.smap ? 1 : 0)
    }
}
