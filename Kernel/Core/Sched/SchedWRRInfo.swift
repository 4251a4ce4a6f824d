// /proc/sched_wrr: Keel's window on WRR placement and balancing (Linux has no
// such file). One block per CPU, in the order given; the format is stable so
// user-space tests can parse it:
//
//   cpu0 total_weight=30 nr_wrr=3 nr_running=4 curr=7
//         pid    tgid weight slice_ms
//           7       7     10      100
//           9       7     10      100
//          12      12     10      100
//
// The header carries the CPU's total WRR weight, its WRR task count, its
// runnable task count of all classes, and the pid of the running task ("-"
// while idle). Then a column header and one row per WRR task in run order (the
// running one first if it is a WRR task), its slice left in milliseconds.

extension Collection where Element == RunQueue {
    /// Writes /proc/sched_wrr. Keel: show_sched_wrr()
    public func writeSchedWRR<Pool: SchedEntityPool, Sink: TextSink>(in pool: Pool, to out: inout Sink) {
        for rq in self {
            out.write("cpu")
            out.write(Fmt.dec(rq.cpu))
            out.write(" total_weight=")
            out.write(Fmt.dec(rq.totalWeight))
            out.write(" nr_wrr=")
            out.write(Fmt.dec(rq.nrWRR))
            out.write(" nr_running=")
            out.write(Fmt.dec(rq.nrRunning))
            out.write(" curr=")
            if let c = rq.current { out.write(Fmt.dec(pool[entity: c].pid)) } else { out.write("-") }
            out.write("\n      pid    tgid weight slice_ms\n")
            rq.forEachWRR(in: pool) { i in
                let e = pool[entity: i]
                out.write("  ")
                out.write(Fmt.dec(e.pid, width: 7))
                out.write(" ")
                out.write(Fmt.dec(e.tgid, width: 7))
                out.write(" ")
                out.write(Fmt.dec(e.weight.value, width: 6))
                out.write(" ")
                out.write(Fmt.dec(e.timeSlice * rq.tunables.tickMilliseconds, width: 8))
                out.write("\n")
            }
        }
    }
}
