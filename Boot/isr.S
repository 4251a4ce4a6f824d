/*
 * Interrupt and exception entry stubs (Linux: arch/x86/entry/entry_64.S).
 *
 * Every vector gets a tiny stub that makes the stack look the same whether or
 * not the CPU pushed an error code, pushes the vector number, then jumps to
 * isr_common, which saves every general-purpose register and calls the Swift
 * dispatcher keel_interrupt(InterruptFrame *). No FPU or SSE register is
 * saved: the kernel is compiled without them (-mno-sse, -mgeneral-regs-only),
 * so the user's stay live in the CPU until a context switch saves them
 * (Linux: the same rule, kernel_fpu_begin() aside).
 *
 * InterruptFrame, lowest address first (Kernel/Core/Debug/InterruptFrame.swift):
 *   r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax
 *   vector error_code | rip cs rflags rsp ss   (the last five pushed by the CPU)
 *
 * From user mode the CPU has already switched to the task's kernel stack
 * (TSS.rsp0); the stub then swaps GS so %gs points at this CPU's data
 * (Linux: SWAPGS in the entry code).
 */
#define FRAME_CS 0x90           /* offsetof(InterruptFrame, cs) */
#include "frame.h"

    .section .text.isr, "ax"
    .code64

.macro ISR_NOERR n
    .balign 16
isr\n:
    push    $0
    push    $\n
    jmp     isr_common
.endm

.macro ISR_ERR n
    .balign 16
isr\n:
    push    $\n
    jmp     isr_common
.endm

/* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30. */
ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31
/* 32-255: device interrupts, IPIs, spurious; no error code. */
.altmacro
.set vec, 32
.rept 224
    ISR_NOERR %vec
    .set vec, vec+1
.endr

    .noaltmacro
    .balign 16
isr_common:
    testb   $3, 0x18(%rsp)          /* cs, above vector and error code */
    jz      1f
    swapgs
1:  PUSH_GENERAL_REGISTERS
    cld
    mov     %rsp, %rdi              /* argument: the InterruptFrame */
    mov     %rsp, %rbx              /* rbx is callee-saved: our way back */
    and     $-16, %rsp              /* the ABI: 16-byte aligned at a call */
    sub     $512, %rsp              /* the FPU save area (see syscall.S): nothing to save here */
    call    keel_interrupt
    .globl isr_exit
/* A new task's first return to user mode also starts here (ret_from_fork):
 * rbx = its InterruptFrame, rsp = its FPU save area. */
isr_exit:
    mov     %rbx, %rsp
    POP_GENERAL_REGISTERS
    add     $16, %rsp               /* vector and error code */
    testb   $3, 8(%rsp)             /* returning to user mode? */
    jz      2f
    swapgs
2:  iretq

/* Addresses of the stubs, indexed by vector, for building the IDT. */
    .section .rodata.isr_stub_table, "a"
    .balign 8
    .globl isr_stub_table
isr_stub_table:
.macro STUB_ADDRESS n
    .quad isr\n
.endm
.altmacro
.set vec, 0
.rept 256
    STUB_ADDRESS %vec
    .set vec, vec+1
.endr
