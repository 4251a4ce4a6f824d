/*
 * The `syscall` instruction lands here (MSR_LSTAR). Linux: entry_SYSCALL_64
 *
 * The CPU has put the user rip in rcx and rflags in r11, masked rflags
 * (interrupts off) and switched to ring 0, but left rsp on the user stack.
 * We swap GS to reach this CPU's data, switch to the task's kernel stack and
 * build the same InterruptFrame an interrupt would (Linux: pt_regs), with the
 * system call number in the error-code slot (Linux: orig_ax) and vector 256.
 * Then keel_syscall(frame) runs with interrupts on; its result is in frame.rax.
 *
 * Per-CPU data at %gs (Kernel/Arch/x86_64/PerCPU.swift):
 *   0x08 kernel stack top of the running task, 0x10 scratch for the user rsp.
 */
#define PERCPU_KERNEL_RSP 0x08
#define PERCPU_USER_RSP   0x10
#define USER_DS 0x1b
#define USER_CS 0x23

#include "frame.h"

    .section .text.syscall_entry, "ax"
    .globl syscall_entry
    .type syscall_entry, @function
syscall_entry:
    swapgs
    mov     %rsp, %gs:PERCPU_USER_RSP
    mov     %gs:PERCPU_KERNEL_RSP, %rsp
    push    $USER_DS                /* ss */
    push    %gs:PERCPU_USER_RSP     /* rsp */
    push    %r11                    /* rflags */
    push    $USER_CS                /* cs */
    push    %rcx                    /* rip */
    push    %rax                    /* error-code slot: the system call number */
    push    $256                    /* vector slot: marks a system call */
    PUSH_GENERAL_REGISTERS
    mov     %rsp, %rdi
    mov     %rsp, %rbx
    xor     %ebp, %ebp              /* call traces stop at the user boundary */
    and     $-16, %rsp
    sub     $512, %rsp              /* the task's FPU save area (TaskStack.sseArea), filled only
                                       by a context switch: the kernel never touches the FPU or
                                       SSE registers, so the user's stay live in the CPU */
    sti
    call    keel_syscall
    cli
    /* A handler that rewrote the whole frame (execve, rt_sigreturn, signal
     * delivery) sets the vector slot to 257 (InterruptFrame.rewrittenVector):
     * return with iretq, which restores every register including rcx and r11. */
    cmpq    $256, 0x78(%rbx)
    jne     isr_exit
    mov     %rbx, %rsp
    POP_GENERAL_REGISTERS
    add     $16, %rsp               /* vector, number */
    /* sysret takes rip from rcx and rflags from r11, as Linux's ABI says the
     * user sees them; every other register is as the frame holds it. */
    pop     %rcx                    /* rip */
    add     $8, %rsp                /* cs */
    pop     %r11                    /* rflags */
    pop     %rsp                    /* user rsp; interrupts are off until sysret */
    swapgs
    sysretq
    .size syscall_entry, . - syscall_entry
