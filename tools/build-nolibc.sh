#!/bin/bash
# build-nolibc.sh OUT: builds Linux's own nolibc-test (tools/testing/selftests/
# nolibc in the Linux source, with its tiny libc tools/include/nolibc) as OUT,
# the way its Makefile does: gcc -nostdlib -static -include nolibc.h.
# The source comes from Debian's linux-source-6.1 package (apt-get download;
# no root needed), unpacked once into build/nolibc/ (only those two directories).
set -eu
out=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$repo/build/nolibc
src=$work/linux-source-6.1
if [ ! -f "$src/tools/testing/selftests/nolibc/nolibc-test.c" ]; then
    mkdir -p "$work"
    ( cd "$work"
      rm -f linux-source-6.1_*.deb
      apt-get download linux-source-6.1 >/dev/null 2>&1 || {
          echo "build-nolibc.sh: apt-get download linux-source-6.1 failed (network?)" >&2; exit 1; }
      dpkg-deb --fsys-tarfile linux-source-6.1_*.deb | tar -x --wildcards '*/linux-source-6.1.tar.xz'
      tar -xJf usr/src/linux-source-6.1.tar.xz --wildcards 'linux-source-6.1/tools/include/nolibc/*' \
          'linux-source-6.1/tools/testing/selftests/nolibc/*'
      rm -rf usr linux-source-6.1_*.deb )
fi
if [ ! -e "$out" ] || [ "$src/tools/testing/selftests/nolibc/nolibc-test.c" -nt "$out" ]; then
    echo "  CC    nolibc-test (Linux 6.1's own)" >&2
    gcc -Os -fno-ident -fno-asynchronous-unwind-tables -nostdlib -static \
        -include "$src/tools/include/nolibc/nolibc.h" -o "$out.tmp" \
        "$src/tools/testing/selftests/nolibc/nolibc-test.c" -lgcc
    mv "$out.tmp" "$out"
fi
