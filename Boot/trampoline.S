/*
 * The AP trampoline: the first instructions a secondary CPU (AP) runs.
 * Linux: arch/x86/realmode/rm/trampoline_64.S
 *
 * After INIT-SIPI-SIPI (Kernel/Arch/x86_64/SMPBoot.swift) an AP starts like a
 * CPU fresh out of reset: 16-bit real mode, paging off, at physical address
 * vector << 12. So this code cannot run where it is linked: the boot CPU copies
 * the bytes from trampoline_start to trampoline_end to TRAMPOLINE_BASE
 * (Kernel/Arch/x86_64/Trampoline.swift), below 1 MiB where real mode reaches,
 * and every address the code uses is computed relative to that copy (REL).
 *
 * The AP then climbs the same ladder entry32.S climbed on the boot CPU:
 *   real mode  --lgdt, CR0.PE, far jump-->  32-bit protected mode
 *              --CR4.PAE, CR3, EFER.LME, CR0.PG, far jump-->  64-bit long mode
 * with the boot CPU's own CR0, CR4 and EFER values (so NX, SSE, WP, SMEP, SMAP
 * and syscall are on exactly as they are there) and a small transition page
 * table that identity-maps this page and shares the kernel's PML4 slots 254
 * and 255. From 64-bit mode it jumps to ap_start64 in the kernel image, which
 * switches to the kernel's own page table and calls apMain(cpu) in Swift.
 */
#define TRAMPOLINE_BASE 0x8000
#define REL(x)          (TRAMPOLINE_BASE + (x) - trampoline_start)
#define MSR_EFER        0xc0000080

    .section .rodata.trampoline, "a"
    .balign 16
    .globl trampoline_start, trampoline_end, trampoline_header

    .code16
trampoline_start:
    cli
    cld
    mov     %cs, %ax                /* CS = vector << 8: address this copy */
    mov     %ax, %ds
    lgdtl   tr_gdt_pointer - trampoline_start
    mov     %cr0, %eax
    or      $1, %eax                /* CR0.PE */
    mov     %eax, %cr0
    ljmpl   $0x18, $REL(tr_protected_mode)

    .code32
tr_protected_mode:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     REL(tr_cr4), %eax       /* PAE first: long mode needs it */
    mov     %eax, %cr4
    mov     REL(tr_transition_cr3), %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    mov     REL(tr_efer), %eax      /* LME, NXE, SCE */
    xor     %edx, %edx
    wrmsr
    mov     REL(tr_cr0), %eax       /* PG with EFER.LME: long mode, compatibility submode */
    mov     %eax, %cr0
    ljmp    $0x08, $REL(tr_long_mode)

    .code64
tr_long_mode:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    mov     REL(tr_stack_top), %rsp
    mov     REL(tr_kernel_cr3), %rax
    mov     REL(tr_cpu), %rdi
    jmp     *REL(tr_entry)

/* Filled in by the boot CPU for each AP. Trampoline.swift relies on the offsets.
 * Linux: struct trampoline_header */
    .balign 8
trampoline_header:
tr_transition_cr3:  .long 0         /* 0x00: PML4 below 4 GiB (loaded in 32-bit mode) */
tr_cr4:             .long 0         /* 0x04 */
tr_cr0:             .long 0         /* 0x08 */
tr_efer:            .long 0         /* 0x0c: without LMA, which the CPU sets itself */
tr_kernel_cr3:      .quad 0         /* 0x10: KernelPageTable.root */
tr_stack_top:       .quad 0         /* 0x18: this AP's idle stack */
tr_cpu:             .quad 0         /* 0x20: this AP's CPU number */
tr_entry:           .quad ap_start64

/* 0x08: 64-bit code, 0x10: data, as in the kernel's GDT, so CS and SS stay
 * valid when apMain loads this CPU's own GDT; 0x18: 32-bit code for the climb. */
    .balign 8
tr_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00cf9a000000ffff
tr_gdt_end:
tr_gdt_pointer:
    .short tr_gdt_end - tr_gdt - 1
    .long REL(tr_gdt)
trampoline_end:

/* ---- in the kernel image, reached through the transition page table ---- */
    .section .text.ap_start64, "ax"
    .globl ap_start64
    .type ap_start64, @function
ap_start64:
    /* The kernel's page table has no identity map: from here on GDTR still
     * names the trampoline's GDT, which is unmapped, so nothing may load a
     * segment until apMain has loaded this CPU's GDT (interrupts are off). */
    mov     %rax, %cr3
    xor     %ebp, %ebp
    push    $0                      /* a zero return address ends call traces */
    push    $0
    mov     %rsp, %rbp
    call    keel_ap_main            /* apMain(cpu) never returns */
1:  cli
    hlt
    jmp     1b
    .size ap_start64, . - ap_start64
