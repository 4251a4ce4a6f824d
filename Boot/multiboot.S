/*
 * The headers that tell boot loaders this image is a kernel they can start.
 * The linker script puts them first in the image.
 *
 * Multiboot2 (GRUB, `make iso`): must sit in the first 32 KiB of the file,
 * 8-byte aligned. GRUB loads the PT_LOAD segments at their physical addresses
 * and jumps to _start in 32-bit protected mode with EAX = 0x36d76289 and
 * EBX = the physical address of the boot information.
 *
 * Multiboot (v1) (QEMU's own loader: `-kernel build/keel32.elf`, the way Linux
 * is booted without a boot loader): must sit in the first 8 KiB, 4-byte
 * aligned. QEMU reads only ELF32 files, so the build wraps the same segments in
 * one (tools/mkelf32.py). EAX = 0x2badb002, EBX = the v1 information, which
 * Kernel/Arch/x86_64/Multiboot1Boot.swift rewrites as a Multiboot2 block in
 * multiboot1_block below.
 */
    .section .multiboot, "a"
    .balign 8
mb2_header:
    .long 0xe85250d6                        /* magic */
    .long 0                                 /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header       /* header length */
    .long -(0xe85250d6 + 0 + (mb2_header_end - mb2_header))  /* checksum */

    /* information request: memory map, command line, modules, ACPI RSDP */
    .balign 8
mb2_info_request:
    .short 1, 0
    .long mb2_info_request_end - mb2_info_request
    .long 1, 3, 6, 14, 15
mb2_info_request_end:

    /* end tag */
    .balign 8
    .short 0, 0
    .long 8
mb2_header_end:

    /* Multiboot v1: flags bit 0 = modules page aligned, bit 1 = memory map wanted. */
#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS 0x00000003
    .balign 4
mb1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)

    /* Where the v1 information is rewritten (its size: Multiboot1Boot.blockSize). */
    .section .boot.bss, "aw", @nobits
    .balign 8
    .globl multiboot1_block
multiboot1_block:
    .skip 8192
