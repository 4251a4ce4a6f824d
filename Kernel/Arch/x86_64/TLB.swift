// The MMU as the rest of Keel sees it: which page table this CPU uses (CR3),
// and TLB flushes. After changing or removing page-table entries, every CPU that
// may hold the old translations in its TLB must drop them before the frames are
// reused, or it keeps reading and writing memory that now belongs to someone
// else. The CPU that changed the tables flushes its own TLB and, if other CPUs
// may hold the translations, asks them with a cross-call IPI (a "shootdown")
// and waits until all have done so.
// Linux: arch/x86/mm/tlb.c switch_mm(), flush_tlb_mm_range(),
// flush_tlb_kernel_range(), native_flush_tlb_multi() and flush_tlb_func()

enum MMU {
    /// Makes `root` (a PML4) this CPU's page table. Non-global TLB entries go
    /// with the old one. Linux: load_cr3() in switch_mm_irqs_off()
    static func load(_ root: PhysAddr) { write_cr3(root.value) }

    /// The page table this CPU uses. Linux: read_cr3_pa()
    static var loadedRoot: PhysAddr { PhysAddr(read_cr3() & ~0xfff) }
}

enum TLB {
    /// Past this many pages one full flush beats page-by-page invlpg.
    /// Linux: tlb_single_page_flush_ceiling
    static let singlePageFlushCeiling = 33

    /// What each CPU drops.
    enum Flush {
        /// `count` 4 KiB pages from `start`. Linux: flush_tlb_one_user() per page (invlpg)
        case pages(start: VirtAddr, count: Int)
        /// Every non-global translation: a CR3 reload. User mappings are never global,
        /// so this covers an address space. Linux: flush_tlb_mm() → flush_tlb_local()
        case addressSpace
        /// Global (kernel) translations too: toggling CR4.PGE. Linux: __flush_tlb_all()
        case all
    }

    /// Flushes [start, end) on this CPU and on the online CPUs in `cpus`, which
    /// for a user range are the CPUs that may run the address space (Linux:
    /// mm_cpumask()). A long range becomes a full flush: of the address space
    /// for user addresses, of everything for kernel ones (those pages are global).
    static func flushRange(_ start: VirtAddr, _ end: VirtAddr, on cpus: CPUMask) {
        guard start < end else { return }
        let first = start.alignedDown(), pages = Int((end.alignedUp() - first) / pageSize)
        if pages <= singlePageFlushCeiling {
            flush(.pages(start: first, count: pages), on: cpus)
        } else {
            flush(first.isUser && end.value <= KernelLayout.taskSize ? .addressSpace : .all, on: cpus)
        }
    }

    /// Runs `flush` on this CPU and on every online CPU in `cpus`, and returns once
    /// all have acknowledged.
    static func flush(_ flush: Flush, on cpus: CPUMask) {
        // Only this CPU: no cross-call machinery (the common case of a
        // single-threaded process's fault or munmap).
        if cpus.subtracting(.cpu(PerCPU.cpu)).isEmpty {
            flushLocal(flush)
            return
        }
        // The sender waits for every target's acknowledgement, and a target
        // spinning for a lock this CPU holds answers only if it spins with
        // interrupts on. So the locks held around a shootdown (page_table_lock,
        // vmap_area_lock, mmap_lock) are ones that leave interrupts on, and no
        // lock that turns them off is ever held by a thread that waits for one
        // of those. Linux: the irqs_disabled() warning in smp_call_function_many()
        var request = flush
        withUnsafeMutablePointer(to: &request) { pointer in
            CrossCall.run(on: cpus.union(.cpu(PerCPU.cpu)), flushFromRequest,
                          argument: UInt64(UInt(bitPattern: pointer)))
        }
    }

    /// One CPU's part. Linux: flush_tlb_func()
    static func flushLocal(_ flush: Flush) {
        switch flush {
        case .pages(let start, let count):
            for i in 0..<count { invlpg(start.value + UInt64(i) * pageSize) }
        case .addressSpace:
            write_cr3(read_cr3())
        case .all:
            let cr4 = read_cr4()
            if cr4 & ControlRegisters.cr4GlobalPages != 0 {
                write_cr4(cr4 & ~ControlRegisters.cr4GlobalPages)
                write_cr4(cr4)
            } else {
                write_cr3(read_cr3())
            }
        }
    }
}

/// The cross-call function: the argument is the address of the caller's Flush.
private let flushFromRequest: CrossCall.Function = { address in
    TLB.flushLocal(UnsafePointer<TLB.Flush>(bitPattern: UInt(address))!.pointee)
}
