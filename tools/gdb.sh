#!/bin/sh
# make gdb: QEMU halted at the first instruction with its gdb stub on :1234,
# and gdb attached with Keel's symbols and a breakpoint on kmain.
elf=$1; cmdline=$2; mem=${3:-256M}; smp=${4:-1}; initramfs=$5
dir=$(dirname "$0")
"$dir/run-qemu.sh" --kernel "$elf" ${initramfs:+--initramfs "$initramfs"} --mem "$mem" --smp "$smp" --gdb -- $cmdline &
qemu=$!
trap 'kill $qemu 2>/dev/null' EXIT
sleep 1
gdb -q "$elf" -ex 'set architecture i386:x86-64' -ex 'target remote :1234' \
    -ex 'hbreak kmain' -ex 'continue'
