#!/bin/sh
# Install the Debian packages Keel's build and QEMU runs need, or say exactly how.
missing=""
need() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need qemu-system-x86_64 qemu-system-x86
need grub-mkrescue grub-common
[ -d /usr/lib/grub/i386-pc ] || missing="$missing grub-pc-bin"
need xorriso xorriso
need mformat mtools
need musl-gcc musl-tools
need cpio cpio
need python3 python3
need gcc gcc
# ext2 images: made by mke2fs -d, checked by e2fsck and read by debugfs in the tests.
need mke2fs e2fsprogs
need debugfs e2fsprogs
# run-qemu.sh --swap (make run SWAP=): a fresh swap area made by mkswap (in /sbin, off a user's PATH).
[ -x /sbin/mkswap ] || command -v mkswap >/dev/null 2>&1 || missing="$missing util-linux"
# Debian's own dynamically linked programs for the ext2-root boot tests (tools/debian-root.sh).
need stress-ng stress-ng
# A real program Keel's tests did not write: Debian's static (glibc) busybox.
[ -x /bin/busybox ] || missing="$missing busybox-static"
# make viz and make wrr-report draw with Debian's matplotlib, run by /usr/bin/python3.
/usr/bin/python3 -c 'import matplotlib, numpy' >/dev/null 2>&1 || missing="$missing python3-matplotlib"
[ -z "$missing" ] && exit 0
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "keel: installing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends $missing >&2 || {
        echo "keel: apt-get failed; run: apt-get install -y $missing" >&2; exit 1; }
else
    echo "keel: missing tools. Run as root: apt-get install -y $missing" >&2
    exit 1
fi
