/*
 * The first instructions Keel runs, in 32-bit protected mode with paging off.
 *
 * Long mode needs paging, so this stub builds throw-away page tables that map
 * the first 4 GiB three times with 2 MiB pages:
 *   PML4 slot 0    identity map, so the instruction after "enable paging" still exists;
 *   PML4 slot 254  the direct map (PAGE_OFFSET = 0x7f0000000000);
 *   PML4 slot 255  the kernel image (0x7f8000000000 + physical address).
 * All three share one PDPT. Keel's Swift code replaces these tables with its own
 * (Kernel/Memory) once it knows how much RAM there is.
 *
 * Keel lives in PML4 slot 255, not at Linux's 0xffffffff80000000, because Swift's
 * x86-64 ABI uses the top pointer bits as spare bits: see README "Memory layout".
 */
#define KERNEL_BASE 0x7f8000000000
#define MSR_EFER    0xc0000080

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    mov     $boot_stack32_top, %esp
    mov     %eax, multiboot_magic
    mov     %ebx, multiboot_info

    /* Is this a 64-bit CPU? CPUID 0x80000001 EDX bit 29 (LM). */
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      .Lno_long_mode
    mov     $0x80000001, %eax
    cpuid
    test    $(1 << 29), %edx
    jz      .Lno_long_mode
    mov     %edx, cpuid_ext_edx

    /* Zero the early tables (GRUB zeroes .bss, but do not depend on it). */
    mov     $early_pml4, %edi
    xor     %eax, %eax
    mov     $((early_tables_end - early_pml4) / 4), %ecx
    rep stosl

    /* PML4[0], [254], [255] -> the shared PDPT. */
    mov     $early_pdpt, %eax
    or      $0x3, %eax                      /* present | writable */
    mov     %eax, early_pml4 + 0 * 8
    mov     %eax, early_pml4 + 254 * 8
    mov     %eax, early_pml4 + 255 * 8

    /* PDPT[0..3] -> four page directories. */
    mov     $early_pd, %eax
    or      $0x3, %eax
    xor     %ecx, %ecx
1:  mov     %eax, early_pdpt(, %ecx, 8)
    add     $4096, %eax
    inc     %ecx
    cmp     $4, %ecx
    jne     1b

    /* 2048 PD entries of 2 MiB: physical 0 .. 4 GiB, present | writable | huge. */
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $0x83, %eax
    mov     %eax, early_pd(, %ecx, 8)
    mov     %ecx, %eax
    shr     $11, %eax                       /* high half of (ecx << 21) */
    mov     %eax, early_pd + 4(, %ecx, 8)
    inc     %ecx
    cmp     $2048, %ecx
    jne     2b

    mov     $early_pml4, %eax
    mov     %eax, %cr3

    /* CR4: PAE, OSFXSR and OSXMMEXCPT, for user programs (the kernel itself uses no SSE). */
    mov     %cr4, %eax
    or      $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    mov     %eax, %cr4

    /* EFER: long mode enable, and no-execute enable when the CPU has NX (CPUID bit 20). */
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $(1 << 8), %eax
    testl   $(1 << 20), cpuid_ext_edx
    jz      3f
    or      $(1 << 11), %eax
3:  wrmsr

    /* CR0: paging, write-protect in ring 0, monitor coprocessor; clear emulation. */
    mov     %cr0, %eax
    or      $((1 << 31) | (1 << 16) | (1 << 1)), %eax
    and     $~(1 << 2), %eax
    mov     %eax, %cr0

    lgdt    early_gdt_ptr
    ljmp    $0x08, $long_mode_low

.Lno_long_mode:
    /* Print a message on the VGA text screen and stop. */
    mov     $no_long_mode_msg, %esi
    mov     $0xb8000, %edi
4:  lodsb
    test    %al, %al
    jz      5f
    mov     $0x4f, %ah
    stosw
    jmp     4b
5:  hlt
    jmp     5b

    .code64
long_mode_low:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    xor     %ax, %ax
    mov     %ax, %fs
    mov     %ax, %gs
    movabs  $kernel_entry64, %rax
    jmp     *%rax

    .section .boot.data, "aw"
    .balign 8
    .globl multiboot_magic, multiboot_info
multiboot_magic:      .long 0
multiboot_info:       .long 0
cpuid_ext_edx:  .long 0
no_long_mode_msg: .asciz "Keel: this CPU has no 64-bit long mode; Keel needs x86-64."

    /* Boot GDT: null, 64-bit kernel code (0x08), kernel data (0x10).
     * Kernel/Arch replaces it with the full GDT (user segments, TSS). */
    .balign 16
early_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
early_gdt_end:
early_gdt_ptr:
    .short early_gdt_end - early_gdt - 1
    .long early_gdt

    .section .boot.bss, "aw", @nobits
    .balign 4096
early_pml4: .skip 4096
early_pdpt: .skip 4096
early_pd:   .skip 4096 * 4
early_tables_end:
    .skip 1024
boot_stack32_top:

/* ---- 64-bit, running at the kernel's linked (high) address from here on ---- */
    .section .text.kernel_entry64, "ax"
    .globl kernel_entry64
    .type kernel_entry64, @function
kernel_entry64:
    /* The GDT seen through the kernel-image alias, so the identity map can go. */
    movabs  $early_gdt_ptr64, %rax
    lgdt    (%rax)
    movabs  $boot_stack_top, %rsp
    xor     %ebp, %ebp

    /* Zero .bss. */
    movabs  $__bss_start, %rdi
    movabs  $__bss_end, %rcx
    sub     %rdi, %rcx
    xor     %eax, %eax
    rep stosb

    movabs  $(multiboot_magic + KERNEL_BASE), %rax
    mov     (%rax), %edi                    /* kmain(magic, info physical address) */
    movabs  $(multiboot_info + KERNEL_BASE), %rax
    mov     (%rax), %esi
    push    $0                              /* a zero return address ends call traces */
    push    $0
    mov     %rsp, %rbp
    call    kmain
6:  cli
    hlt
    jmp     6b
    .size kernel_entry64, . - kernel_entry64

    .section .rodata.early_gdt_ptr64, "a"
    .balign 8
early_gdt_ptr64:
    .short early_gdt_end - early_gdt - 1
    .quad early_gdt + KERNEL_BASE

    .section .bss.boot_stack, "aw", @nobits
    .balign 16
    .globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip 65536
boot_stack_top:

    /* Memory for the Swift runtime (posix_memalign) before the page and slab
     * allocators exist; Kernel/Memory/EarlyHeap.swift hands it out. */
    .section .bss.early_heap, "aw", @nobits
    .balign 4096
    .globl early_heap_start, early_heap_end
early_heap_start:
    .skip 2 * 1024 * 1024
early_heap_end:
