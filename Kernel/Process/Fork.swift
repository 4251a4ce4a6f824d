// fork and clone: a new task that starts as a copy of the caller. For a new
// process the copy of memory is lazy: both processes map the same frames,
// private writable pages become read-only in both with each frame's map count
// raised, and the first write to such a page takes a copy-on-write fault
// (Kernel/Process/HandleMMFault.swift). A new thread (CLONE_VM | CLONE_THREAD)
// shares the address space, files and signal handlers instead.
// Linux: kernel/fork.c kernel_clone() → copy_process(), dup_mmap(), copy_page_range()

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
        guard Scheduler.canAdmit, let pid = Task.allocatePID() else { throw .EAGAIN }
        guard let kernelStack = KernelStacks.allocate() else { throw .ENOMEM }
        let mm: AddressSpace
        if flags.contains(.vm) {
            mm = parentMM
        } else {
            guard let copy = parentMM.duplicate() else {
                KernelStacks.free(kernelStack)
                throw .ENOMEM
            }
            mm = copy
        }
        let isThread = flags.contains(.thread)
        let child = Task(pid: pid, tgid: isThread ? parent.tgid : pid, name: parent.name, kernelStack: kernelStack)
        child.mm = mm
        child.files = flags.contains(.files) ? parent.files : parent.files.copy()
        child.fs = flags.contains(.fs) ? parent.fs : parent.fs.copy()
        child.signals = flags.contains(.sighand) ? parent.signals : parent.signals.copy()
        child.blockedSignals = parent.blockedSignals
        child.fsBase = flags.contains(.settls) ? tls : parent.fsBase
        if flags.contains(.childCleartid) { child.clearChildTID = childTID }

        var childFrame = frame
        childFrame.rax = 0                              // clone returns 0 in the child
        if stack != 0 { childFrame.rsp = stack }
        child.savedSP.pointee = TaskStack.prepareReturnToUser(child, frame: childFrame, sseFrom: parent)

        let leader = parent.groupLeader ?? parent
        if isThread {
            child.groupLeader = leader
            child.parent = leader.parent
            leader.threads.append(child)
        } else {
            child.threads = [child]
            let adopter = flags.contains(.parent) ? (leader.parent ?? leader) : leader
            child.parent = adopter
            adopter.children.append(child)
        }
        Task.register(child)
        // Linux ignores a failed store here (put_user() in kernel_clone()): so does Keel.
        if flags.contains(.parentSettid) { try? UserCopy.write(pid, at: parentTID) }
        if flags.contains(.childSettid) { _ = withUnsafeBytes(of: pid) { mm.write($0, at: childTID) } }
        Scheduler.admit(child, like: Scheduler.entities[Int(parent.entity)])
        if flags.contains(.vfork) {
            // Linux: wait_for_vfork_done(), killable
            child.vforkParent = parent
            while child.vforkParent != nil && !Signals.fatalPending(parent) { Scheduler.sleep() }
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
        Scheduler.wake(parent)
    }
}

extension AddressSpace {
    /// A copy-on-write copy of this address space. Linux: dup_mmap() + copy_page_range()
    func duplicate() -> AddressSpace? {
        guard let child = AddressSpace() else { return nil }
        child.vmas = vmas                               // VMATree is a value: one array copy
        child.sharedObjects = sharedObjects
        for id in sharedObjects { SharedMemory.get(id) }
        for vma in vmas where vma.flags.contains(.dontCopy) {
            _ = try? child.vmas.unmapRange(vma.start, vma.end)
        }
        child.layout = layout
        child.startCode = startCode; child.endCode = endCode
        child.startData = startData; child.endData = endData
        child.startBrk = startBrk; child.brk = brk; child.startStack = startStack

        var frames = KernelFrameAllocator()
        var copied = 0
        var region: VMA? = nil                          // consecutive pages share a VMA
        do {
            try pageTable.copyLeaves(VirtAddr(0)..<VirtAddr(layout.taskSize), into: child.pageTable,
                                     allocator: &frames) { leaf in
                if region == nil || !region!.contains(leaf.virt) { region = vmas.findVMA(leaf.virt) }
                guard let vma = region, vma.contains(leaf.virt), !vma.flags.contains(.dontCopy) else { return (nil, nil) }
                var flags = leaf.entry.flags
                flags.remove([.accessed, .dirty])
                var parentEntry: PageTableEntry? = nil
                if !vma.flags.contains(.shared) && flags.contains(.writable) {
                    flags.remove(.writable)      // copy-on-write: read-only on both sides
                    parentEntry = PageTableEntry(frame: leaf.entry.frame, flags: leaf.entry.flags.subtracting(.writable))
                }
                if leaf.entry.frame != ZeroPage.frame {
                    PageAllocator.page(leaf.entry.frame).pointee.mapcount += 1
                    copied += 1
                }
                return (PageTableEntry(frame: leaf.entry.frame, flags: flags), parentEntry)
            }
        } catch {
            child.rssPages = copied
            return nil
        }
        child.rssPages = copied
        flush(VirtAddr(0), VirtAddr(layout.taskSize))  // the parent's writable TLB entries must go
        return child
    }
}
