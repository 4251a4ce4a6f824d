// Where the linker put the kernel image's parts (linker.ld, Boot/*.S): the
// sections the kernel page tables map with their own permissions, the boot
// stack, the early heap and the symbol table. Linux: asm/sections.h
// (_text, _etext, __start_rodata, _sdata, _end ...)

enum KernelImage {
    /// Physical [start, end) of the whole image, reserved from the page allocator.
    static var physicalRange: PhysRange {
        PhysRange(PhysAddr(symbol___kernel_phys_start()), PhysAddr(symbol___kernel_phys_end()))
    }
    /// The virtual address of the image's first byte (.boot, before .text).
    static var start: UInt64 { KernelLayout.kernelBase + symbol___kernel_phys_start() }
    /// Linux: _text, _etext
    static var text: Range<UInt64> { symbol___text_start()..<symbol___text_end() }
    /// Linux: __start_rodata, __end_rodata
    static var rodata: Range<UInt64> { symbol___rodata_start()..<symbol___rodata_end() }
    /// .data and .bss. Linux: _sdata, _end
    static var data: Range<UInt64> { symbol___data_start()..<symbol___data_end() }
    /// The end of everything the image occupies. Linux: _end
    static var end: UInt64 { symbol___kernel_end() }
    /// The 64 KiB stack the boot code runs on, in .bss.
    static var bootStack: Range<UInt64> { symbol_boot_stack_bottom()..<symbol_boot_stack_top() }
    /// The 2 MiB the early heap hands out before the slab allocator exists.
    static var earlyHeap: Range<UInt> { UInt(symbol_early_heap_start())..<UInt(symbol_early_heap_end()) }
    /// The symbol table the second link placed in the image (tools/gensyms.py).
    static var symbolTable: UnsafeRawBufferPointer {
        let start = symbol___ksymtab_start(), end = symbol___ksymtab_end()
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(start)), count: Int(end - start))
    }
}
