#!/bin/bash
# make bench, QEMU part: Tests/Userland/bench.c as init under Keel and under
# Debian's Linux kernel, same QEMU flags (TCG, q35, -cpu max, 1 CPU, 256 MiB),
# then a table of ns per operation and Keel/Linux ratios with the performance
# goals. Without a Linux kernel image (apt-get install linux-image-amd64)
# the Linux column is skipped, and the script says so.
set -u
cd "$(dirname "$0")/.."
mkdir -p build/bench
tools/build-initramfs.sh build/initramfs.cpio >/dev/null || exit 1
qemu_flags=(-machine q35 -cpu max -smp 1 -m 256M -display none -no-reboot -monitor none)

echo "== Keel (init=/bin/bench)"
tools/run-qemu.sh --kernel build/keel.elf --initramfs build/initramfs.cpio --timeout 600 -- \
    init=/bin/bench quiet < /dev/null > build/bench/keel.log 2>&1
grep -a '^bench ' build/bench/keel.log | tr -d '\r' > build/bench/keel.txt

vmlinuz=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
if [ -z "$vmlinuz" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian's linux-image-amd64 for the Linux column"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-image-amd64 >/dev/null 2>&1
    vmlinuz=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
fi
: > build/bench/linux.txt
if [ -n "$vmlinuz" ]; then
    echo "== Linux ($(basename "$vmlinuz"), rdinit=/bin/bench)"
    # Linux opens /dev/console for init; the Keel archive has no device nodes, so
    # a second archive with that one node is appended (Linux reads both).
    python3 tools/console-cpio.py build/bench/console.cpio
    cat build/initramfs.cpio build/bench/console.cpio > build/bench/initramfs-linux.cpio
    timeout 600 qemu-system-x86_64 "${qemu_flags[@]}" -kernel "$vmlinuz" -initrd build/bench/initramfs-linux.cpio \
        -append "console=ttyS0 rdinit=/bin/bench quiet panic=-1" -serial stdio < /dev/null > build/bench/linux.log 2>&1
    grep -a '^bench ' build/bench/linux.log | tr -d '\r' > build/bench/linux.txt
else
    echo "== Linux: no kernel image (apt-get install linux-image-amd64); Linux column skipped"
fi

python3 - <<'PY'
keel = dict((l.split()[1], float(l.split()[2])) for l in open("build/bench/keel.txt") if len(l.split()) >= 3)
linux = dict((l.split()[1], float(l.split()[2])) for l in open("build/bench/linux.txt") if len(l.split()) >= 3)
goals = {"getpid": 0.5, "fork_exit_wait_32m": 0.5, "anon_fault_per_page": 0.7, "cow_fault_per_page": 0.7}
if not keel:
    print("Keel printed no benchmark lines: see build/bench/keel.log"); raise SystemExit(1)
print(f"{'benchmark':24} {'Keel ns':>12} {'Linux ns':>12} {'Keel/Linux':>10}  goal")
for name, k in keel.items():
    l = linux.get(name)
    ratio = f"{k / l:10.2f}" if l else "-".rjust(10)
    linux_ns = f"{l:12.0f}" if l else "-".rjust(12)
    goal = ""
    if name in goals and l:
        goal = f"<= {goals[name]}x: " + ("met" if k / l <= goals[name] else "MISSED")
    print(f"{name:24} {k:12.0f} {linux_ns} {ratio}  {goal}")
tiny, big = keel.get("fork_exit_wait"), keel.get("fork_exit_wait_32m")
if tiny and big:
    r = big / tiny
    print(f"fork with 32 MiB / tiny fork on Keel: {r:.2f}x  goal <= 2x: {'met' if r <= 2 else 'MISSED'}")
PY
