#!/bin/sh
# make check, source part: the layering rules of docs/ARCHITECTURE.md that a
# grep can enforce.
#  1. Hardware only in Kernel/Arch: no function or linker symbol of
#     Kernel/Arch/x86_64/include/shims.h is called outside Kernel/Arch
#     (memcpy, memset, memmove and memcmp are the C library, not shims).
#  2. Kernel/Syscall only decodes: no page-table or VMA-tree code there.
#  3. Kernel/Core stays pure: no shim and no kernel-only type in it.
set -e
cd "$(dirname "$0")/.."
shims=Kernel/Arch/x86_64/include/shims.h
fail=0
names=$( { grep -oE '^(KEEL_INLINE [a-z_0-9 ]+[ *]|void |uint64_t )\*?[a-z_0-9]+\(' $shims \
             | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/'
           grep -oE 'KEEL_SYMBOL\([a-z_0-9]+\)' $shims | sed -E 's/KEEL_SYMBOL\((.*)\)/symbol_\1/'
         } | grep -v -E '^mem(cpy|set|move|cmp)$' | sort -u)
[ -n "$names" ] || { echo "check: layers: found no shim names in $shims"; exit 1; }
pattern=$(echo "$names" | paste -sd'|' -)
# A call is the name followed by "(", outside a comment.
hits=$(grep -rnE "\b($pattern)\(" Kernel --include=*.swift | grep -v '^Kernel/Arch/' \
       | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$hits" ]; then
    echo "check: layers: hardware shims called outside Kernel/Arch:"; echo "$hits"; fail=1
else
    echo "check: layers: $(echo "$names" | wc -l) shims of shims.h called only from Kernel/Arch"
fi
hits=$(grep -rnE '\b(PageTable|VMATree|pageTable|vmas)\b' Kernel/Syscall --include=*.swift || true)
if [ -n "$hits" ]; then
    echo "check: layers: page-table or VMA code in Kernel/Syscall:"; echo "$hits"; fail=1
else
    echo "check: layers: Kernel/Syscall has no page-table or VMA code"
fi
hits=$(grep -rnE "\b($pattern|MM|Task|Scheduler|SpinLock|Lockdep)\b" Kernel/Core --include=*.swift \
       | grep -vE '^[^:]+:[0-9]+:\s*//' | grep -vE '///' || true)
if [ -n "$hits" ]; then
    echo "check: layers: kernel-only names in Kernel/Core:"; echo "$hits" | head; fail=1
else
    echo "check: layers: Kernel/Core uses no shim and no kernel-only type"
fi
exit $fail
