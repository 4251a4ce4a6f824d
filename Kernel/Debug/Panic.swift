// Stopping the machine on a kernel bug, with a report a student can act on:
// the decoded reason, registers, and a call trace named from the in-kernel
// symbol table (Kernel/Core/Debug formats it). Linux: panic(), die()

import Synchronization

enum Panic {
    /// The CPU printing a report, or -1. A fault inside the report itself must
    /// not recurse forever, and a second CPU panicking meanwhile only says so
    /// and stops, so that the first report is printed whole.
    private static let reportingCPU = Atomic<Int>(-1)
    /// A report is being printed: its Strings come from the early heap, since
    /// the CPU may have stopped holding a slab lock (RuntimeHooks.swift).
    static var inProgress: Bool { reportingCPU.load(ordering: .relaxed) >= 0 }

    /// panic(): a kernel bug found by kernel code. Never inlined: the call trace
    /// starts from this function's own frame, so its first entry is the caller.
    @inline(never)
    static func now(_ message: String) -> Never {
        report(.explicit(message: message, framePointer: CPU.framePointer))
    }

    /// A fatal exception (called from the trap handler with the saved registers).
    static func exception(_ vector: ExceptionVector, frame: InterruptFrame, cr2: UInt64) -> Never {
        report(PanicReason(vector: vector, frame: frame, cr2: cr2, memory: KernelMemoryReader(),
                           isStackGuard: KernelStacks.isGuardPage))
    }

    private static func report(_ reason: PanicReason) -> Never {
        CPU.disableInterrupts()
        let (won, reporter) = reportingCPU.compareExchange(expected: -1, desired: PerCPU.cpuOrBoot,
                                                            ordering: .acquiringAndReleasing)
        if !won {
            if reporter == PerCPU.cpuOrBoot {
                Console.write("KERNEL PANIC: fault while printing a panic report\n")
                PowerOff.now(.panic)
            }
            Console.write("KERNEL PANIC: a second CPU panicked during the report; it stops here\n")
            PowerOff.haltThisCPU()
        }
        var sink = ConsoleSink()
        PanicReport(reason: reason, cr3: MMU.loadedRoot.value, symbols: KernelSymbols.table, memory: KernelMemoryReader())
            .write(to: &sink)
        PowerOff.now(.panic)
    }
}

/// The symbol table that the second link put between __ksymtab_start and __ksymtab_end.
enum KernelSymbols {
    static var table: SymbolTable {
        SymbolTable(blob: KernelImage.symbolTable)
    }
}

/// What the unwinder may read: the kernel image and the direct map of RAM the
/// page allocator manages, plus mapped kernel stacks.
struct KernelMemoryReader: StackMemory {
    func isReadableKernelAddress(_ address: UInt64) -> Bool {
        if address >= KernelLayout.kernelBase && address + 8 <= KernelImage.end { return true }
        if address >= KernelLayout.pageOffset && address + 8 <= KernelLayout.pageOffset + PhysicalMemoryMap.directMapEnd {
            return true
        }
        return KernelStacks.isMappedStackAddress(address)
    }

    func read64(_ address: UInt64) -> UInt64 {
        UnsafeRawPointer(bitPattern: UInt(address))!.loadUnaligned(as: UInt64.self)
    }
}
