/*
 * Multiboot2 header: tells GRUB that this ELF image is a multiboot2 kernel.
 * It must sit in the first 32 KiB of the file, 8-byte aligned (the linker
 * script puts .multiboot2 first). GRUB then loads our PT_LOAD segments at their
 * physical addresses and jumps to _start in 32-bit protected mode with
 * EAX = 0x36d76289 and EBX = physical address of the boot information.
 */
    .section .multiboot2, "a"
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
