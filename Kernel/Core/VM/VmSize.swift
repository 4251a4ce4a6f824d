// The VmSize line of /proc/<pid>/status: an address space's total mapped size.

extension VMATree {
    /// Writes "VmSize:\t    1234 kB\n" (kB right-aligned in 8 columns).
    /// Linux: task_mem() → SEQ_PUT_DEC(" kB\nVmSize:\t", total_vm) (fs/proc/task_mmu.c)
    public func writeVmSize<Sink: TextSink>(to out: inout Sink) {
        out.write("VmSize:\t")
        out.write(Fmt.dec(totalVM << (pageShift - 10), width: 8))
        out.write(" kB\n")
    }
}
