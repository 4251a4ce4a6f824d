// The NUMA memory-policy system calls: mbind (237), set_mempolicy (238),
// get_mempolicy (239), migrate_pages (256) and move_pages (279), with Linux
// 6.1's checks in its order. Arguments are copied with UserCopy; the policy
// arithmetic is Kernel/Core/Memory/MemPolicy.swift, the page work
// Kernel/Memory/NUMAPolicy.swift.
// Linux: mm/mempolicy.c (kernel_mbind(), kernel_set_mempolicy(),
// kernel_get_mempolicy(), kernel_migrate_pages()), mm/migrate.c
// (kernel_move_pages())

enum MemPolicySyscalls {
    /// Linux: CAP_SYS_NICE (23), which MPOL_MF_MOVE_ALL and moving another
    /// task's pages to nodes it may not use need.
    static let capSysNice: UInt64 = 1 << 23

    private static var mayMoveAll: Bool { Scheduler.current.capabilities.effective & capSysNice != 0 }

    /// A node mask from user memory. Linux: get_nodes()
    private static func nodeMask(_ address: VirtAddr, maxnode: UInt64) throws(Errno) -> NodeMask {
        try MemPolicy.readNodeMask(maxnode: maxnode, present: address.value != 0) { (i) throws(Errno) -> UInt64 in
            guard let word = UserRange.end(of: address, length: UInt64(i) * 8) else { throw .EFAULT }
            return try UserCopy.read(UInt64.self, at: word)
        }
    }

    /// The task a pid names (0: the caller); ESRCH for none. Keel has one
    /// user, so the ptrace access check that follows in Linux (same uid)
    /// always passes. Linux: find_task_by_vpid() + ptrace_may_access()
    private static func targetTask(_ pid: Int) throws(Errno) -> Task {
        if pid == 0 { return Scheduler.current }
        guard pid > 0, let task = Task.lookup(pid: Int32(truncatingIfNeeded: pid)) else { throw .ESRCH }
        return task
    }

    /// `task`'s mm, referenced (the caller puts it); EINVAL for a task
    /// without memory (a kernel thread, a zombie). Linux: get_task_mm()
    private static func memory(of task: Task) throws(Errno) -> MM {
        guard let mm = task.mmReference() else { throw .EINVAL }
        return mm
    }

    /// set_mempolicy(mode, nmask, maxnode). Linux: kernel_set_mempolicy()
    static func setMempolicy(_ a: SyscallArgs) throws(Errno) -> Int {
        let (mode, flags) = try MemPolicy.sanitize(a.int(0))
        let nodes = try nodeMask(a.address(1), maxnode: a.u64(2))
        let policy = try MemPolicy.make(mode: mode, flags: flags, nodes: nodes, memory: NUMAPolicy.memsAllowed)
        NUMAPolicy.setTaskPolicy(policy)
        return 0
    }

    /// get_mempolicy(policy, nmask, maxnode, addr, flags).
    /// Linux: kernel_get_mempolicy() + do_get_mempolicy()
    static func getMempolicy(_ a: SyscallArgs) throws(Errno) -> Int {
        let policyOut = a.address(0), maskOut = a.address(1), maxnode = a.u64(2)
        if maskOut.value != 0 && maxnode < UInt64(NUMA.nodeCount) { throw .EINVAL }
        let task = Scheduler.current
        var word: Int32
        var nodes: NodeMask
        switch try MemPolicy.query(flags: a.u64(4), address: a.u64(3)) {
        case .memsAllowed:
            (word, nodes) = (0, NUMAPolicy.memsAllowed)
        case .policy(address: nil):
            (word, nodes) = (MemPolicy.modeWord(task.memPolicy), MemPolicy.reportedNodes(task.memPolicy))
        case .nextInterleaveNode:
            guard let policy = task.memPolicy, policy.mode == .interleave,
                  let next = policy.nextInterleaveNode(after: task.interleavePrevious) else { throw .EINVAL }
            (word, nodes) = (Int32(next), MemPolicy.reportedNodes(policy))
        case .policy(address: let address?), .nodeOfPage(address: let address):
            // A VMA without a policy answers MPOL_DEFAULT, not the task's.
            guard let mm = task.mm else { throw .EFAULT }
            let byNode = a.u64(4) & UInt64(MemPolicy.MPOL_F_NODE) != 0
            (word, nodes) = try mm.policyAnswer(at: VirtAddr(address), byNode: byNode)
        }
        if policyOut.value != 0 { try UserCopy.write(word, at: policyOut) }
        guard maskOut.value != 0 else { return 0 }
        let (copy, zero) = try MemPolicy.nodeMaskCopyOut(maxnode: maxnode, nodeIDs: NUMA.nodeCount)
        if zero > 0 {
            guard let tail = UserRange.end(of: maskOut, length: UInt64(copy)) else { throw .EFAULT }
            try UserCopy.copyOut(to: tail, [UInt8](repeating: 0, count: zero))
        }
        var raw = nodes.rawValue
        try withUnsafeBytes(of: &raw) { (bytes) throws(Errno) in
            try UserCopy.copyOut(to: maskOut, from: bytes.baseAddress!, count: min(copy, bytes.count))
        }
        return 0
    }

    /// mbind(start, len, mode, nmask, maxnode, flags). Linux: kernel_mbind() + do_mbind()
    static func mbind(_ a: SyscallArgs) throws(Errno) -> Int {
        let start = a.address(0)
        let (mode, modeFlags) = try MemPolicy.sanitize(a.int(2))
        let mask = try nodeMask(a.address(3), maxnode: a.u64(4))
        var flags = Int(UInt32(truncatingIfNeeded: a.u64(5)))
        guard flags & ~MemPolicy.MPOL_MF_VALID == 0 else { throw .EINVAL }
        if flags & MemPolicy.MPOL_MF_MOVE_ALL != 0 && !mayMoveAll { throw .EPERM }
        guard start.isPageAligned else { throw .EINVAL }
        if mode == MemPolicy.MPOL_DEFAULT { flags &= ~MemPolicy.MPOL_MF_STRICT }
        // len rounds up to pages; a length that wraps rounds to 0. Linux: PAGE_ALIGN(len)
        let length = (a.u64(1) &+ (pageSize - 1)) & ~(pageSize - 1)
        let end = start.value &+ length
        guard end >= start.value else { throw .EINVAL }
        guard end != start.value else { return 0 }
        let policy = try MemPolicy.make(mode: mode, flags: modeFlags, nodes: mask, memory: NUMAPolicy.memsAllowed)
        guard let mm = Scheduler.current.mm else { throw .EFAULT }
        try mm.mbind(start, VirtAddr(end), policy: policy, mask: mask, flags: flags)
        return 0
    }

    /// migrate_pages(pid, maxnode, old_nodes, new_nodes): how many pages
    /// could not be moved. Linux: kernel_migrate_pages()
    static func migratePages(_ a: SyscallArgs) throws(Errno) -> Int {
        let old = try nodeMask(a.address(2), maxnode: a.u64(1))
        var new = try nodeMask(a.address(3), maxnode: a.u64(1))
        let task = try targetTask(a.int(0))
        // The target's allowed nodes are the caller's: Keel has no cpusets.
        if !new.isSubset(of: NUMAPolicy.memsAllowed) && !mayMoveAll { throw .EPERM }
        new = new.intersection(NUMAPolicy.memsAllowed)
        guard !new.isEmpty else { throw .EINVAL }
        let mm = try memory(of: task)
        defer { mm.put() }
        return mm.migrateNodes(from: old, to: new, all: mayMoveAll)
    }

    /// move_pages(pid, count, pages, nodes, status, flags): with `nodes`,
    /// moves each page to its node and returns how many did not move; without,
    /// reports each page's node. Per-page answers go to `status`.
    /// Linux: kernel_move_pages() → do_pages_move() / do_pages_stat()
    static func movePages(_ a: SyscallArgs) throws(Errno) -> Int {
        let count = a.u64(1), pages = a.address(2), nodes = a.address(3), status = a.address(4)
        let flags = a.int(5)
        guard flags & ~(MemPolicy.MPOL_MF_MOVE | MemPolicy.MPOL_MF_MOVE_ALL) == 0 else { throw .EINVAL }
        if flags & MemPolicy.MPOL_MF_MOVE_ALL != 0 && !mayMoveAll { throw .EPERM }
        let mm = try memory(of: try targetTask(a.int(0)))
        defer { mm.put() }
        if nodes.value == 0 { return try pagesStatus(mm, count: count, pages: pages, status: status) }
        return try pagesMove(mm, count: count, pages: pages, nodes: nodes, status: status,
                             all: flags & MemPolicy.MPOL_MF_MOVE_ALL != 0)
    }

    /// Element `i` of a user array of `size`-byte elements at `base`; EFAULT
    /// where it would leave user space.
    private static func element(_ base: VirtAddr, _ i: UInt64, size: UInt64) throws(Errno) -> VirtAddr {
        let (offset, overflow) = i.multipliedReportingOverflow(by: size)
        guard !overflow, let address = UserRange.end(of: base, length: offset) else { throw .EFAULT }
        return address
    }

    /// Linux: do_pages_stat() (16 pages a round) → do_pages_stat_array()
    private static func pagesStatus(_ mm: MM, count: UInt64, pages: VirtAddr, status: VirtAddr) throws(Errno) -> Int {
        let chunk: UInt64 = 16
        var done: UInt64 = 0
        var answers = InlineArray<16, Int32>(repeating: 0)
        var addresses = InlineArray<16, UInt64>(repeating: 0)
        while done < count {
            let n = Int(min(chunk, count - done))
            for i in 0..<n { addresses[i] = try UserCopy.read(UInt64.self, at: try element(pages, done + UInt64(i), size: 8)) }
            mm.mmapLock.withRead {
                for i in 0..<n {
                    switch mm.userPage(at: VirtAddr(addresses[i])) {
                    case .success(let frame): answers[i] = Int32(NUMAPolicy.node(of: frame))
                    case .failure(let errno): answers[i] = -errno.rawValue
                    }
                }
            }
            for i in 0..<n { try UserCopy.write(answers[i], at: try element(status, done + UInt64(i), size: 4)) }
            done += UInt64(n)
        }
        return 0
    }

    /// Linux: do_pages_move() (its batches per target node made one batch
    /// of up to NUMAPolicy.migrationBatch pages)
    private static func pagesMove(_ mm: MM, count: UInt64, pages: VirtAddr, nodes: VirtAddr, status: VirtAddr,
                                  all: Bool) throws(Errno) -> Int {
        try IsolationBatch.with { (pending: inout IsolationBatch) throws(Errno) -> Int in
            var failed = 0
            // Moves the isolated pages; each one's status is the node asked
            // for, moved or not (the count says how many did not). Linux:
            // move_pages_and_store_status()
            func flush() throws(Errno) {
                defer { pending.removeAll() }
                var firstError: Errno? = nil
                failed += pending.migrate()
                for page in pending.pages {
                    do throws(Errno) {
                        try UserCopy.write(Int32(page.choice.preferred), at: try element(status, UInt64(page.index), size: 4))
                    } catch {
                        firstError = firstError ?? error
                    }
                }
                if let firstError { throw firstError }
            }
            do throws(Errno) {
                for i in 0..<count {
                    let address = try UserCopy.read(UInt64.self, at: try element(pages, i, size: 8))
                    let node = Int(try UserCopy.read(Int32.self, at: try element(nodes, i, size: 4)))
                    guard node >= 0, node < MemPolicy.maxNumNodes, NUMA.online.contains(node) else { throw .ENODEV }
                    guard NUMAPolicy.memsAllowed.contains(node) else { throw .EACCES }
                    let answer = mm.mmapLock.withRead {
                        mm.isolateForMove(VirtAddr(address), to: node, all: all, index: Int(i), into: &pending)
                    }
                    if let answer { try UserCopy.write(answer, at: try element(status, i, size: 4)) }
                    if pending.isFull { try flush() }
                    if Signals.fatalPending(Scheduler.current) { break }
                }
            } catch {
                // The pages already taken still move before the error returns. Linux: out_flush
                try flush()
                throw error
            }
            try flush()
            return failed
        }
    }
}
