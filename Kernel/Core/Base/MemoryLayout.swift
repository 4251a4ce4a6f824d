// Keel's virtual memory layout (docs/ARCHITECTURE.md, "Memory layout"). Everything the kernel owns sits in
// PML4 slots 254 and 255, below 2^47, because Swift's x86-64 ABI keeps the top
// pointer bits for itself: a kernel at 0xffffffff80000000 would break retain/release.

/// Virtual memory layout constants. Linux: arch/x86/include/asm/page_64_types.h
public enum KernelLayout {
    /// First address above user space. Linux: TASK_SIZE
    public static let taskSize: UInt64 = 0x0000_7f00_0000_0000
    /// Start of the direct map of all RAM (PML4 slot 254). Linux: PAGE_OFFSET
    public static let pageOffset: UInt64 = 0x0000_7f00_0000_0000
    /// Where the kernel image is linked (PML4 slot 255). Linux: __START_KERNEL_map
    public static let kernelBase: UInt64 = 0x0000_7f80_0000_0000
    /// Physical load address of the image (1 MiB, above the BIOS area).
    public static let kernelPhysBase: UInt64 = 0x0010_0000
    /// Start of the vmalloc area, 1 GiB above the image. Linux: VMALLOC_START
    public static let vmallocStart: UInt64 = 0x0000_7fc0_0000_0000
    /// End of the vmalloc area. Linux: VMALLOC_END
    public static let vmallocEnd: UInt64 = 0x0000_7fff_ffff_f000
}

extension PhysAddr {
    /// The direct-map alias of this physical address. Linux: __va()
    @inlinable public var directMapped: VirtAddr { VirtAddr(value &+ KernelLayout.pageOffset) }
}

extension VirtAddr {
    /// Physical address behind a direct-map virtual address. Linux: __pa()
    @inlinable public var directMapPhys: PhysAddr { PhysAddr(value &- KernelLayout.pageOffset) }
    /// True for user-space addresses. Linux: access_ok() range check
    @inlinable public var isUser: Bool { value < KernelLayout.taskSize }
}
