// fork: a new process that is a copy of the caller. The copy of memory is lazy:
// both processes map the same frames, private writable pages become read-only
// in both with each frame's map count raised, and the first write to such a
// page takes a copy-on-write fault (Kernel/Process/HandleMMFault.swift).
// Linux: kernel/fork.c kernel_clone() → copy_process(), dup_mmap(), copy_page_range()

enum Fork {
    /// Linux: kernel_clone() for fork/vfork/clone(SIGCHLD). Returns the child's pid.
    static func fork(frame: InterruptFrame, childStack: UInt64 = 0) throws(Errno) -> Int32 {
        let parent = Scheduler.current
        guard let parentMM = parent.mm else { throw .EINVAL }
        guard let pid = Task.allocatePID() else { throw .EAGAIN }
        guard let stack = KernelStacks.allocate() else { throw .ENOMEM }
        guard let mm = parentMM.duplicate() else {
            KernelStacks.free(stack)
            throw .ENOMEM
        }
        let child = Task(pid: pid, tgid: pid, name: parent.name, kernelStack: stack)
        child.mm = mm
        child.parent = parent
        child.files = parent.files.copy()
        child.fs = parent.fs.copy()
        child.fsBase = parent.fsBase
        child.signals = parent.signals.copy()
        child.blockedSignals = parent.blockedSignals
        var childFrame = frame
        childFrame.rax = 0                              // fork returns 0 in the child
        if childStack != 0 { childFrame.rsp = childStack }
        child.savedSP.pointee = TaskStack.prepareReturnToUser(child, frame: childFrame, sseFrom: parent)
        parent.children.append(child)
        Task.register(child)
        Scheduler.admit(child, like: Scheduler.entities[Int(parent.entity)])
        return pid
    }
}

extension AddressSpace {
    /// A copy-on-write copy of this address space. Linux: dup_mmap() + copy_page_range()
    func duplicate() -> AddressSpace? {
        guard let child = AddressSpace() else { return nil }
        child.vmas = vmas                               // VMATree is a value: one array copy
        for vma in vmas where vma.flags.contains(.dontCopy) {
            _ = try? child.vmas.unmapRange(vma.start, vma.end)
        }
        child.layout = layout
        child.startCode = startCode; child.endCode = endCode
        child.startData = startData; child.endData = endData
        child.startBrk = startBrk; child.brk = brk; child.startStack = startStack

        var leaves: [PageTableLeaf] = []
        pageTable.forEachLeaf(in: VirtAddr(0)..<VirtAddr(layout.taskSize)) { leaves.append($0) }
        for leaf in leaves {
            guard let vma = vmas.findVMA(leaf.virt), vma.contains(leaf.virt), !vma.flags.contains(.dontCopy) else { continue }
            var flags = leaf.entry.flags
            flags.remove([.accessed, .dirty])
            if !vma.flags.contains(.shared) && flags.contains(.writable) {
                flags.remove(.writable)
                _ = try? pageTable.protect(leaf.virt, flags: flags)
            }
            guard child.mapPage(leaf.virt, leaf.entry.frame, flags: flags) else { return nil }
        }
        if isActive { write_cr3(read_cr3()) }           // the parent's writable TLB entries must go
        return child
    }
}
