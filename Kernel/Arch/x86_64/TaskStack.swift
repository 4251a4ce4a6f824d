// Preparing a new task's kernel stack so that the first switch_to into it
// "returns" to user mode. Layout, from the top of the stack down:
//
//   InterruptFrame (176 bytes)   the user registers it starts with (isr_exit pops them)
//   SSE save area (512 bytes)    a clean FPU/SSE state (loaded at the first switch; isr_exit restores its XMM and MXCSR)
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

    /// Where the entry code saved (or isr_exit restores) the task's user SSE state:
    /// just below its InterruptFrame, 16-byte aligned.
    static func sseArea(of task: Task) -> UInt64 {
        ((task.kernelStack.top - UInt64(InterruptFrame.byteSize)) & ~15) - 512
    }

    /// Makes a task's saved user FPU area a full FXSAVE image. A system call saved
    /// only the XMM registers and MXCSR there (Boot/syscall.S); the x87 registers,
    /// which the kernel never changes, are still the user's in the CPU, so a live
    /// fxsave supplies them (bytes 0..<160 of the image but MXCSR and its mask at
    /// 24..<32: the live MXCSR is the kernel's). Call it while the task's
    /// state is the live one: before switching away from it, before a fork copies
    /// it, before a signal frame saves it. Linux: save_fpregs_to_fpstate()
    static func completeUserFPUState(_ task: Task) {
        guard task.mm != nil else { return }          // kernel threads have no user state
        let area = UnsafeMutableRawPointer(bitPattern: UInt(sseArea(of: task)))!
        // On the stack: this runs in the context switch, which must not allocate.
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { scratch in
            cpu_fxsave(scratch.baseAddress!)
            _ = memcpy(area, scratch.baseAddress!, 24)
            _ = memcpy(area + 32, scratch.baseAddress! + 32, 160 - 32)
        }
    }

    /// Loads a task's saved user FPU state into the CPU (x87 and XMM), as it is
    /// switched in; MXCSR stays the kernel's until the way back to user mode
    /// restores the saved one. Linux: restore_fpregs_from_fpstate()
    static func loadUserFPUState(_ task: Task) {
        guard task.mm != nil else { return }
        cpu_fxrstor(UnsafeRawPointer(bitPattern: UInt(sseArea(of: task)))!)
        cpu_load_kernel_mxcsr()
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
