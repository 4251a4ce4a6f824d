#!/usr/bin/env python3
"""make bench, QEMU part: Tests/Userland/bench.c as init under Keel and under
Debian's Linux kernel, booted the same way several times each, and a table of
medians, spreads and Keel/Linux ratios against the performance goals.

    tools/bench.py [--boots N] [--readme] [--rows ROW...]

With --rows only those benchmark rows run, three times in each boot (`bench
--repeat 3 ROW...`), and the table shows every run: the quick way to compare
one row with Linux.

Fairness. Both kernels run on the same QEMU (TCG) machine: q35, one CPU,
256 MiB, and the CPU model below. `-cpu max` alone advertises ERMS and FSRM
("fast string" instructions), which makes Linux zero and copy pages and
buffers with `rep stosb`/`rep movsb`; under TCG every iteration of a `rep`
instruction is a separate trip through the translated code, so that path is
several times slower than Linux's unrolled loops, which it picks without
ERMS. Turning the two flags off gives Linux the path it would take on such a
CPU; Keel's own code does not look at them. Both boot the same way too:
QEMU's -kernel loader (Linux's bzImage protocol; Keel's Multiboot v1 header in
the ELF32 wrapper from tools/mkelf32.py), with the initramfs as -initrd and
the command line as -append. A Keel-only row times the GRUB ISO path. Keel boots with `lockdep=0`: its lock
validator is a debugging aid that Debian's Linux is built without
(CONFIG_PROVE_LOCKING off), so neither kernel pays for one.

Scaling. Each round also boots each kernel once with 2 CPUs and
Tests/Userland/scale.c as init: every row (getpid, mmap+munmap, page faults in
processes and in the threads of one process, fork+exit+wait) runs 1 s with
1 worker and 1 s with 2; the table gives operations per second and the factor
2 workers / 1, and the goal min(1.6, 0.9 x Linux's factor). Under TCG each
vCPU is a host thread, and this host has 2 cores, so Linux's own factor says
how much TCG allows.

The benchmark rows run from a larger archive than the boot rows: the same
tree plus Debian's dynamically linked /bin/dash and its libraries (copied
from this host as ldd lists them), for dash_fork_exec_wait. Linux runs them
with `norandmaps`: Keel has no address-space randomization, and under TCG
Linux's costs a dynamically linked program dearly for a reason no hardware
has. TCG finds code it translated before by its virtual address too, so a
loader and libc at new addresses in every process are translated anew each
time: dash -c true took 27 ms on Linux with randomization and 4 ms without
(3 ms on Keel). The static programs of the other rows sit at fixed addresses
either way.

The kernels take turns, round after round (a slow spell of the host hits both
columns). Each kernel boots N times with bench as init (every benchmark row) and N
times with `bench --boot`, which prints its first line and exits: the time
from QEMU's start to that line is "boot to init", to QEMU's exit "boot to
power-off". For Keel, "kernel banner to init" leaves out the firmware: it
starts at the kernel's first console line; "boot to init via GRUB" boots the
GRUB ISO (`make run LOADER=grub`) instead. Rows print the median and
the spread (min-max) over the boots.

Reclaim. Each round also boots each kernel once with 192 MiB of memory and a
256 MiB swap disk (mkswap'd once, attached with snapshot=on) running `bench
--reclaim 160 /dev/vda 64` from an archive holding only /bin/bench: the
program swapons the disk itself (Linux booted from an initramfs has no swap;
Keel gets no swap= here, so both take the same path), locks away with mlock
whatever memory is free above 64 MiB (the issue's MEM=64M), and times a
160 MiB working set written and checked in a random order, then the pages
read back from swap. The QEMU line is the benchmark boot's with -m 192M and
that disk in place of the ext2 one. Why the lock: the machine cannot simply
have 64 MiB. Debian's 6.1 kernel keeps some 65 MiB for itself (its image,
memmap, slabs, the virtio modules) where Keel keeps about 10: in 96 MiB Linux
had 24 MiB free for the working set and Keel 88, and Linux did not even boot
in 64 (2 of 3 boots in 96 MiB ran out of memory unpacking the full test
archive). With the same 64 MiB free, both kernels swap the same amount;
the row prints MemFree before and after the lock.
"""
import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench")
CPU = "max,-erms,-fsrm"
MACHINE = ["-machine", "q35", "-cpu", CPU, "-smp", "1", "-m", "256M",
           "-display", "none", "-no-reboot", "-monitor", "none", "-serial", "stdio"]
MARKER = b"# bench:"

# Keel/Linux goals (ratios); the boot goal is absolute, in seconds.
GOALS = {
    "getpid": 0.8, "fork_exit_wait": 1.0, "fork_exit_wait_32m": 0.5,
    "anon_fault_per_page": 0.5, "cow_fault_per_page": 0.5, "brk_grow_4k_touch": 1.0,
    "mmap_munmap_4k": 1.0, "yield_pingpong": 1.0, "pipe_roundtrip": 1.0, "fork_execve_wait": 0.7,
    # The page cache (issue 15): each at most Linux's time.
    "dash_fork_exec_wait": 1.0, "file_fault_private_read": 1.0, "file_fault_shared_write": 1.0,
    "file_read_cached_per_4k": 1.0,
    # Reclaim and swap (issue 16), 64 MiB free with a 256 MiB swap disk: at most Linux's time.
    "workset_160m_write_verify": 1.0, "swap_pagein_per_4k": 1.0,
}
RECLAIM_MEM, RECLAIM_SWAP, RECLAIM_ROWS = "192M", "256M", ("workset_160m_write_verify", "swap_pagein_per_4k")
# bench --reclaim: a 160 MiB working set, swap on /dev/vda, 64 MiB free for it.
RECLAIM_ARGS = "--reclaim 160 /dev/vda 64"
BOOT_GOAL_S = 0.5
BENCH_ROW = re.compile(rb"^bench\s+(\S+)\s+([0-9.]+)$")
SCALE_ROW = re.compile(rb"^scale\s+(\S+)\s+(\d+)\s+([0-9.]+)$")
# The NUMA boots (bench --numa): two nodes of 256 MiB with a CPU each, the
# same machine for both kernels; "# numa ROW COUNTER PER_PAGE" lines.
NUMA_QEMU = ["-object", "memory-backend-ram,id=m0,size=256M", "-object", "memory-backend-ram,id=m1,size=256M",
             "-numa", "node,nodeid=0,cpus=0,memdev=m0", "-numa", "node,nodeid=1,cpus=1,memdev=m1"]
NUMA_ROW = re.compile(rb"^# numa\s+(\S+)\s+(\S+)\s+([0-9.-]+)$")


def boot(cmd, log_name, timeout=900):
    """Runs one QEMU; returns (seconds to the kernel's first console line, to the
    init marker, to exit; bench rows, each a list: one value per run of the row)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t_first, t_init, rows, log = None, None, {}, []
    for line in proc.stdout:
        if t_first is None:
            t_first = time.monotonic() - t0
        log.append(line)
        if t_init is None and MARKER in line:
            t_init = time.monotonic() - t0
        # Whole lines only: a kernel message can land in the middle of a row on
        # the shared serial line, and such a row is dropped, not misread.
        text = line.replace(b"\r", b"").strip()
        m = BENCH_ROW.match(text)
        if m:
            rows.setdefault(m.group(1).decode(), []).append(float(m.group(2)))
        m = SCALE_ROW.match(text)
        if m:
            rows.setdefault((m.group(1).decode(), int(m.group(2))), []).append(float(m.group(3)))
        m = NUMA_ROW.match(text)
        if m:
            rows.setdefault(("numa", m.group(1).decode(), m.group(2).decode()), []).append(float(m.group(3)))
        if time.monotonic() - t0 > timeout:
            proc.kill()
            break
    proc.wait()
    t_end = time.monotonic() - t0
    with open(os.path.join(OUT, "last-%s.log" % log_name), "wb") as f:
        f.writelines(log)
    return t_first, t_init, t_end, rows


def bench_disk():
    """The disk both kernels read in the disk rows: ext2 (4 KiB blocks, the
    features Keel has) holding /big, 64 MiB of non-repeating bytes. Attached
    with snapshot=on, so neither kernel can change it for the next boot."""
    image = os.path.join(OUT, "bench-disk.img")
    if not os.path.exists(image):
        stage = os.path.join(OUT, "bench-disk")
        os.makedirs(stage, exist_ok=True)
        with open(os.path.join(stage, "big"), "wb") as f:
            for i in range(1024):
                f.write((i.to_bytes(4, "little") * 16384))
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-r", "1", "-b", "4096",
                        "-O", "none,sparse_super,large_file,filetype", "-d", stage, image, "96M"], check=True)
    return ["-drive", "file=%s,if=none,format=raw,id=vda,snapshot=on" % image, "-device", "virtio-blk-pci,drive=vda"]


def reclaim_swap_disk():
    """The swap disk of the reclaim boots: RECLAIM_SWAP, mkswap'd, and the
    same for both kernels; snapshot=on, so nothing a boot writes stays."""
    image = os.path.join(OUT, "bench-swap.img")
    if not os.path.exists(image):
        subprocess.run(["truncate", "-s", RECLAIM_SWAP, image], check=True)
        subprocess.run(["mkswap", "-q", image], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"))
    return ["-drive", "file=%s,if=none,format=raw,id=vda,snapshot=on" % image, "-device", "virtio-blk-pci,drive=vda"]


def with_memory(cmd, size):
    """The same QEMU line with `size` of memory."""
    i = cmd.index("-m")
    return cmd[:i + 1] + [size] + cmd[i + 2:]


def wants_reclaim(rows):
    return not rows or any(r in RECLAIM_ROWS for r in rows)


def wants_numa(rows):
    return not rows or any(r.startswith("numa_") for r in rows)


def numa_machine(cmd):
    """The same QEMU line as a two-node machine with 2 CPUs and 512 MiB."""
    return with_memory(with_cpus(cmd, 2), "512M") + NUMA_QEMU


def bench_initramfs():
    """The archive both kernels run the benchmark rows from: the tree of
    build/initramfs.cpio (build/userland/root) with Debian's dynamically linked
    /bin/dash and the libraries ldd lists for it, each at the path ldd gives
    less a leading /usr, the loader at the path dash's PT_INTERP names
    (dash_fork_exec_wait). The boot-time rows keep the plain archive. Without
    dash on the host the plain archive serves, and the row says n/a."""
    plain = os.path.join(ROOT, "build", "initramfs.cpio")
    dash = shutil.which("dash")
    if not dash:
        print("== no dash on this host: dash_fork_exec_wait will be n/a", flush=True)
        return plain
    stage = os.path.join(OUT, "bench-root")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "build", "userland", "root"), stage, symlinks=True)
    files = [(dash, "/bin/dash")]
    for line in subprocess.run(["ldd", dash], capture_output=True, text=True, check=True).stdout.splitlines():
        words = line.split()
        path = words[2] if len(words) > 2 and words[1] == "=>" else words[0] if words else ""
        if path.startswith("/"):
            files.append((path, path[len("/usr"):] if path.startswith("/usr/") else path))
    for src, dest in files:
        target = os.path.join(stage, dest.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(src, target)              # follows symlinks: the loader's too
        os.chmod(target, 0o755)
    return cpio_of(stage, "initramfs-bench.cpio")


def reclaim_initramfs():
    """The archive of the reclaim boots, for both kernels: /bin/bench alone.
    The whole test tree unpacked into Linux's rootfs, next to its 45 MiB
    image, left 2 of 3 Linux boots out of memory before init (a panic,
    "System is deadlocked on memory")."""
    stage = os.path.join(OUT, "reclaim-root")
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, "bin"))
    shutil.copy(os.path.join(ROOT, "build", "userland", "root", "bin", "bench"), os.path.join(stage, "bin", "bench"))
    return cpio_of(stage, "initramfs-reclaim.cpio")


def cpio_of(stage, name):
    """A newc archive of the tree `stage`, in name order, owned by root: OUT/name."""
    out = os.path.join(OUT, name)
    names = subprocess.run("find . -print0 | LC_ALL=C sort -z", shell=True, cwd=stage, capture_output=True,
                           check=True).stdout
    with open(out, "wb") as f:
        subprocess.run(["cpio", "--null", "-o", "-H", "newc", "--owner=0:0", "--reproducible", "--quiet"],
                       cwd=stage, input=names, stdout=f, check=True)
    return out


def concatenated(name, parts):
    """One archive file made of `parts` (Linux unpacks each in turn)."""
    out = os.path.join(OUT, name)
    with open(out, "wb") as f:
        for part in parts:
            with open(part, "rb") as p:
                f.write(p.read())
    return out


def linux_modules(vmlinuz):
    """Debian builds virtio and ext4 as modules: a cpio of them, in load order
    with /modules/list, for bench.c to load before the disk rows."""
    release = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    base = os.path.join("/lib/modules", release, "kernel")
    order = ["drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
             "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
             "drivers/virtio/virtio_pci.ko", "drivers/block/virtio_blk.ko",
             "crypto/crc32c_generic.ko", "lib/crc16.ko", "fs/mbcache.ko", "fs/jbd2/jbd2.ko", "fs/ext4/ext4.ko"]
    if not all(os.path.exists(os.path.join(base, m)) for m in order):
        return None
    stage = os.path.join(OUT, "linux-modules")
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, "modules"))
    for m in order:
        shutil.copy(os.path.join(base, m), os.path.join(stage, "modules", os.path.basename(m)))
    with open(os.path.join(stage, "modules", "list"), "w") as f:
        f.write("".join(os.path.basename(m) + "\n" for m in order))
    out = os.path.join(OUT, "linux-modules.cpio")
    names = subprocess.run(["find", "."], cwd=stage, capture_output=True, check=True).stdout
    with open(out, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=stage, input=names, stdout=f, check=True)
    return out


def linux_kernel():
    images = sorted(glob.glob("/boot/vmlinuz-*"))
    if not images and os.geteuid() == 0 and shutil.which("apt-get"):
        print("== installing Debian's linux-image-amd64 for the Linux column", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "linux-image-amd64"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        images = sorted(glob.glob("/boot/vmlinuz-*"))
    return images[-1] if images else None


def only_rows(rows):
    """The command-line tail that makes bench run only `rows`, three times each."""
    return " -- --repeat 3 " + " ".join(rows) if rows else ""


def with_cpus(cmd, n):
    """The same QEMU line with n CPUs."""
    i = cmd.index("-smp")
    return cmd[:i + 1] + [str(n)] + cmd[i + 2:]


def keel_commands(bench_archive, rows):
    """`rows`: run only these benchmark rows, three times (bench --repeat 3)."""
    kernel = os.path.join(OUT, "keel32.elf")
    initramfs = os.path.join(ROOT, "build", "initramfs.cpio")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkelf32.py"),
                    os.path.join(ROOT, "build", "keel.elf"), kernel], check=True)
    exit_device = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    cmds = {mode: ["qemu-system-x86_64"] + MACHINE + ["-kernel", kernel, "-initrd", archive,
                                                      "-append", cmdline] + exit_device
            for mode, archive, cmdline in (
                ("bench", bench_archive, "init=/bin/bench quiet lockdep=0" + only_rows(rows)),
                ("boot", initramfs, "init=/bin/bench quiet lockdep=0 -- --boot"))}
    cmds["bench"] += bench_disk()
    if wants_reclaim(rows):
        cmds["reclaim"] = with_memory(["qemu-system-x86_64"] + MACHINE + [
            "-kernel", kernel, "-initrd", reclaim_initramfs(), "-append",
            "init=/bin/bench quiet lockdep=0 -- " + RECLAIM_ARGS] + exit_device, RECLAIM_MEM) + reclaim_swap_disk()
    if wants_numa(rows):
        cmds["numa"] = numa_machine(["qemu-system-x86_64"] + MACHINE + [
            "-kernel", kernel, "-initrd", initramfs, "-append", "init=/bin/bench quiet lockdep=0 -- --numa"]
            + exit_device)
    if rows:
        return cmds
    iso = os.path.join(OUT, "keel-boot.iso")
    subprocess.run([os.path.join(ROOT, "tools", "make-iso.sh"), os.path.join(ROOT, "build", "keel.elf"),
                    iso, "init=/bin/bench quiet lockdep=0 -- --boot", initramfs], check=True)
    cmds["boot_grub"] = ["qemu-system-x86_64"] + MACHINE + ["-cdrom", iso, "-boot", "d"] + exit_device
    cmds["scale"] = with_cpus(["qemu-system-x86_64"] + MACHINE + ["-kernel", kernel, "-initrd", initramfs,
                                                               "-append", "init=/bin/scale quiet lockdep=0"]
                              + exit_device, 2)
    return cmds


def linux_commands(vmlinuz, bench_archive, rows):
    console = os.path.join(OUT, "console.cpio")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "console-cpio.py"), console], check=True)
    initrd = concatenated("initramfs-linux.cpio", [os.path.join(ROOT, "build", "initramfs.cpio"), console])
    base = "console=ttyS0 rdinit=/bin/bench quiet panic=-1"
    cmds = {"boot": ["qemu-system-x86_64"] + MACHINE + ["-kernel", vmlinuz, "-initrd", initrd,
                                                        "-append", base + " -- --boot"]}
    # Only the benchmark boot brings dash and the modules (the boot-time rows
    # are left as they were): virtio and ext4 for the disk rows.
    parts = [bench_archive, console]
    modules = linux_modules(vmlinuz)
    if modules:
        parts.append(modules)
    # norandmaps: see the docstring (ASLR under TCG).
    cmds["bench"] = ["qemu-system-x86_64"] + MACHINE + ["-kernel", vmlinuz, "-initrd",
                                                       concatenated("initramfs-linux-bench.cpio", parts),
                                                       "-append", base + " norandmaps" + only_rows(rows)] + bench_disk()
    cmds["scale"] = with_cpus(["qemu-system-x86_64"] + MACHINE + ["-kernel", vmlinuz, "-initrd", initrd, "-append",
                                                               "console=ttyS0 rdinit=/bin/scale quiet panic=-1"], 2)
    if wants_reclaim(rows):
        # Keel's archive, the console and the virtio modules: the swap disk needs virtio_blk.
        reclaim_parts = [reclaim_initramfs(), console] + ([modules] if modules else [])
        cmds["reclaim"] = with_memory(["qemu-system-x86_64"] + MACHINE + [
            "-kernel", vmlinuz, "-initrd", concatenated("initramfs-linux-reclaim.cpio", reclaim_parts),
            "-append", base + " norandmaps -- " + RECLAIM_ARGS], RECLAIM_MEM) + reclaim_swap_disk()
    if wants_numa(rows):
        cmds["numa"] = numa_machine(["qemu-system-x86_64"] + MACHINE + [
            "-kernel", vmlinuz, "-initrd", initrd, "-append", base + " norandmaps -- --numa"])
    return cmds


class Kernel:
    """One kernel's command lines and the figures its boots produced."""

    def __init__(self, name, cmds, banner=False):
        self.name, self.cmds, self.banner = name, cmds, banner
        self.tag = name.split()[0].lower()
        self.rows = {}
        self.to_init, self.to_off, self.kernel_to_init, self.to_init_grub = [], [], [], []
        self.scale = {}
        self.numa = {}

    def run_once(self, i, rows_only=False):
        _, _, _, got = boot(self.cmds["bench"], self.tag + "-bench")
        for k, v in got.items():
            self.rows.setdefault(k, []).extend(v)
        if "reclaim" in self.cmds:
            _, _, _, reclaimed = boot(self.cmds["reclaim"], self.tag + "-reclaim")
            for k, v in reclaimed.items():
                self.rows.setdefault(k, []).extend(v)
            got = dict(got, **reclaimed)
        if "numa" in self.cmds:
            _, _, _, numa = boot(self.cmds["numa"], self.tag + "-numa")
            for k, v in numa.items():
                (self.numa if isinstance(k, tuple) else self.rows).setdefault(k, []).extend(v)
            got = dict(got, **{k: v for k, v in numa.items() if not isinstance(k, tuple)})
        if rows_only:
            print("   %s boot %d: %d rows" % (self.tag, i + 1, len(got)), flush=True)
            return
        t_first, t_init, t_end, _ = boot(self.cmds["boot"], self.tag + "-boot")
        if t_init is not None:
            self.to_init.append(t_init * 1e9)
            # Keel's first console line is its banner, printed at kernel entry.
            # (Linux booted quiet prints no such line.)
            if self.banner and t_first is not None and t_first < t_init:
                self.kernel_to_init.append((t_init - t_first) * 1e9)
        self.to_off.append(t_end * 1e9)
        print("   %s boot %d: %d rows, init after %.2f s, off after %.2f s" %
              (self.tag, i + 1, len(got), t_init or float("nan"), t_end), flush=True)
        if "boot_grub" in self.cmds:
            _, t_init, _, _ = boot(self.cmds["boot_grub"], self.tag + "-boot-grub")
            if t_init is not None:
                self.to_init_grub.append(t_init * 1e9)
        _, _, _, got = boot(self.cmds["scale"], self.tag + "-scale")
        for key, v in got.items():
            self.scale.setdefault(key, []).extend(v)

    def table_rows(self):
        rows = dict(self.rows)
        rows["boot_to_init"] = self.to_init
        if self.banner:
            rows["kernel_banner_to_init"] = self.kernel_to_init
        if self.to_init_grub:
            rows["boot_to_init_via_grub"] = self.to_init_grub
        rows["boot_to_poweroff"] = self.to_off
        return rows


def measure(kernels, boots, rows_only=False):
    """Boots the kernels in turn, round after round, so that a slow spell of the
    host lands on both columns instead of on one. `rows_only`: just the
    benchmark boots."""
    for k in kernels:
        print("== %s, %d boots: %s" % (k.name, boots, " ".join(k.cmds["bench"])), flush=True)
        if "reclaim" in k.cmds:
            print("   and for the reclaim rows: %s" % " ".join(k.cmds["reclaim"]), flush=True)
        if "numa" in k.cmds:
            print("   and for the NUMA rows: %s" % " ".join(k.cmds["numa"]), flush=True)
        if rows_only:
            continue
        print("   and with 2 CPUs for scaling: %s" % " ".join(k.cmds["scale"]), flush=True)
        if "boot_grub" in k.cmds:
            print("   and via GRUB: %s" % " ".join(k.cmds["boot_grub"]), flush=True)
    for i in range(boots):
        for k in kernels:
            k.run_once(i, rows_only)


def fmt(values):
    if not values:
        return "-", "-"
    med = statistics.median(values)
    unit, div = ("ms", 1e6) if med >= 1e6 else ("us", 1e3) if med >= 1e4 else ("ns", 1)
    return "%.1f %s" % (med / div, unit), "%.1f-%.1f" % (min(values) / div, max(values) / div)


def row_lines(keel, linux):
    """The benchmark table: Keel's rows in its order (then any only Linux has),
    medians, spreads, the ratio and the goal."""
    lines = ["| benchmark | Keel | spread | Linux | spread | Keel/Linux | goal |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name in list(keel.keys()) + [n for n in linux.keys() if n not in keel]:
        k, l = keel.get(name, []), linux.get(name, [])
        kmed, kspread = fmt(k)
        lmed, lspread = fmt(l)
        ratio = statistics.median(k) / statistics.median(l) if k and l else None
        goal = ""
        if name in GOALS and ratio is not None:
            goal = "<= %.1fx: %s" % (GOALS[name], "met" if ratio <= GOALS[name] else "not met")
        if name == "boot_to_init" and k:
            goal = "<= %.1f s: %s" % (BOOT_GOAL_S, "met" if statistics.median(k) <= BOOT_GOAL_S * 1e9 else "not met")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (name, kmed, kspread, lmed, lspread,
                                                               "%.2f" % ratio if ratio else "-", goal))
    return lines


def reclaim_note(rows):
    """The line that says where the reclaim rows ran, if they did."""
    if not any(r in rows for r in RECLAIM_ROWS):
        return []
    return ["", "%s: %s of memory with a %s swap disk, the program swapons it and locks away (mlock) what is free "
            "above 64 MiB (both kernels), a 160 MiB working set"
            % (" and ".join(RECLAIM_ROWS), RECLAIM_MEM.replace("M", " MiB"), RECLAIM_SWAP.replace("M", " MiB"))]


def numa_note(keel, linux):
    """Where the NUMA rows ran, and their /proc/vmstat numa_* counters per
    page touched (median over the runs), Keel's and Linux's."""
    keys = sorted(set(keel) | set(linux), key=lambda k: (k[1], k[2]))
    if not keys:
        return []
    lines = ["", "numa_touch_*: first touch from CPU 0 on a two-node machine (2 CPUs, 2 x 256 MiB, "
             "`-numa node,...`), ns per page; QEMU gives both nodes the same RAM, so bind_remote - default is the "
             "allocator's path, not a memory latency, and bind_local - default is the policy's cost. Where the pages "
             "went, /proc/vmstat counters per page touched:", "",
             "| row | counter | Keel | Linux |", "|---|---|---:|---:|"]
    for key in keys:
        k, l = keel.get(key, []), linux.get(key, [])
        if not any(k + l):
            continue
        lines.append("| %s | %s | %s | %s |" % (key[1], key[2], "%.3f" % statistics.median(k) if k else "-",
                                                "%.3f" % statistics.median(l) if l else "-"))
    return lines


def rows_table(keel, linux, version):
    """`--rows`: the chosen rows, median and spread of every run of each."""
    return ["%s, -cpu %s, 1 CPU, 256 MiB, TCG; median of every run [min-max]" % (version, CPU), ""] + \
        row_lines(keel, linux) + reclaim_note(dict(keel, **linux))


def scaling_table(keel, linux, boots):
    """Tests/Userland/scale.c with 1 and 2 workers at SMP=2: operations per second
    and the factor (2 workers / 1, the median over the boots of each boot's factor)."""
    def cell(scale, row):
        one, two = scale.get((row, 1), []), scale.get((row, 2), [])
        if not one or not two:
            return "-", "-", None
        factors = [b / a for a, b in zip(one, two) if a > 0]
        factor = statistics.median(factors) if factors else None
        return ("%.0f" % statistics.median(one), "%.0f" % statistics.median(two), factor)
    rows = []
    for key in list(keel.keys()) + list(linux.keys()):
        if key[0] not in rows:
            rows.append(key[0])
    lines = ["", "Scaling with CPUs (Tests/Userland/scale.c, `-smp 2`): operations per second with 1 and 2 "
             "workers for 1 s, and 2 workers / 1 (median of %d boots per kernel)" % boots, "",
             "| row | Keel 1 | Keel 2 | Keel scaling | Linux 1 | Linux 2 | Linux scaling | goal |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        k1, k2, kf = cell(keel, row)
        l1, l2, lf = cell(linux, row)
        goal = ""
        if kf is not None and lf is not None:
            target = min(1.6, 0.9 * lf)
            goal = ">= %.2f: %s" % (target, "met" if kf >= target else "not met")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row, k1, k2, "%.2fx" % kf if kf else "-", l1, l2, "%.2fx" % lf if lf else "-", goal))
    return lines


def trace_point_cost():
    """What a trace point costs while its event is off, read from the kernel
    as built: at each site the one instruction that loads and tests its bit of
    Trace.enabledMask, and the branch after it (the recording call is out of line)."""
    try:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", os.path.join(ROOT, "build", "keel.elf")],
                             capture_output=True, text=True).stdout.splitlines()
    except OSError:
        return []
    sites, branches = 0, set()
    for i, line in enumerate(out[:-1]):
        fields = line.split("\t")
        if len(fields) > 1 and "TraceO11enabledMask" in line and fields[1].startswith("test"):
            sites += 1
            # The branch on it (the compiler may schedule an unrelated move in between).
            for later in out[i + 1:i + 4]:
                after = later.split("\t")
                if len(after) > 1 and after[1].startswith("j"):
                    branches.add(after[1].split()[0])
                    break
    if not sites:
        return []
    return ["", "Trace points with their event off (objdump of build/keel.elf): %d sites, each 2 instructions, "
            "`testb $bit, Trace.enabledMask(%%rip)` and `%s` (getpid_traced_sys, anon_fault_traced_per_page: events on)"
            % (sites, "/".join(sorted(branches)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--boots", type=int, default=3)
    parser.add_argument("--readme", action="store_true", help="rewrite the table in README.md")
    parser.add_argument("--rows", nargs="+", metavar="ROW",
                        help="only these benchmark rows, 3 runs per boot (no boot, GRUB or scaling rows)")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    version = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    archive = bench_initramfs()
    keel = Kernel("Keel", keel_commands(archive, args.rows), banner=True)
    kernels = [keel]
    vmlinuz = linux_kernel()
    if vmlinuz:
        linux = Kernel("Linux " + os.path.basename(vmlinuz), linux_commands(vmlinuz, archive, args.rows))
        kernels.append(linux)
    else:
        print("== Linux: no kernel image (apt-get install linux-image-amd64); Linux column skipped")
    measure(kernels, args.boots, rows_only=bool(args.rows))
    if args.rows:
        print()
        print("\n".join(rows_table(keel.rows, linux.rows if vmlinuz else {}, version)
                        + numa_note(keel.numa, linux.numa if vmlinuz else {})))
        return
    keel_scale = keel.scale
    linux_scale = linux.scale if vmlinuz else {}
    keel_numa, linux_numa = keel.numa, linux.numa if vmlinuz else {}
    keel = keel.table_rows()
    linux = linux.table_rows() if vmlinuz else {}

    lines = ["%s, -cpu %s, 1 CPU, 256 MiB, TCG; median of %d boots per kernel [min-max]" % (version, CPU, args.boots),
             ""] + row_lines(keel, linux) + reclaim_note(dict(keel, **linux)) + numa_note(keel_numa, linux_numa)
    tiny, big = keel.get("fork_exit_wait"), keel.get("fork_exit_wait_32m")
    if tiny and big:
        r = statistics.median(big) / statistics.median(tiny)
        lines.append("")
        lines.append("Keel's fork with 32 MiB / its tiny fork: %.2fx (goal <= 2x: %s)" % (r, "met" if r <= 2 else "not met"))
    lines += scaling_table(keel_scale, linux_scale, args.boots)
    lines += trace_point_cost()
    table = "\n".join(lines)
    print()
    print(table)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(table + "\n")
    if args.readme:
        readme = os.path.join(ROOT, "README.md")
        text = open(readme).read()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            open(readme, "w").write(head + start + "\n" + table + "\n" + end + tail)
            print("README.md: table updated")


if __name__ == "__main__":
    main()
