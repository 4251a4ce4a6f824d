// Preparing a new task's kernel stack so that the first switch_to into it
// "returns" to user mode. Layout, from the top of the stack down:
//
//   InterruptFrame (176 bytes)   the user registers it starts with (isr_exit pops them)
//   FPU save area (512 bytes)    an FXSAVE image: the user FPU/SSE state while the task is switched out
//   switch_to frame (7 words)    r15 r14 r13 r12, rbx = &InterruptFrame, rbp = 0, return = ret_from_fork
//
// Linux: copy_thread() and ret_from_fork

enum TaskStack {
    /// Fills in the stack and returns the stack pointer for switch_to. The FPU/SSE
    /// state is a copy of `sseFrom`'s saved user state (fork), or a fresh one.
    static func prepareReturnToUser(_ task: Task, frame: InterruptFrame, sseFrom parent: Task? = nil) -> UInt64 {
        let frameAddress = task.kernelStack.top - UInt64(InterruptFrame.byteSize)
        task.userFrame.initialize(to: frame)
        let sse = sseArea(of: task)
        if let parent {
            completeUserFPUState(parent)
            _ = memcpy(UnsafeMutableRawPointer(bitPattern: UInt(sse))!,
                       UnsafeRawPointer(bitPattern: UInt(sseArea(of: parent)))!, 512)
        } else {
            initializeSSEState(at: sse)
        }
        let words = UnsafeMutablePointer<UInt64>(bitPattern: UInt(sse - 7 * 8))!
        words[0] = 0; words[1] = 0; words[2] = 0; words[3] = 0     // r15..r12
        words[4] = frameAddress                                    // rbx
        words[5] = 0                                               // rbp: call traces end here
        words[6] = symbol_ret_from_fork()                          // switch_to's ret
        return sse - 7 * 8
    }

    /// Where a switched-out task's user FPU state is kept: the 512 bytes the entry
    /// code reserves just below its InterruptFrame, 16-byte aligned.
    static func sseArea(of task: Task) -> UInt64 {
        ((task.kernelStack.top - UInt64(InterruptFrame.byteSize)) & ~15) - 512
    }

    /// Saves the CPU's FPU/SSE registers, which are the running task's user
    /// state (the kernel never touches them: it is compiled without SSE or x87),
    /// into the task's save area. Call it on the running task: before switching
    /// away from it, before a fork copies it, before a signal frame saves it.
    /// Linux: save_fpregs_to_fpstate()
    static func completeUserFPUState(_ task: Task) {
        guard task.mm != nil else { return }          // kernel threads have no user state
        cpu_fxsave(UnsafeMutableRawPointer(bitPattern: UInt(sseArea(of: task)))!)
    }

    /// Loads a task's saved user FPU state into the CPU: as it is switched in, and
    /// after execve, a signal delivery or rt_sigreturn rewrote the save area of the
    /// running task. Linux: restore_fpregs_from_fpstate()
    static func loadUserFPUState(_ task: Task) {
        guard task.mm != nil else { return }
        cpu_fxrstor(UnsafeRawPointer(bitPattern: UInt(sseArea(of: task)))!)
    }

    /// The MXCSR bits this CPU implements (from an FXSAVE image's MXCSR_MASK; a
    /// zero there means the default 0xffbf, Intel SDM 11.6.6). Linux: mxcsr_feature_mask
    static var mxcsrFeatureMask: UInt32 {
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { scratch in
            cpu_fxsave(scratch.baseAddress!)
            let mask = scratch.baseAddress!.load(fromByteOffset: 28, as: UInt32.self)
            return mask == 0 ? 0xffbf : mask
        }
    }

    /// The state a fresh process's FPU and SSE units start in (Linux: fpstate_init):
    /// x87 control word 0x37f, MXCSR 0x1f80, everything else zero.
    static func initializeSSEState(at address: UInt64) {
        let area = UnsafeMutableRawPointer(bitPattern: UInt(address))!
        _ = memset(area, 0, 512)
        area.storeBytes(of: UInt16(0x037f), toByteOffset: 0, as: UInt16.self)
        area.storeBytes(of: UInt32(0x1f80), toByteOffset: 24, as: UInt32.self)
    }
}
