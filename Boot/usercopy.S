/*
 * copy_user(dst, src, n): copy between kernel and user memory; returns the
 * number of bytes NOT copied (0 on success). Linux: copy_user_generic()
 *
 * The caller has checked that the user range lies below TASK_SIZE (access_ok).
 * The bulk moves 8 bytes at a time (rep movsq), the tail a byte at a time.
 * A page fault on either is first given to the page-fault handler like
 * any user fault (demand paging, copy-on-write); only if the address is really
 * bad does the handler consult the exception table (Kernel/Arch/x86_64/UserAccess.swift),
 * which sends it to copy_user_fixup with rcx = bytes left: the system call then
 * returns EFAULT instead of the kernel panicking.
 *
 * With SMAP on, the kernel may touch user pages only between stac and clac.
 */
    .section .text.copy_user, "ax"
    .globl copy_user, copy_user_words, copy_user_words_fixup, copy_user_insn, copy_user_fixup
    .type copy_user, @function
copy_user:
    push    %rbp
    mov     %rsp, %rbp
    mov     %rdx, %rcx
    shr     $3, %rcx                /* whole 8-byte words ... */
    and     $7, %edx                /* ... and the bytes after them */
    testb   $1, smap_enabled(%rip)
    jz      1f
    stac
1:
copy_user_words:
    rep movsq                       /* TCG runs a rep one iteration per trip: 8x fewer than movsb */
    mov     %rdx, %rcx
copy_user_insn:
    rep movsb
    xor     %eax, %eax
    jmp     2f
copy_user_words_fixup:
    /* A word faulted: copy what is left byte by byte, so the count of bytes
       copied stops exactly at the bad byte (the next fault comes to
       copy_user_fixup). Linux: copy_user_handle_tail() */
    lea     (%rdx,%rcx,8), %rcx
    jmp     copy_user_insn
copy_user_fixup:
    mov     %rcx, %rax
2:  testb   $1, smap_enabled(%rip)
    jz      3f
    clac
3:  pop     %rbp
    ret
    .size copy_user, . - copy_user

    .section .data.smap_enabled, "aw"
    .globl smap_enabled
smap_enabled:
    .byte 0
