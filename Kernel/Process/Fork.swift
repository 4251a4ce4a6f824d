// fork and clone: a new task that starts as a copy of the caller. For a new
// process the copy of memory is lazy: both processes map the same frames,
// private writable pages become read-only in both with each frame's map count
// raised, and the first write to such a page takes a copy-on-write fault
// (Kernel/Memory/PageFault.swift). The copy itself is MM.duplicate()
// (Kernel/Memory/MM.swift). A new thread (CLONE_VM | CLONE_THREAD) shares the
// mm, files and signal handlers instead.
// Linux: kernel/fork.c kernel_clone() → copy_process() → copy_mm()

import Synchronization

/// clone() flags. Linux: include/uapi/linux/sched.h
struct CloneFlags: OptionSet {
    let rawValue: UInt64
    static let vm = CloneFlags(rawValue: 0x100)
    static let fs = CloneFlags(rawValue: 0x200)
    static let files = CloneFlags(rawValue: 0x400)
    static let sighand = CloneFlags(rawValue: 0x800)
    static let vfork = CloneFlags(rawValue: 0x4000)
    static let parent = CloneFlags(rawValue: 0x8000)
    static let thread = CloneFlags(rawValue: 0x1_0000)
    static let sysvsem = CloneFlags(rawValue: 0x4_0000)
    static let settls = CloneFlags(rawValue: 0x8_0000)
    static let parentSettid = CloneFlags(rawValue: 0x10_0000)
    static let childCleartid = CloneFlags(rawValue: 0x20_0000)
    static let detached = CloneFlags(rawValue: 0x40_0000)
    static let childSettid = CloneFlags(rawValue: 0x100_0000)
    /// The low byte: the signal the parent gets when the child exits. Linux: CSIGNAL
    static let exitSignalMask: UInt64 = 0xff
    static let supported: CloneFlags = [.vm, .fs, .files, .sighand, .vfork, .parent, .thread, .sysvsem, .settls,
                                        .parentSettid, .childCleartid, .detached, .childSettid]
}

enum Fork {
    /// Tries at copying the parent's memory, with reclaim between them.
    static let copyAttempts = 4

    /// Linux: kernel_clone(). Returns the child's pid (its tid, for a thread).
    static func clone(_ flags: CloneFlags, frame: InterruptFrame, stack: UInt64 = 0, parentTID: VirtAddr = VirtAddr(0),
                      childTID: VirtAddr = VirtAddr(0), tls: UInt64 = 0) throws(Errno) -> Int32 {
        // Linux: the consistency checks at the top of copy_process()
        if flags.contains(.thread) && !flags.contains(.sighand) { throw .EINVAL }
        if flags.contains(.sighand) && !flags.contains(.vm) { throw .EINVAL }
        // Linux: copy_thread()'s check of the TLS like arch_prctl(ARCH_SET_FS)
        if flags.contains(.settls) && tls >= KernelLayout.taskSize { throw .EPERM }
        let parent = Scheduler.current
        guard let parentMM = parent.mm else { throw .EINVAL }
        guard Scheduler.reserveEntity() else { throw .EAGAIN }
        guard let pid = Task.allocatePID() else {
            Scheduler.cancelReservation()
            throw .EAGAIN
        }
        guard let kernelStack = KernelStacks.allocate() else {
            Task.releasePID(pid)
            Scheduler.cancelReservation()
            throw .ENOMEM
        }
        var copied: MM? = nil
        if flags.contains(.vm) {
            parentMM.get()                              // Linux: mmget() in copy_mm()
            copied = parentMM
        } else {
            // The copy's page tables and descriptors come from the page
            // allocator: when they cannot, reclaim (swap, the page cache) and
            // try again before fork fails with ENOMEM. Linux: the direct
            // reclaim of each GFP_KERNEL allocation in dup_mmap()
            for _ in 0..<Self.copyAttempts where copied == nil {
                do {
                    copied = try parentMM.mmapLock.withWrite { () throws(MM.DuplicateFailure) in try parentMM.duplicate() }
                } catch {
                    error.partial?.put()                // after the parent's mmap_lock: it takes the copy's
                    if Vmscan.tryToFreePages() == 0 { break }
                }
            }
        }
        guard let mm = copied else {
            KernelStacks.free(kernelStack)
            Task.releasePID(pid)
            Scheduler.cancelReservation()
            throw .ENOMEM
        }
        let isThread = flags.contains(.thread)
        let child = Task(pid: pid, tgid: isThread ? parent.tgid : pid, name: parent.name, kernelStack: kernelStack)
        child.mm = mm
        child.files = flags.contains(.files) ? parent.files : parent.files.copy()
        child.fs = flags.contains(.fs) ? parent.fs : parent.fs.copy()
        child.signals = flags.contains(.sighand) ? parent.signals : parent.signals.copy()
        child.blockedSignals = parent.blockedSignals
        child.capabilities = parent.capabilities          // the parent's own: no lock. Linux: copy_creds()
        child.noNewPrivileges = parent.noNewPrivileges
        child.memPolicy = parent.memPolicy              // the parent's own: no lock. Linux: mpol_dup()
        child.interleavePrevious = parent.interleavePrevious
        child.fsBase = flags.contains(.settls) ? tls : parent.fsBase
        // A thread sharing the memory must not share the stack. Linux: sas_ss_reset() in copy_process()
        if !flags.contains(.vm) || flags.contains(.vfork) { child.signalStack = parent.signalStack }
        if flags.contains(.childCleartid) { child.clearChildTID = childTID }
        if flags.contains(.vfork) { child.vforkParent = parent }       // before the child can run

        var childFrame = frame
        childFrame.rax = 0                              // clone returns 0 in the child
        if stack != 0 { childFrame.rsp = stack }
        child.savedSP.pointee = TaskStack.prepareReturnToUser(child, frame: childFrame, sseFrom: parent)

        // Linux: the tasklist_lock section of copy_process()
        Task.tasklistLock.lock()
        let leader = parent.groupLeader ?? parent
        if isThread {
            child.groupLeader = leader
            child.parent = leader.parent
            leader.threads.append(child)
        } else {
            child.threads = [child]
            child.pgid = leader.pgid                    // Linux: copy_process() attaches PIDTYPE_PGID/SID
            child.sid = leader.sid
            child.oomScoreAdj = leader.oomScoreAdj      // Linux: copy_signal()
            let adopter = flags.contains(.parent) ? (leader.parent ?? leader) : leader
            child.parent = adopter
            adopter.children.append(child)
        }
        Task.registerLocked(child)
        Task.tasklistLock.unlock()
        if flags.contains(.parentSettid) {
            do { try UserCopy.write(pid, at: parentTID) } catch {
                // Linux ignores a failed put_user() here (kernel_clone()): the child exists.
            }
        }
        if flags.contains(.childSettid) { _ = withUnsafeBytes(of: pid) { mm.write($0, at: childTID) } }
        Scheduler.admit(child, like: Scheduler.entities[Int(parent.entity)])
        if flags.contains(.vfork) {
            // Linux: wait_for_vfork_done(), killable
            while !Scheduler.sleep(unless: { child.vforkDone.load(ordering: .acquiring) || Signals.fatalPending(parent) }) {}
        }
        return pid
    }
}

extension Task {
    /// The vfork parent may run again: this task no longer uses its memory (it
    /// exec'd or is exiting). Linux: mm_release() → complete_vfork_done()
    func completeVforkDone() {
        guard let parent = vforkParent else { return }
        vforkParent = nil
        vforkDone.store(true, ordering: .releasing)
        Scheduler.wake(parent)
    }
}
