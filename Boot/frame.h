/*
 * Saving and restoring the general-purpose registers of an InterruptFrame
 * (Kernel/Core/Debug/InterruptFrame.swift): interrupts (isr.S) and system
 * calls (syscall.S) build the same frame, Linux's struct pt_regs.
 * Pushed rax first, so r15 ends at the lowest address.
 */
.macro PUSH_GENERAL_REGISTERS
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
.endm

.macro POP_GENERAL_REGISTERS
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
.endm

/*
 * The user's XMM registers, at their places in an FXSAVE image (XMM0 at byte
 * 160) in the 512-byte area below the frame. A system call saves only these:
 * the kernel's Swift code uses XMM registers but never x87 or MXCSR, which stay
 * live in the CPU (the scheduler saves them on a context switch).
 */
.macro SAVE_XMM_REGISTERS base
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    movaps  %xmm\n, 160+16*\n(\base)
    .endr
.endm

.macro RESTORE_XMM_REGISTERS base
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    movaps  160+16*\n(\base), %xmm\n
    .endr
.endm
