// Reading what the boot loader left us: the multiboot2 information block (from
// GRUB, or rewritten from QEMU's Multiboot v1 by Multiboot1Boot), seen through
// the direct map, parsed by Kernel/Core/BootInfo.

enum Boot {
    /// The parsed boot information and kernel command line, set once by kmain.
    nonisolated(unsafe) static var info: MultibootInfo! = nil
    nonisolated(unsafe) static var commandLine = KernelCommandLine()

    static func parse(magic: UInt32, infoPhys: UInt64) {
        let phys: PhysAddr
        switch magic {
        case MultibootInfo.bootLoaderMagic: phys = PhysAddr(infoPhys)
        case Multiboot1.bootLoaderMagic: phys = Multiboot1Boot.translate(infoPhys: infoPhys)
        default: Panic.now("not started by a multiboot boot loader (magic 0x\(Fmt.hex(magic)))")
        }
        let base = UnsafeRawPointer(bitPattern: UInt(phys.directMapped.value))!
        let totalSize = Int(base.loadUnaligned(as: UInt32.self))
        do {
            info = try MultibootInfo(bytes: UnsafeRawBufferPointer(start: base, count: totalSize), physicalAddress: phys)
        } catch {
            Panic.now("malformed multiboot2 information: \(error.message)")
        }
        commandLine = KernelCommandLine(parsing: info.commandLine?.string ?? "")
        Log.consoleLevel = commandLine.consoleLogLevel
    }
}
