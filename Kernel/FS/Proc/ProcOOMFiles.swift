// /proc/<pid>/oom_score, oom_score_adj and oom_adj: how the OOM killer sees a
// process, and the knob that moves it (Kernel/Memory/OOMKill.swift). The
// adjustment belongs to the process (its threads share it); writing it through
// any thread's or the leader's directory changes it for all of them.
// Linux: fs/proc/base.c proc_oom_score(), oom_score_adj_read/write(),
// oom_adj_read/write(), __set_oom_adj()

import Synchronization

extension ProcPidFiles {
    /// The badness scaled into 0..2000: 0 for init and for a process that is
    /// never chosen (adj -1000) or has no memory. Linux: proc_oom_score()
    static func oomScore(_ task: Task) -> String {
        let total = OOMKiller.totalPages
        var badness: Int? = nil
        let leader = Task.tasklistLock.withLock { task.groupLeader ?? task }
        if leader.pid != 1, let mm = OOMKiller.processMM(leader) {
            let adj = OOMKiller.scoreAdj(leader)
            badness = mm.mmapLock.withRead { OOMKiller.badness(mm, adj: adj) }
            mm.put()
        }
        return String(OOMScore.procScore(badness: badness, totalPages: total)) + "\n"
    }
}

/// oom_score_adj (-1000..1000) or the legacy oom_adj (-17, -16..15), read and
/// written as text. A write's first 12 bytes hold the number, and the write
/// takes those 12 (a short count for a longer one), at any offset.
/// Linux: oom_score_adj_write(), oom_adj_write()
final class OOMAdjustFile: SpecialFile {
    enum Kind { case scoreAdj, legacy }

    private let pid: Int32
    private let kind: Kind
    /// The legacy file's deprecation warning is printed once per boot. Linux: pr_warn_once()
    private static let warnedLegacy = Atomic<Bool>(false)

    init(pid: Int32, kind: Kind) {
        self.pid = pid
        self.kind = kind
    }

    /// The process's leader (which keeps the adjustment), or ESRCH once it is gone.
    private func leader() throws(Errno) -> Task {
        guard let task = Task.lookup(pid: pid) else { throw .ESRCH }
        return Task.tasklistLock.withLock { task.groupLeader ?? task }
    }

    func open(flags: OpenFlags) throws(Errno) { _ = try leader() }

    /// "%d\n" from `offset` on. Linux: simple_read_from_buffer()
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        let adj = OOMKiller.scoreAdj(try leader())
        let text = Array(String(kind == .scoreAdj ? adj : OOMScore.legacyAdj(of: adj)).utf8) + [0x0a]
        guard offset < text.count else { return 0 }
        let count = min(buffer.count, text.count - offset)
        for i in 0..<count { buffer[i] = text[offset + i] }
        return count
    }

    /// Linux: oom_score_adj_write() / oom_adj_write() → __set_oom_adj()
    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        let number = try OOMScore.parseWrite(buffer)
        let adj: Int
        switch kind {
        case .scoreAdj:
            guard (OOMScore.adjMin...OOMScore.adjMax).contains(number) else { throw .EINVAL }
            adj = number
        case .legacy:
            adj = try OOMScore.adj(fromLegacy: number)
            let me = Scheduler.current
            if !Self.warnedLegacy.exchange(true, ordering: .relaxed) {
                Log.warning("\(me.commName) (\(me.tgid)): /proc/\(pid)/oom_adj is deprecated, "
                            + "please use /proc/\(pid)/oom_score_adj instead.")
            }
        }
        let target = try leader()
        Task.tasklistLock.withLock { target.oomScoreAdj = adj }
        return min(buffer.count, OOMScore.writeLength)
    }
}
