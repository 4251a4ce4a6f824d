#!/bin/sh
# make check: static checks on the kernel image.
#  1. GRUB recognises it as multiboot2 (header in the first 32 KiB, checksum right).
#  2. No red-zone use: interrupts run on the interrupted stack, so nothing may
#     live below %rsp. The scan flags any memory operand at a negative offset
#     from %rsp in the disassembly.
set -e
elf=$1
bin=$(dirname "$(command -v swiftc)")
fail=0
if grub-file --is-x86-multiboot2 "$elf"; then
    echo "check: multiboot2 header: ok"
else
    echo "check: multiboot2 header: MISSING or invalid"; fail=1
fi
# (An instruction that only moves %rsp itself, like `lea -0x20(%rsp), %rsp`, is fine.)
hits=$("$bin/llvm-objdump" -d --no-show-raw-insn "$elf" | grep -E -e '-0x[0-9a-f]+\(%rsp\)' | grep -v -E ', %rsp$' || true)
if [ -n "$hits" ]; then
    echo "check: red zone: used by these instructions:"; echo "$hits" | head -20; fail=1
else
    n=$("$bin/llvm-objdump" -d --no-show-raw-insn "$elf" | grep -c -E '^ +[0-9a-f]+:' || true)
    echo "check: red zone: not used ($n instructions scanned)"
fi
exit $fail
