#!/bin/bash
# debian-root.sh OUTDIR: a root file system tree made of the host's own Debian
# 12 files, unchanged: dynamically linked glibc programs, every shared library
# they need (as ldd lists them) and the dynamic loader at the path their
# PT_INTERP names, /lib64/ld-linux-x86-64.so.2.
#     /bin/dash, /bin/sh -> dash     Debian's POSIX shell
#     /bin/<coreutil>                ls sort sha256sum seq tr wc head cat and
#                                    the small ones scripts use (echo, cut, ...)
#     /bin/stress-ng                 (installed with apt-get when missing)
#     /bin/numactl, /bin/numastat    Debian's numactl package (likewise), libnuma
#     /lib/x86_64-linux-gnu/*.so.*   their libraries
#     /lib64/ld-linux-x86-64.so.2    the loader (a copy, not a symlink)
#     /etc/passwd, /etc/group        root only
#     /proc /dev /sys /tmp /root     empty
# Files go to /bin and /lib (not Debian's merged /usr) so the tree merges over
# Keel's userland root, whose /bin is a directory:
#     make disk DISK=build/debian.img ROOTFS_EXTRA=OUTDIR
# or stands alone:
#     mke2fs -t ext2 -r 1 -b 4096 -O none,sparse_super,large_file,filetype -d OUTDIR IMAGE 64M
# and the host runs the same programs in it with: chroot OUTDIR /bin/dash
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1

# Coreutils and the few other programs the boot tests' scripts use.
programs="dash ls sort sha256sum seq tr wc head tail cat echo true false sleep cut env printf
    mkdir rm cp mv ln touch uniq basename dirname expr test id uname md5sum od yes tee stress-ng
    numactl numastat"

# The programs that are not always installed, and their Debian packages.
for need in stress-ng:stress-ng numactl:numactl numastat:numactl; do
    command -v "${need%%:*}" >/dev/null 2>&1 && continue
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need#*:}" >&2
    else
        echo "debian-root.sh: ${need%%:*} missing; run as root: apt-get install -y ${need#*:}" >&2; exit 1
    fi
done

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib/x86_64-linux-gnu" "$out/lib64" "$out/etc" \
    "$out/proc" "$out/dev" "$out/sys" "$out/tmp" "$out/root"
chmod 1777 "$out/tmp"
chmod 0700 "$out/root"

# copy_lib PATH: the file PATH resolves to, stored under the name ldd gave
# less a leading /usr (Debian's /lib is /usr/lib), so each library is there once.
copy_lib() {
    local dest=$out${1#/usr}
    [ -e "$dest" ] && return 0
    mkdir -p "$(dirname "$dest")"
    cp -L "$1" "$dest"
}

loader=""
for name in $programs; do
    path=$(command -v "$name" 2>/dev/null || true)
    case $path in
        /*) ;;
        *) path=/usr/bin/$name ;;   # a shell builtin (echo, true, test): its program
    esac
    [ -x "$path" ] || { echo "debian-root.sh: $name not found" >&2; exit 1; }
    cp -L "$path" "$out/bin/$name"
    # ldd prints "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" per
    # library and "/lib64/ld-linux-x86-64.so.2 (0x...)" for the loader.
    while read -r first arrow lib _; do
        if [ "$arrow" = "=>" ]; then
            case $lib in /*) copy_lib "$lib" ;; esac
        elif [ "${first#/}" != "$first" ]; then
            loader=$first
            copy_lib "$first"
        fi
    done < <(ldd "$path")
done
[ "$loader" = /lib64/ld-linux-x86-64.so.2 ] || {
    echo "debian-root.sh: expected the loader /lib64/ld-linux-x86-64.so.2, ldd said '$loader'" >&2; exit 1; }
ln -s dash "$out/bin/sh"

cat > "$out/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat > "$out/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
chmod 0644 "$out/etc/passwd" "$out/etc/group"
echo "debian-root.sh: $out holds $(find "$out/bin" -type f | wc -l) programs and" \
    "$(find "$out/lib" "$out/lib64" -type f | wc -l) libraries ($(du -sh "$out" | cut -f1))" >&2
