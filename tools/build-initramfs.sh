#!/bin/bash
# build-initramfs.sh OUT.cpio [EXTRA_DIR]
#
# Builds every Tests/Userland/*.c as a static musl program into build/userland/
# (only when the .c file or a header there is newer than the binary), stages a
# root file system in build/userland/root:
#     /sbin/init              init_tour (what `make run` shows)
#     /bin/<name>             every other program, e.g. /bin/test_mmap
#     /bin/fuzz               the system-call fuzzer, Tests/Fuzz/fuzz.c
#     /etc/keel-test.txt      the file test_files reads (format below)
#     /bin/not-elf            mode 0755 text, no "#!": test_exec's ENOEXEC case
#     /etc/hostname
# merges EXTRA_DIR (make's ROOTFS_EXTRA) on top, and writes it as a newc cpio
# archive with GNU cpio: sorted, owner 0:0, fixed times, so the same inputs
# give the same bytes. Tools and tests may use the staged root afterwards.
set -eu
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 OUT.cpio [EXTRA_DIR]" >&2; exit 2; }
out=$(realpath -m "$1")
extra=${2:-}
if [ -n "$extra" ]; then
    [ -d "$extra" ] || { echo "build-initramfs.sh: $extra is not a directory" >&2; exit 2; }
    extra=$(realpath "$extra")
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
src=$repo/Tests/Userland
bin=$repo/build/userland
root=$bin/root

for tool in musl-gcc cpio; do
    command -v $tool >/dev/null 2>&1 || {
        echo "build-initramfs.sh: $tool missing; run: apt-get install -y musl-tools cpio" >&2; exit 1; }
done

# Incremental build: every program depends on its .c file and on all headers.
mkdir -p "$bin"
newest_header=$(ls -t "$src"/*.h 2>/dev/null | head -n 1)
programs=()
for c in "$src"/*.c; do
    name=$(basename "$c" .c)
    exe=$bin/$name
    programs+=("$name")
    if [ ! -e "$exe" ] || [ "$c" -nt "$exe" ] || { [ -n "$newest_header" ] && [ "$newest_header" -nt "$exe" ]; }; then
        echo "  CC    userland/$name" >&2
        musl-gcc -static -O2 -Wall -o "$exe.tmp" "$c"
        mv "$exe.tmp" "$exe"
    fi
done

# The system-call fuzzer (Tests/Fuzz) goes in as /bin/fuzz but, unlike the
# programs above, never runs on the host.
fuzz_src=$repo/Tests/Fuzz/fuzz.c
fuzz_exe=$repo/build/fuzz/fuzz
if [ ! -e "$fuzz_exe" ] || [ "$fuzz_src" -nt "$fuzz_exe" ]; then
    echo "  CC    fuzz/fuzz" >&2
    mkdir -p "$(dirname "$fuzz_exe")"
    musl-gcc -static -O2 -Wall -o "$fuzz_exe.tmp" "$fuzz_src"
    mv "$fuzz_exe.tmp" "$fuzz_exe"
fi

# Linux's own nolibc-test, a program Keel's authors did not write (a boot test
# runs it as PID 1). Without the network it is left out, and that test says so.
nolibc_exe=$repo/build/nolibc/nolibc-test
"$repo/tools/build-nolibc.sh" "$nolibc_exe" || echo "build-initramfs.sh: nolibc-test left out" >&2

rm -rf "$root"
mkdir -p "$root/bin" "$root/sbin" "$root/etc"
for name in "${programs[@]}"; do
    if [ "$name" = init_tour ]; then
        cp "$bin/$name" "$root/sbin/init"
    else
        cp "$bin/$name" "$root/bin/$name"
    fi
done
cp "$fuzz_exe" "$root/bin/fuzz"
[ -e "$nolibc_exe" ] && cp "$nolibc_exe" "$root/bin/nolibc-test"

# /etc/keel-test.txt: 100 lines of 64 bytes; line i is "keel-test %03d " then
# 49 copies of the letter 'a' + i % 26, then a newline (test_files.c rebuilds
# the same text to compare).
letters=abcdefghijklmnopqrstuvwxyz
for i in $(seq 0 99); do
    printf 'keel-test %03d %s\n' "$i" "$(printf '%049d' 0 | tr 0 "${letters:$((i % 26)):1}")"
done > "$root/etc/keel-test.txt"
echo keel > "$root/etc/hostname"
echo "not an ELF file and no #! line: execve fails with ENOEXEC" > "$root/bin/not-elf"

find "$root" -type d -exec chmod 0755 {} +
chmod 0755 "$root"/bin/* "$root"/sbin/*
chmod 0644 "$root/etc/keel-test.txt" "$root/etc/hostname"
if [ -n "$extra" ]; then
    cp -a "$extra/." "$root/"
fi
find "$root" -exec touch -h -d @0 {} +

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --owner=0:0 --reproducible --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
