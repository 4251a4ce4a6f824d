// The Multiboot2 boot-information block (spec §3.6) that GRUB hands the kernel in
// ebx: total_size u32, reserved u32, then 8-byte aligned tags up to an end tag.
// Parsing validates every tag once and keeps views into the block, so it works
// before the kernel has a heap; the caller keeps the block mapped and unreused.

/// What the boot loader told the kernel. Linux's equivalent is struct boot_params.
public struct MultibootInfo {
    /// The value in eax when a Multiboot2 loader jumps to the kernel.
    public static let bootLoaderMagic: UInt32 = 0x36d7_6289

    /// The block itself (total_size bytes).
    public let block: UnsafeRawBufferPointer
    /// Physical address of the block's first byte.
    public let physicalAddress: PhysAddr

    /// The kernel command line (tag 1). Linux: boot_command_line
    public private(set) var commandLine: MultibootString?
    /// The boot loader's name (tag 2), e.g. "GRUB 2.12".
    public private(set) var bootLoaderName: MultibootString?
    /// mem_lower and mem_upper in KiB (tag 4).
    public private(set) var basicMemory: (lowerKiB: UInt32, upperKiB: UInt32)?
    /// The firmware memory map (tag 6).
    public private(set) var memoryMap: MultibootMemoryMap?
    /// ACPI 1.0 RSDP copy (tag 14).
    public private(set) var acpiOldRSDP: MultibootRSDP?
    /// ACPI 2.0+ RSDP copy (tag 15).
    public private(set) var acpiNewRSDP: MultibootRSDP?
    /// Boot modules (tag 3), e.g. the initramfs.
    public var modules: MultibootModules { MultibootModules(block: block, totalSize: block.count) }

    /// The RSDP to start ACPI from: the 2.0+ one when present, since it leads to the XSDT.
    public var rsdp: MultibootRSDP? { acpiNewRSDP ?? acpiOldRSDP }

    /// Validates `bytes` as a boot-information block located at `physicalAddress`.
    /// Unknown tags (framebuffer, EFI, ...) are skipped; a repeated tag replaces the earlier one.
    public init(bytes: UnsafeRawBufferPointer, physicalAddress: PhysAddr) throws(MultibootError) {
        if bytes.count < 8 { throw .truncatedHeader(available: bytes.count) }
        let totalSize = UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))
        if totalSize < 8 || UInt64(totalSize) > UInt64(bytes.count) {
            throw .badTotalSize(totalSize: totalSize, available: bytes.count)
        }
        block = UnsafeRawBufferPointer(rebasing: bytes[..<Int(totalSize)])
        self.physicalAddress = physicalAddress

        var walker = MultibootTagWalker(block: block, limit: block.count)
        while let tag = try walker.next() {
            switch tag.type {
            case MultibootTagType.commandLine:
                commandLine = try tag.string(at: 8)
            case MultibootTagType.bootLoaderName:
                bootLoaderName = try tag.string(at: 8)
            case MultibootTagType.module:
                _ = try MultibootModule(tag)  // validated now so `modules` cannot fail later
            case MultibootTagType.basicMemoryInfo:
                try tag.require(size: 16)
                basicMemory = (tag.u32(at: 8), tag.u32(at: 12))
            case MultibootTagType.memoryMap:
                memoryMap = try MultibootMemoryMap(tag)
            case MultibootTagType.acpiOldRSDP:
                acpiOldRSDP = try MultibootRSDP(tag, blockAddress: physicalAddress)
            case MultibootTagType.acpiNewRSDP:
                acpiNewRSDP = try MultibootRSDP(tag, blockAddress: physicalAddress)
            default:
                break
            }
        }
    }
}
