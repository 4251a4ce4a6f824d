// Event counters of the memory subsystem, shown in /proc/vmstat under Linux's
// names. Linux: enum vm_event_item, count_vm_event()

enum VMStat {
    /// Every page fault handled. Linux: pgfault
    nonisolated(unsafe) static var pageFaults: UInt64 = 0
    /// Faults that had to read a file (here: copy from the initramfs). Linux: pgmajfault
    nonisolated(unsafe) static var majorFaults: UInt64 = 0
    /// Anonymous pages zero-filled on first write. Keel: pgzerofill
    nonisolated(unsafe) static var zeroFillFaults: UInt64 = 0
    /// Reads mapped to the shared zero page. Keel: pgzeropage
    nonisolated(unsafe) static var zeroPageMaps: UInt64 = 0
    /// Copy-on-write faults that copied a page. Linux: cow_fault
    nonisolated(unsafe) static var cowFaults: UInt64 = 0
    /// Copy-on-write faults that reused the page (its only mapping). Keel: cow_reuse
    nonisolated(unsafe) static var cowReuses: UInt64 = 0
    /// Stack expansions. Keel: stack_grow
    nonisolated(unsafe) static var stackGrowths: UInt64 = 0
    /// Faults on shared anonymous memory (Kernel/Memory/Shmem.swift). Keel: pgshmemfault
    nonisolated(unsafe) static var shmemFaults: UInt64 = 0
    /// Processes the OOM killer killed. Linux: oom_kill
    nonisolated(unsafe) static var oomKills: UInt64 = 0
}
