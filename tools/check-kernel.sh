#!/bin/sh
# make check: static checks on the kernel image.
#  1. GRUB recognises it as multiboot2 (header in the first 32 KiB, checksum right).
#  2. No red-zone use: interrupts run on the interrupted stack, so nothing may
#     live below %rsp. The scan flags any memory operand at a negative offset
#     from %rsp in the disassembly.
#  3. No x87 instruction: entry code saves and replaces only the user's MXCSR
#     (Boot/syscall.S), so the user's x87 control word stays live in the kernel;
#     that is safe only while the kernel never executes x87 code (fxsave64 and
#     fxrstor64, which save and load the user's state, are the exceptions).
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
    n=$("$bin/llvm-objdump" -d --no-show-raw-insn "$elf" | grep -c -E '^ *[0-9a-f]+:' || true)
    echo "check: red zone: not used ($n instructions scanned)"
fi
x87=$("$bin/llvm-objdump" -d --no-show-raw-insn "$elf" | awk '$2 ~ /^f/ && $2 != "fxsave64" && $2 != "fxrstor64" && $2 != "file"' || true)
if [ -n "$x87" ]; then
    echo "check: x87: the kernel executes x87 instructions:"; echo "$x87" | head -20; fail=1
else
    echo "check: x87: no x87 instruction (the user's control word is safe to leave live)"
fi
exit $fail
