/*
 * call_on_stack(top, fn): run fn() on another stack, then come back.
 * kmain uses it to leave the boot stack for a vmalloc'ed one with a guard page.
 * The new stack starts with a frame record (return address, caller's rbp), so
 * call traces continue across the switch.
 */
    .section .text.call_on_stack, "ax"
    .globl call_on_stack
    .type call_on_stack, @function
call_on_stack:
    push    %rbp
    mov     %rsp, %rbp
    push    %rbx
    mov     %rsp, %rbx          /* rbx is callee-saved: the way back */
    mov     %rdi, %rsp
    push    8(%rbp)             /* frame record on the new stack: return address */
    push    (%rbp)              /*   and our caller's rbp */
    mov     %rsp, %rbp
    call    *%rsi               /* rsp is 16-byte aligned here */
    mov     %rbx, %rsp
    pop     %rbx
    pop     %rbp
    ret
    .size call_on_stack, . - call_on_stack
