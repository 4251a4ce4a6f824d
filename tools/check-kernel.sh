#!/bin/sh
# make check: static checks on the kernel image.
#  1. GRUB recognises it as multiboot2 (header in the first 32 KiB, checksum right),
#     and its ELF32 wrapper (tools/mkelf32.py) as Multiboot v1, which QEMU's -kernel needs.
#  2. No red-zone use: interrupts run on the interrupted stack, so nothing may
#     live below %rsp. The scan flags any memory operand at a negative offset
#     from %rsp in the disassembly.
#  3. No x87, MMX or SSE instruction: no kernel entry saves the user's FPU
#     and SSE registers (Boot/syscall.S), so they stay live in the kernel; that
#     is safe only while the kernel never executes such code (the Makefile's
#     -mno-sse, -mgeneral-regs-only). fxsave64 and fxrstor64, which save and
#     load the user's state, are the exceptions.
set -e
elf=$1
bin=$(dirname "$(command -v swiftc)")
fail=0
if grub-file --is-x86-multiboot2 "$elf"; then
    echo "check: multiboot2 header: ok"
else
    echo "check: multiboot2 header: MISSING or invalid"; fail=1
fi
wrapper=$(mktemp)
if python3 "$(dirname "$0")/mkelf32.py" "$elf" "$wrapper" && grub-file --is-x86-multiboot "$wrapper"; then
    echo "check: multiboot v1 header (ELF32 wrapper for QEMU -kernel): ok"
else
    echo "check: multiboot v1 header (ELF32 wrapper for QEMU -kernel): MISSING or invalid"; fail=1
fi
rm -f "$wrapper"
# (An instruction that only moves %rsp itself, like `lea -0x20(%rsp), %rsp`, is fine.)
hits=$("$bin/llvm-objdump" -d --no-show-raw-insn "$elf" | grep -E -e '-0x[0-9a-f]+\(%rsp\)' | grep -v -E ', %rsp$' || true)
if [ -n "$hits" ]; then
    echo "check: red zone: used by these instructions:"; echo "$hits" | head -20; fail=1
else
    n=$("$bin/llvm-objdump" -d --no-show-raw-insn "$elf" | grep -c -E '^ *[0-9a-f]+:' || true)
    echo "check: red zone: not used ($n instructions scanned)"
fi
fpu=$("$bin/llvm-objdump" -d --no-show-raw-insn "$elf" |
     awk '($2 ~ /^f/ && $2 != "fxsave64" && $2 != "fxrstor64" && $2 != "file") || /%[xy]mm[0-9]|%mm[0-7]/' || true)
if [ -n "$fpu" ]; then
    echo "check: FPU: the kernel executes x87, MMX or SSE instructions:"; echo "$fpu" | head -20; fail=1
else
    echo "check: FPU: no x87, MMX or SSE instruction (the user's registers are safe to leave live)"
fi
exit $fail
