/*
 * switch_to(&prev->saved_sp, next->saved_sp): the context switch.
 * Linux: __switch_to_asm
 *
 * Only the callee-saved registers need saving: switch_to is an ordinary call,
 * so the compiler has already saved everything else it cares about. The rest
 * of the outgoing task's state (user registers, SSE state) sits in the
 * InterruptFrame at the top of its kernel stack.
 *
 * A new task's stack is prepared (Kernel/Process/TaskStack.swift) so that the
 * pops below load rbx with its InterruptFrame and `ret` goes to isr_exit,
 * which returns to user mode through that frame.
 */
    .section .text.switch_to, "ax"
    .globl switch_to
    .type switch_to, @function
switch_to:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, (%rdi)
    mov     %rsi, %rsp
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size switch_to, . - switch_to
