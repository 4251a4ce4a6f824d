// Segment selectors of the boot GDT (Boot/entry32.S). In long mode segments
// only carry privilege levels; later the GDT gains user segments and a TSS.
// Linux: arch/x86/include/asm/segment.h (__KERNEL_CS, __KERNEL_DS)

enum GDT {
    static let kernelCode: UInt16 = 0x08
    static let kernelData: UInt16 = 0x10
}
