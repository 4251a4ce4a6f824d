#!/bin/bash
# make-disk.sh IMAGE SIZE [EXTRA_DIR]: an ext2 disk image holding what the
# initramfs holds (every Tests/Userland program, /sbin/init, /etc) plus
# EXTRA_DIR, with empty /dev, /proc, /sys and /tmp for the kernel's and init's
# mounts; made by mke2fs -d, revision 1, 4 KiB blocks, and only the features
# Keel's ext2 reads and writes (sparse_super, large_file, filetype).
# make-disk.sh --only DIR IMAGE SIZE: the same image of DIR alone (say, a tree
# of Debian's own files from tools/debian-root.sh), with those directories.
# Boot it with: make run DISK=IMAGE CMDLINE=root=/dev/vda
set -eu
only=""
if [ "${1:-}" = --only ]; then only=$2; shift 2; fi
image=$1; size=$2; extra=${3:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v mke2fs >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin
command -v mke2fs >/dev/null 2>&1 || { echo "make-disk.sh: mke2fs missing; run: apt-get install -y e2fsprogs" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
if [ -n "$only" ]; then
    cp -a "$only/." "$stage/"
else
    "$repo/tools/build-initramfs.sh" "$repo/build/initramfs.cpio" ${extra:+"$extra"} >/dev/null
    cp -a "$repo/build/userland/root/." "$stage/"
fi
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp"
chmod 1777 "$stage/tmp"
rm -f "$image"
mke2fs -q -F -t ext2 -r 1 -b 4096 -O none,sparse_super,large_file,filetype -E root_owner=0:0 -L keel \
    -d "$stage" "$image" "$size"
echo "make-disk.sh: $image ($size, ext2) holds $(find "$stage" | wc -l) files and directories"
