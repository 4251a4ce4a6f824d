#!/bin/bash
# run-qemu.sh --kernel ELF [--smp N] [--mem SIZE] [--numa N] [--timeout S] [--initramfs CPIO]
#             [--loader qemu|grub] [--disk IMG] [--swap SIZE] [--gdb] -- CMDLINE...
#
# Boots Keel under QEMU (TCG) with the serial console on stdio. The loader is
# QEMU's own (-kernel with the ELF32 wrapper from tools/mkelf32.py, Multiboot v1:
# the way Linux is booted without a boot loader, and half a second faster) or
# GRUB from a rescue ISO (Multiboot2, as on a real machine); the default is
# $KEEL_LOADER, else qemu. --disk attaches IMG (raw) read-write as the first
# virtio disk, /dev/vda (virtio-blk over modern virtio-pci). --swap SIZE (as
# QEMU's -m: 256M, 1G) makes a fresh swap area of that size with mkswap in a
# temporary file, attaches it as the next virtio disk (/dev/vdb after a --disk,
# else /dev/vda) and puts swap=/dev/vdX on the kernel command line, before any
# "--" (the kernel swapons it before init starts); the file is deleted at the
# end. --numa N (1 to 64) makes a NUMA machine of N nodes, which the firmware
# describes in its ACPI SRAT and SLIT: --mem is split evenly in whole MiB (a
# memory-backend-ram object per node; the last node also takes what does not
# divide), the CPUs in consecutive runs (node 0 gets CPUs 0.., the first nodes
# one more when they do not divide; with fewer CPUs than nodes the last nodes
# have memory and no CPU, which QEMU and Linux allow), and the distances are
# 10 within a node, 20 between any two (-numa dist). `make run NUMA=2 SMP=2
# MEM=512M` is two nodes of 256M with one CPU each. Returns:
#   init's exit status N   the kernel printed "keel: init exited with status N" (or
#                          "keel: boot complete" / "reboot: Power down": 0) and powered off
#   250                    kernel panic
#   251                    QEMU stopped without a status (triple fault resets are not retried)
#   124                    timeout
# Works with stdin not a terminal; the serial output is also kept in $KEEL_LOG if set.
set -u
kernel=""; smp=1; mem=256M; timeout_s=120; initramfs=""; gdb=0; loader=${KEEL_LOADER:-qemu}; disk=""; swap=""; numa=""
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) kernel=$2; shift 2 ;;
        --smp) smp=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --numa) numa=$2; shift 2 ;;
        --timeout) timeout_s=$2; shift 2 ;;
        --initramfs) initramfs=$2; shift 2 ;;
        --loader) loader=$2; shift 2 ;;
        --disk) disk=$2; shift 2 ;;
        --swap) swap=$2; shift 2 ;;
        --gdb) gdb=1; shift ;;
        --) shift; break ;;
        *) echo "run-qemu.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
numa_args=()
if [ -n "$numa" ]; then
    case $numa in ''|*[!0-9]*) echo "run-qemu.sh: --numa takes a node count, not $numa" >&2; exit 2 ;; esac
    [ "$numa" -ge 1 ] && [ "$numa" -le 64 ] || { echo "run-qemu.sh: --numa $numa: 1 to 64 nodes" >&2; exit 2; }
    case $smp in ''|*[!0-9]*) echo "run-qemu.sh: --numa needs --smp as a CPU count, not $smp" >&2; exit 2 ;; esac
    # QEMU's -m is MiB without a suffix; each node's memory must be whole MiB and
    # the nodes' memory must add up to -m exactly.
    case $mem in *[Mm]|*[Gg]) digits=${mem%?} ;; *) digits=$mem ;; esac
    case $digits in ''|*[!0-9]*) echo "run-qemu.sh: --numa needs --mem in whole M or G, not $mem" >&2; exit 2 ;; esac
    case $mem in *[Gg]) mem_mib=$(( digits * 1024 )) ;; *) mem_mib=$digits ;; esac
    [ "$mem_mib" -ge "$numa" ] || { echo "run-qemu.sh: --mem $mem is less than 1 MiB for each of $numa nodes" >&2; exit 2; }
    per_node=$(( mem_mib / numa )); cpus_each=$(( smp / numa )); cpus_extra=$(( smp % numa )); cpu=0
    for ((i = 0; i < numa; i++)); do
        size=$per_node
        [ "$i" = $(( numa - 1 )) ] && size=$(( mem_mib - per_node * (numa - 1) ))
        count=$cpus_each
        [ "$i" -lt "$cpus_extra" ] && count=$(( count + 1 ))
        node="node,nodeid=$i,memdev=m$i"
        [ "$count" -gt 0 ] && node+=",cpus=$cpu-$(( cpu + count - 1 ))"
        cpu=$(( cpu + count ))
        numa_args+=(-object "memory-backend-ram,id=m$i,size=${size}M" -numa "$node")
    done
    for ((i = 0; i < numa; i++)); do
        for ((j = i + 1; j < numa; j++)); do numa_args+=(-numa "dist,src=$i,dst=$j,val=20"); done
    done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swap_drive=()
if [ -n "$swap" ]; then
    # A sparse file: only what the guest writes takes room on the host.
    truncate -s "$swap" "$work/swap.img" 2>/dev/null || { echo "run-qemu.sh: bad --swap size $swap" >&2; exit 2; }
    PATH=$PATH:/usr/sbin:/sbin mkswap -q "$work/swap.img" > /dev/null || { echo "run-qemu.sh: mkswap failed" >&2; exit 2; }
    if [ -n "$disk" ]; then swap_dev=/dev/vdb; else swap_dev=/dev/vda; fi
    swap_drive=(-drive "file=$work/swap.img,if=none,format=raw,id=swap" -device virtio-blk-pci,drive=swap)
    # swap= goes before the first "--": the words after it are init's arguments.
    words=()
    placed=0
    for word in "$@"; do
        if [ "$word" = "--" ] && [ "$placed" = 0 ]; then words+=("swap=$swap_dev"); placed=1; fi
        words+=("$word")
    done
    [ "$placed" = 0 ] && words+=("swap=$swap_dev")
    set -- "${words[@]}"
fi
cmdline="$*"
case $loader in
    qemu)
        python3 "$(dirname "$0")/mkelf32.py" "$kernel" "$work/keel32.elf" || exit 2
        boot=(-kernel "$work/keel32.elf" -append "$cmdline")
        [ -n "$initramfs" ] && boot+=(-initrd "$initramfs") ;;
    grub)
        "$(dirname "$0")/make-iso.sh" "$kernel" "$work/keel.iso" "$cmdline" "$initramfs" || exit 2
        boot=(-cdrom "$work/keel.iso" -boot d) ;;
    *) echo "run-qemu.sh: --loader is qemu or grub, not $loader" >&2; exit 2 ;;
esac
log=${KEEL_LOG:-$work/serial.log}

qemu=(qemu-system-x86_64 -machine q35 -cpu max -smp "$smp" -m "$mem" "${numa_args[@]}" "${boot[@]}"
      -display none -no-reboot -serial stdio -monitor none
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
if [ -n "$disk" ]; then
    # A QEMU block-driver spec such as blkdebug:CONF:IMG (error injection) passes as it is.
    case $disk in blkdebug:*) ;; *) [ -f "$disk" ] || { echo "run-qemu.sh: no disk image $disk" >&2; exit 2; } ;; esac
    qemu+=(-drive "file=$disk,if=none,format=raw,id=vda" -device virtio-blk-pci,drive=vda)
fi
qemu+=("${swap_drive[@]}")
if [ "$gdb" = 1 ]; then
    exec "${qemu[@]}" -s -S
fi
if [ -t 0 ]; then fg=--foreground; else fg=; fi
timeout $fg -k 5 "$timeout_s" "${qemu[@]}" < /dev/stdin | tee "$log"
rc=${PIPESTATUS[0]}
case $rc in
    124|137) echo "keel: QEMU timed out after ${timeout_s}s" >&2; exit 124 ;;
    1)  # isa-debug-exit with 0: a normal power-off; the status is on the console
        status=$(grep -a -o 'keel: init exited with status [0-9]*' "$log" | tail -n 1 | awk '{print $NF}')
        if [ -n "$status" ]; then exit "$status"; fi
        grep -a -q -e 'keel: boot complete' -e '^reboot: Power down' "$log" && exit 0
        echo "keel: powered off without an exit status" >&2; exit 251 ;;
    3)  exit 250 ;;
    *)  echo "keel: QEMU stopped without a status (exit code $rc; triple fault?)" >&2; exit 251 ;;
esac
