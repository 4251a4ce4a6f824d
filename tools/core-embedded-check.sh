#!/bin/sh
# Compile Kernel/Core (or the files given) with the Embedded Swift compiler, the way
# the kernel build does, to prove the shared logic stays embedded-clean
# (no Foundation, no existentials of non-class protocols, no untyped throws).
set -e
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- $(find Kernel/Core -name '*.swift' | sort); fi
swiftc -target x86_64-unknown-none-elf -enable-experimental-feature Embedded -wmo \
  -parse-as-library -swift-version 6 -module-name KeelCore -Osize \
  -Xfrontend -disable-stack-protector -Xcc -mno-red-zone -Xcc -ffreestanding \
  -c "$@" -o /tmp/keel-core-embedded-check.$$.o
rm -f /tmp/keel-core-embedded-check.$$.o
echo "embedded check: ok ($# files)"
