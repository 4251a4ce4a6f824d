// The #PF entry point: user faults go to the task's address space; a kernel
// fault on a user address during a user copy becomes EFAULT through the
// exception table; anything else the kernel did wrong is a panic.
// Linux: arch/x86/mm/fault.c exc_page_fault(), do_user_addr_fault()

enum PageFaultHandler {
    static func handle(_ frame: UnsafeMutablePointer<InterruptFrame>, address: UInt64) {
        let error = PageFaultErrorCode(rawValue: frame.pointee.errorCode)
        let fromUser = frame.pointee.isUserMode
        let task = Scheduler.current
        if address < KernelLayout.taskSize, let mm = task.mm, !error.contains(.reservedBit) {
            let kind: FaultAccess.Kind = error.contains(.instructionFetch) ? .execute : error.contains(.write) ? .write : .read
            switch mm.handleFault(at: VirtAddr(address), access: FaultAccess(kind, fromUserMode: fromUser)) {
            case .resolved:
                return
            case .outOfMemory:
                switch OOMKiller.outOfMemory(faulting: task) {
                case .retry:
                    return                       // the instruction runs again once the victim is gone
                case .killed:
                    if fromUser { return }       // the fatal signal is acted on on the way out
                }                                // in a user copy: EFAULT below, then the task dies
            case .segv(let cause):
                if fromUser {
                    if Signals.unhandled(Signal.SIGSEGV, by: task) { logSegfault(task, frame.pointee, address: address, error: error) }
                    Signals.force(Signal.SIGSEGV, info: SignalFrame.Info(code: cause.siCode, address: address), on: task)
                    return
                }
            }
        }
        if !fromUser {
            if let fixup = UserCopy.fixup(forFaultAt: frame.pointee.rip) {
                frame.pointee.rip = fixup        // the copy returns "bytes left": EFAULT
                return
            }
            Panic.exception(.pageFault, frame: frame.pointee, cr2: address)
        }
        // A user access to the kernel half, or with reserved bits: no VMA could help.
        if Signals.unhandled(Signal.SIGSEGV, by: task) { logSegfault(task, frame.pointee, address: address, error: error) }
        Signals.force(Signal.SIGSEGV, info: SignalFrame.Info(code: 1, address: address), on: task)
    }

    /// Linux's show_signal_msg(): `name[pid]: segfault at ADDR ip IP sp SP error CODE in FILE[START+SIZE]`
    private static func logSegfault(_ task: Task, _ frame: InterruptFrame, address: UInt64, error: PageFaultErrorCode) {
        var line = "\(task.name)[\(task.pid)]: segfault at \(Fmt.hex(address)) ip \(Fmt.hex(frame.rip, digits: 16))"
        line += " sp \(Fmt.hex(frame.rsp, digits: 16)) error \(Fmt.hex(error.rawValue))"
        if let mm = task.mm, let vma = mm.vmas.findVMA(VirtAddr(frame.rip)), vma.contains(VirtAddr(frame.rip)),
           case .file(let file, _) = vma.backing, let inode = MappedFiles.inode(file) {
            line += " in \(FS.path(of: inode).split(separator: "/").last.map(String.init) ?? "?")"
            line += "[\(Fmt.hex(vma.start.value))+\(Fmt.hex(vma.end - vma.start))]"
        }
        Log.notice(line)     // Linux uses KERN_INFO; Keel shows it at its default loglevel
    }
}
