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

/*
 * ret_from_fork: where a new task's first switch_to returns. It lets the
 * scheduler finish the switch (keel_schedule_tail), then leaves for user mode
 * through isr_exit, with rbx = its InterruptFrame and rsp = its FPU save area.
 * Linux: ret_from_fork_asm
 */
    .section .text.ret_from_fork, "ax"
    .globl ret_from_fork
    .type ret_from_fork, @function
ret_from_fork:
    call    keel_schedule_tail
    jmp     isr_exit
    .size ret_from_fork, . - ret_from_fork
