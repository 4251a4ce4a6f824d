// Running a user signal handler: the kernel saves the interrupted registers,
// signal mask and FPU state in a frame on the user stack, points rip at the
// handler and makes the handler "return" into sa_restorer, which calls
// rt_sigreturn to restore everything. Layout exactly as x86-64 Linux's
// (arch/x86/include/asm/sigframe.h, arch/x86/kernel/signal_64.c):
//
//   rt_sigframe:  +0 pretcode (sa_restorer)
//                 +8 ucontext: uc_flags, uc_link, uc_stack(24: ss_sp, ss_flags, ss_size),
//                              sigcontext(256), uc_sigmask
//               +312 siginfo (128 bytes)
//   above it, 64-byte aligned: the 512-byte fxsave image sigcontext.fpstate points to

enum SignalFrame {
    static let ucontextOffset = 8
    static let sigcontextOffset = ucontextOffset + 40
    static let sigmaskOffset = ucontextOffset + 296
    static let siginfoOffset = 312
    static let frameBytes = 440
    /// Fault details for siginfo (si_code, si_addr), set when a fault raises the signal.
    struct Info {
        var code: Int32 = 0
        var address: UInt64 = 0
        var senderPID: Int32 = 0
    }

    /// Linux: setup_rt_frame() → x64_setup_rt_frame()
    static func setUp(_ signal: Int32, action: SignalAction, frame: UnsafeMutablePointer<InterruptFrame>, task: Task) -> Bool {
        let regs = frame.pointee
        let (info, oldMask) = task.signals.lock.withLock { () -> (Info, UInt64) in
            let info = task.pendingSignalInfo[Int(signal)] ?? Info()
            task.pendingSignalInfo[Int(signal)] = nil
            // After ppoll, pselect6 or sigsuspend: the mask from before the
            // call comes back when the handler returns. Linux: sigmask_to_save()
            let saved = task.savedSignalMask ?? task.blockedSignals
            task.savedSignalMask = nil
            return (info, saved)
        }
        // Below the red zone, or at the top of the alternate stack. Linux: get_sigframe()
        let stack = task.signalStack
        let (top, entering) = stack.frameTop(sp: regs.rsp, onStack: action.flags & SignalAction.SA_ONSTACK != 0)
        let fpstate = (top &- 512) & ~63
        let base = ((fpstate &- UInt64(frameBytes) &+ 8) & ~15) &- 8   // rsp + 8 is 16-aligned, as after a call
        guard base > pageSize, base < KernelLayout.taskSize, stack.frameFits(base, sp: regs.rsp, entering: entering) else {
            return false
        }

        var bytes = [UInt8](repeating: 0, count: frameBytes)
        func put(_ value: UInt64, _ offset: Int) {
            for b in 0..<8 { bytes[offset + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(b))) }
        }
        put(action.restorer, 0)
        // uc_stack: the alternate stack as it was; rt_sigreturn restores it. Linux: __save_altstack()
        put(stack.base, ucontextOffset + 16)
        put(UInt64(UInt32(bitPattern: stack.flags(at: regs.rsp))), ucontextOffset + 24)
        put(stack.size, ucontextOffset + 32)
        let sc = sigcontextOffset
        let gprs: [UInt64] = [regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15,
                              regs.rdi, regs.rsi, regs.rbp, regs.rbx, regs.rdx, regs.rax, regs.rcx, regs.rsp,
                              regs.rip, regs.rflags]
        for (i, value) in gprs.enumerated() { put(value, sc + 8 * i) }
        put(regs.cs | regs.ss << 48, sc + 144)                          // cs, gs, fs, ss (16 bits each)
        put(regs.errorCode, sc + 152)
        put(regs.vector, sc + 160)
        put(oldMask, sc + 168)                                          // oldmask
        put(info.address, sc + 176)                                     // cr2
        put(fpstate, sc + 184)
        put(oldMask, sigmaskOffset)
        let si = siginfoOffset
        put(UInt64(UInt32(signal)), si)                                 // si_signo, si_errno = 0
        put(UInt64(UInt32(bitPattern: info.code)), si + 8)              // si_code
        put(info.address != 0 ? info.address : UInt64(UInt32(bitPattern: info.senderPID)), si + 16)

        TaskStack.completeUserFPUState(task)
        do {
            let sse = UnsafeRawPointer(bitPattern: UInt(TaskStack.sseArea(of: task)))!
            try UserCopy.copyOut(to: VirtAddr(fpstate), from: sse, count: 512)
            try UserCopy.copyOut(to: VirtAddr(base), bytes)
        } catch {
            return false
        }
        // The handler starts with a clean FPU state; rt_sigreturn brings the saved
        // one back. Linux: fpu__clear_user_states() in handle_signal()
        TaskStack.initializeSSEState(at: TaskStack.sseArea(of: task))
        TaskStack.loadUserFPUState(task)
        var blocked = oldMask | action.mask
        if action.flags & SignalAction.SA_NODEFER == 0 { blocked |= Signals.bit(signal) }
        task.signals.lock.withLock { task.blockedSignals = blocked & ~Signals.unblockable }

        if stack.autoDisarm { task.signalStack = SignalStack() }        // Linux: sas_ss_reset()
        frame.pointee.rip = action.handler
        frame.pointee.rsp = base
        frame.pointee.rdi = UInt64(signal)
        frame.pointee.rsi = base + UInt64(siginfoOffset)
        frame.pointee.rdx = base + UInt64(ucontextOffset)
        frame.pointee.rax = 0
        frame.pointee.rflags &= ~UInt64(0x0000_0500)                    // clear DF and TF
        frame.pointee.vector = InterruptFrame.rewrittenVector           // return with iretq: all registers matter
        return true
    }

    /// Linux: sys_rt_sigreturn() → restore_sigcontext()
    static func sigreturn(_ frame: UnsafeMutablePointer<InterruptFrame>) throws(Errno) -> Int {
        let task = Scheduler.current
        let base = frame.pointee.rsp &- 8                             // the handler's ret popped pretcode
        let bytes = try UserCopy.copyIn(from: VirtAddr(base), count: frameBytes)
        func get(_ offset: Int) -> UInt64 {
            (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        let sc = sigcontextOffset
        var regs = frame.pointee
        regs.r8 = get(sc); regs.r9 = get(sc + 8); regs.r10 = get(sc + 16); regs.r11 = get(sc + 24)
        regs.r12 = get(sc + 32); regs.r13 = get(sc + 40); regs.r14 = get(sc + 48); regs.r15 = get(sc + 56)
        regs.rdi = get(sc + 64); regs.rsi = get(sc + 72); regs.rbp = get(sc + 80); regs.rbx = get(sc + 88)
        regs.rdx = get(sc + 96); regs.rax = get(sc + 104); regs.rcx = get(sc + 112); regs.rsp = get(sc + 120)
        regs.rip = get(sc + 128)
        // Only the user-changeable flags come back (Linux: FIX_EFLAGS); IF stays on.
        let userFlags: UInt64 = 0x0000_0dd5 | 1 << 18 | 1 << 21
        regs.rflags = (regs.rflags & ~userFlags) | (get(sc + 136) & userFlags) | 0x200
        regs.cs = UInt64(GDT.userCode)
        regs.ss = UInt64(GDT.userData)
        regs.vector = InterruptFrame.rewrittenVector                    // iretq: restore rcx and r11 too
        guard regs.rip < KernelLayout.taskSize, regs.rsp < KernelLayout.taskSize else { throw .EFAULT }
        let fpstate = get(sc + 184)
        if fpstate != 0 {
            let sse = UnsafeMutableRawPointer(bitPattern: UInt(TaskStack.sseArea(of: task)))!
            try UserCopy.copyIn(sse, from: VirtAddr(fpstate), count: 512)
            // fxrstor faults on an MXCSR bit the CPU does not have: keep only the
            // ones it reports. Linux: mxcsr_feature_mask in __fpu_restore_sig()
            let mxcsr = sse.load(fromByteOffset: 24, as: UInt32.self) & TaskStack.mxcsrFeatureMask
            sse.storeBytes(of: mxcsr, toByteOffset: 24, as: UInt32.self)
            TaskStack.loadUserFPUState(task)
        }
        let restored = get(sigmaskOffset) & ~Signals.unblockable
        task.signals.lock.withLock { task.blockedSignals = restored }
        // The alternate stack as uc_stack says, if it may be replaced now: errors
        // are ignored, as Linux's restore_altstack() does.
        let uc = ucontextOffset
        if let stack = try? task.signalStack.replaced(base: get(uc + 16), flags: Int32(truncatingIfNeeded: get(uc + 24)),
                                                       size: get(uc + 32), at: frame.pointee.rsp) {
            task.signalStack = stack
        }
        frame.pointee = regs
        return Int(Int64(bitPattern: regs.rax))
    }
}
