#!/bin/sh
# The symbol table is built from the first link and added by the second: it must
# not move any function, or every symbolized address in a panic would be wrong.
NM=${NM:-$(dirname "$(command -v swiftc)")/llvm-nm}
a=$("$NM" -n --defined-only "$1" | grep -i ' [tw] ')
b=$("$NM" -n --defined-only "$2" | grep -i ' [tw] ')
if [ "$a" != "$b" ]; then
    echo "keel: adding the symbol table moved code; check linker.ld (.ksymtab must stay last in .rodata)" >&2
    exit 1
fi
