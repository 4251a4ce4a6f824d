#!/bin/sh
# make-iso.sh KERNEL.elf OUT.iso "CMDLINE" [INITRAMFS]
# A GRUB rescue ISO that boots KERNEL with multiboot2 and CMDLINE (under a second).
set -e
kernel=$1; out=$2; cmdline=$3; initramfs=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/keel.elf"
{
    echo 'set timeout=0'
    echo 'set default=0'
    echo 'menuentry "Keel" {'
    echo "    multiboot2 /boot/keel.elf $cmdline"
    if [ -n "$initramfs" ]; then
        cp "$initramfs" "$dir/boot/initramfs.cpio"
        echo '    module2 /boot/initramfs.cpio initramfs'
    fi
    echo '    boot'
    echo '}'
} > "$dir/boot/grub/grub.cfg"
grub-mkrescue --install-modules="multiboot2 normal configfile" --fonts= --locales= --themes= \
    -o "$out" "$dir" >/dev/null 2>&1 || { echo "keel: grub-mkrescue failed" >&2; exit 1; }
