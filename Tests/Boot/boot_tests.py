#!/usr/bin/env python3
"""Layer-3 tests: boot Keel in QEMU with special command lines and check what
the kernel printed. Things user space cannot show live here: the banner, the
memory map, panic reports, SMP start-up, the mm self-test.

Each test boots build/keel.elf through tools/run-qemu.sh (the same path as
`make run`) with a timeout, so a hung kernel fails its test instead of CI.
Prints TAP-like `ok - name` / `not ok - name: why`, then `N passed, N failed`.
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "keel.elf")
INITRAMFS = os.path.join(ROOT, "build", "initramfs.cpio")
PANIC_STATUS = 250

TESTS = []


def boot_test(cmdline="", mem="256M", smp=1, timeout=60, name=None, initramfs=None, loader="qemu", typing=None):
    """`typing`: a conversation on the serial console, [(pattern, keys, pause)]: wait
    until the console shows `pattern` (a regex, after the previous one's match), wait
    `pause` seconds more, then type `keys`."""
    def register(fn):
        TESTS.append((name or fn.__name__, dict(cmdline=cmdline, mem=mem, smp=smp, timeout=timeout,
                                                 initramfs=initramfs, loader=loader, typing=typing), fn))
        return fn
    return register


class Failure(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Failure(why)


def find(pattern, out, why=None):
    m = re.search(pattern, out, re.M)
    expect(m, why or f"no line matching {pattern!r}")
    return m


def boot(cmdline, mem, smp, timeout, initramfs, loader, typing=None):
    archive = initramfs or INITRAMFS
    cmd = [os.path.join(ROOT, "tools", "run-qemu.sh"), "--kernel", KERNEL, "--initramfs", archive,
           "--mem", mem, "--smp", str(smp), "--timeout", str(timeout), "--loader", loader,
           "--"] + cmdline.split()
    if typing:
        return converse(cmd, typing, timeout)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout + 30)
    return p.returncode, p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")


def converse(cmd, typing, timeout):
    """Boots with QEMU's stdin (the serial port) a pipe and types `typing` into it,
    each line once its prompt has shown; returns like boot(). A pattern that never
    shows ends the typing (the output says how far it got)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks, lock = [], threading.Lock()

    def reader():
        for chunk in iter(lambda: p.stdout.read1(4096), b""):
            with lock:
                chunks.append(chunk)
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()

    def text():
        with lock:
            return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    position, deadline = 0, time.monotonic() + timeout
    for pattern, keys, pause in typing:
        m = None
        while m is None and time.monotonic() < deadline and p.poll() is None:
            m = re.compile(pattern, re.M).search(text(), position)
            if m is None:
                time.sleep(0.05)
        if m is None:
            break
        position = m.end()
        time.sleep(pause)
        try:
            p.stdin.write(keys.encode())
            p.stdin.flush()
        except BrokenPipeError:
            break
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    rc = p.wait(timeout=timeout + 30)
    thread.join(timeout=5)
    return rc, text()


LOCKDEP_REPORT = re.compile(r"^(WARNING: (possible circular locking|possible recursive locking|"
                            r"inconsistent lock state|bad unlock balance)|BUG: MAX_LOCK|"
                            r"BUG: sleeping function called from invalid context)", re.M)


def e820_usable_bytes(out):
    total = 0
    for m in re.finditer(r"^BIOS-e820: \[mem 0x([0-9a-f]{16})-0x([0-9a-f]{16})\] usable$", out, re.M):
        total += int(m.group(2), 16) - int(m.group(1), 16) + 1
    return total


# ---- boot ----

@boot_test()
def banner_tour_and_clean_power_off(rc, out):
    first = out.lstrip("\n").split("\n", 1)[0]
    expect(first.startswith("Keel "), f"first console line is {first!r}")
    find(r"^initramfs: \d+ files, \d+ directories, \d+ bytes$", out)
    find(r"^Hello from /sbin/init, pid 1, running on Keel ", out, "the tour did not start")
    find(r"^That's the tour\.", out, "the tour did not finish")
    find(r"^keel: init exited with status 0$", out)
    expect(rc == 0, f"make run status {rc}, expected 0")


@boot_test(cmdline="init=/bin/no-such-program")
def missing_init_is_a_clear_panic(rc, out):
    find(r"^KERNEL PANIC: No working init found: cannot execute /bin/no-such-program: ENOENT", out)
    expect(rc == PANIC_STATUS, f"status {rc}, expected {PANIC_STATUS}")


def user_initramfs():
    """A user's own static musl program, added with ROOTFS_EXTRA as a new user would."""
    extra = os.path.join(ROOT, "build", "boot-test-extra")
    os.makedirs(extra, exist_ok=True)
    source = os.path.join(extra, "hello.c")
    with open(source, "w") as f:
        f.write('#include <stdio.h>\nint main(int c, char **v) {\n'
                '    printf("hello from %s with %d arguments\\n", v[0], c - 1);\n    return 42;\n}\n')
    subprocess.run(["musl-gcc", "-static", "-O2", "-o", os.path.join(extra, "prog"), source], check=True)
    os.remove(source)
    out = os.path.join(ROOT, "build", "boot-test-extra.cpio")
    subprocess.run([os.path.join(ROOT, "tools", "build-initramfs.sh"), out, extra], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def busybox_initramfs():
    """Debian's static busybox (built with glibc, not by us) and a shell script."""
    extra = os.path.join(ROOT, "build", "boot-test-busybox")
    os.makedirs(os.path.join(extra, "bin"), exist_ok=True)
    subprocess.run(["cp", "/bin/busybox", os.path.join(extra, "bin", "busybox")], check=True)
    with open(os.path.join(extra, "script.sh"), "w") as f:
        f.write('echo "shell: $((6 * 7))"\n'
                'x=$(echo captured; echo output)\n'
                'echo "substitution: $x"\n'
                'busybox echo one two three | busybox wc -w\n'
                'busybox head -1 /proc/meminfo\n'
                'busybox ls /bin | busybox grep -c test_\n'
                'exit 7\n')
    out = os.path.join(ROOT, "build", "boot-test-busybox.cpio")
    subprocess.run([os.path.join(ROOT, "tools", "build-initramfs.sh"), out, extra], check=True,
                   stdout=subprocess.DEVNULL)
    return out


@boot_test(cmdline="init=/bin/busybox -- sh /script.sh", initramfs=busybox_initramfs)
def busybox_shell_runs_a_script(rc, out):
    find(r"^shell: 42$", out)
    find(r"^substitution: captured\noutput$", out, "command substitution (fork, pipe, exec, wait) failed")
    find(r"^3$", out, "a pipeline between two processes failed")
    find(r"^MemTotal: +\d+ kB$", out)
    find(r"^[1-9]\d$", out, "ls | grep -c did not count the test programs")
    expect(rc == 7, f"make run status {rc}, expected the script's 7")


def busybox_interactive_initramfs():
    """Debian's static busybox with applet links, and an init script that starts an
    interactive shell in a session of its own, the console its controlling terminal
    (`setsid -c`): not as pid 1, whose jobs' groups would be orphaned (no ^Z)."""
    extra = os.path.join(ROOT, "build", "boot-test-busybox-tty")
    os.makedirs(os.path.join(extra, "bin"), exist_ok=True)
    subprocess.run(["cp", "/bin/busybox", os.path.join(extra, "bin", "busybox")], check=True)
    for applet in ("sh", "ls", "cat", "echo", "sleep", "setsid"):
        link = os.path.join(extra, "bin", applet)
        if not os.path.islink(link):
            os.symlink("busybox", link)
    with open(os.path.join(extra, "start.sh"), "w") as f:
        f.write('setsid -c sh\necho "session ended with $?"\nexit 3\n')
    out = os.path.join(ROOT, "build", "boot-test-busybox-tty.cpio")
    subprocess.run([os.path.join(ROOT, "tools", "build-initramfs.sh"), out, extra], check=True,
                   stdout=subprocess.DEVNULL)
    return out


PROMPT = r"/ # "


@boot_test(cmdline="init=/bin/busybox -- sh /start.sh", initramfs=busybox_interactive_initramfs, smp=2, timeout=90,
           typing=[(PROMPT, "echo hi | cat\n", 0.2),
                   (r"^hi\n" + PROMPT, "sleep 1 &\n", 0.2),
                   (PROMPT, "wait; echo waited $?\n", 0.2),
                   (r"^waited 0\n", "sleep 100\n", 0.2),
                   (r"sleep 100\n", "\x03", 1.5),                  # ^C while it sleeps
                   (r"\^C\n" + PROMPT, "echo back $?\n", 0.2),
                   (r"^back \d+\n", "sleep 50\n", 0.2),
                   (r"sleep 50\n", "\x1a", 1.5),                    # ^Z
                   (r"Stopped +sleep 50\n" + PROMPT, "fg\n", 0.2),
                   (r"^sleep 50\n", "\x03", 1.5),
                   (PROMPT, "echo after fg $?\n", 0.2),
                   (r"^after fg \d+\n", "cat &\n", 0.2),          # a background read: SIGTTIN
                   (PROMPT, "jobs\n", 1.0),
                   (r"Stopped \(tty input\) +cat\n" + PROMPT, "fg\n", 0.2),   # its read runs again
                   (r"^cat\n", "typed to cat\n", 1.0),
                   (r"^typed to cat\n", "\x04", 0.5),                  # ^D: end of file
                   (PROMPT, "sleep 30 &\n", 0.2),
                   (PROMPT, "kill -9 %1; wait; echo killed $?\n", 0.5),
                   (r"^killed \d+\n", "ls -l /\n", 0.2),
                   (r"start\.sh\n(.*\n)*?" + PROMPT, "exit 5\n", 0.2)])
def busybox_interactive_shell_job_control(rc, out):
    expect("job control turned off" not in out, "the shell found no controlling terminal")
    find(r"^hi$", out, "the pipeline echo hi | cat printed nothing")
    find(r"^waited 0$", out, "wait for the background sleep failed")
    find(r"^back 130$", out, "^C did not kill the foreground sleep 100 with SIGINT (128 + 2)")
    find(r"Stopped +sleep 50$", out, "^Z did not stop the foreground job")
    find(r"^after fg 130$", out, "fg did not continue the job in the foreground, or ^C did not end it")
    find(r"Stopped \(tty input\) +cat$", out, "a background read did not stop on SIGTTIN")
    find(r"^typed to cat\ntyped to cat$", out, "fg: the stopped read did not run again (echo, then cat's copy)")
    find(r"Killed +sleep 30$", out, "kill -9 %1 did not kill the background job")
    find(r"^dr-xr-xr-x +\d+ 0 +0 +0 .* proc$", out, "ls -l / did not list /proc")
    find(r"^session ended with 5$", out, "exit did not end the shell")
    expect(rc == 3, f"status {rc}, expected the init script's 3")


@boot_test(cmdline="init=/prog -- a b", initramfs=user_initramfs)
def own_program_from_rootfs_extra(rc, out):
    find(r"^hello from /prog with 2 arguments$", out)
    find(r"^keel: init exited with status 42$", out)
    expect(rc == 42, f"make run status {rc}, expected 42")


def memory_map_matches(mem_mib):
    def check(rc, out):
        find(r"^BIOS-provided physical RAM map \(from multiboot2\):", out)
        usable = e820_usable_bytes(out)
        expect(mem_mib * 2**20 - 4 * 2**20 <= usable <= mem_mib * 2**20,
               f"usable RAM {usable / 2**20:.1f} MiB for MEM={mem_mib}M")
        expect(rc == 0, f"status {rc}")
    return check


boot_test(mem="256M", name="memory_map_256M")(memory_map_matches(256))
boot_test(mem="512M", name="memory_map_512M")(memory_map_matches(512))


@boot_test(cmdline="loglevel=7 foo=bar -- one two")
def command_line_is_parsed(rc, out):
    find(r"^Kernel command line: .*loglevel=7 foo=bar -- one two", out)
    find(r"^init: /sbin/init argv=\[/sbin/init, one, two\] envp=\[HOME=/, TERM=linux, foo=bar\]", out,
         "init's argv/envp not reported as parsed")
    expect(rc == 0, f"status {rc}")


# ---- physical memory ----

BUDDYINFO = r"^Node 0, zone +{zone} +(?:\d+ +){{10}}\d+ $"


@boot_test(cmdline="test=mm", mem="512M")
def mm_selftest(rc, out):
    m = find(r"^mem_map: (\d+) frames x (\d+) bytes = (\d+) KiB at 0x[0-9a-f]+$", out)
    frames, size = int(m.group(1)), int(m.group(2))
    expect(size <= 32, f"page descriptor is {size} bytes")
    expect(abs(frames * 4096 - 512 * 2**20) < 2 * 2**20, f"{frames} frames is not 512 MiB")
    for when in ("before", "after"):
        section = out.split(f"mm selftest: /proc/buddyinfo {when}:\n", 1)
        expect(len(section) == 2, f"no buddyinfo {when}")
        for zone in ("DMA", "DMA32"):
            find(BUDDYINFO.format(zone=zone), section[1].split("mm selftest:", 1)[0], f"no {zone} line {when}")
        find(rf"^mm selftest: /proc/slabinfo {when}:\nslabinfo - version: 2.1\n# name ", out)
    find(r"^kmalloc-64 +\d+ +\d+ +64 ", out, "kmalloc-64 missing from slabinfo")
    find(r"^mm selftest: 6000 operations: [1-9]\d* page blocks, [1-9]\d* slab objects, [1-9]\d* vmalloc areas$", out)
    expect("mm selftest: FAILED" not in out, "self-test reported failures")
    find(r"^mm selftest: ok$", out)
    expect(rc == 0, f"status {rc}")


@boot_test(cmdline="loglevel=7")
def buddyinfo_at_boot_with_loglevel_7(rc, out):
    find(BUDDYINFO.format(zone="DMA32"), out, "loglevel=7 did not print buddyinfo")
    find(r"^Zone ranges:$", out)
    expect(rc == 0, f"status {rc}")


@boot_test(cmdline="slab.debug test=mm")
def mm_selftest_with_slab_debug(rc, out):
    find(r"^slab: debug mode: red zones and poisoning on every cache$", out)
    find(r"^mm selftest: ok$", out)
    expect(rc == 0, f"status {rc}")


# ---- panics ----

def symbolized_trace(out):
    trace = out.split("Call Trace:", 1)
    expect(len(trace) == 2, "no 'Call Trace:'")
    frames = re.findall(r"^ \[<[0-9a-f]{16}>\] (.+)\+0x[0-9a-f]+/0x[0-9a-f]+$", trace[1], re.M)
    expect(frames, "no symbolized frame in the call trace")
    return frames


@boot_test(cmdline="test=panic-pf")
def panic_page_fault(rc, out):
    find(r"^KERNEL PANIC: page fault \(#PF\) at 0x[0-9a-f]{16} <static TestHooks\.panicPageFault\(\)\+0x", out)
    find(r"^#PF: supervisor write access in kernel mode$", out)
    find(r"^#PF: error_code\(0x0002\) - not-present page$", out)
    find(r"^CR2: 0x00007e00dead0000 ", out, "CR2 is not the address the test wrote")
    find(r"^RIP: 0x08:0x[0-9a-f]{16} <static TestHooks\.panicPageFault\(\)\+0x[0-9a-f]+/0x[0-9a-f]+>$", out,
         "RIP not symbolized to the test hook")
    find(r"^RAX: 0x[0-9a-f]{16} RBX: 0x[0-9a-f]{16} RCX: 0x[0-9a-f]{16}$", out, "registers missing")
    frames = symbolized_trace(out)
    expect(any(f.startswith("kmain") for f in frames), f"trace {frames} does not reach kmain")
    find(r"^---\[ end Kernel panic \]---$", out)
    expect(rc == PANIC_STATUS, f"status {rc}, expected {PANIC_STATUS}")


@boot_test(cmdline="test=panic-ud")
def panic_swift_trap(rc, out):
    find(r"^KERNEL PANIC: Swift runtime trap .* at 0x[0-9a-f]{16} <static TestHooks\.panicSwiftTrap\(\)\+0x", out)
    find(r"^RIP: 0x08:0x[0-9a-f]{16} <static TestHooks\.panicSwiftTrap\(\)\+0x[0-9a-f]+/0x[0-9a-f]+>$", out,
         "RIP not symbolized")
    frames = symbolized_trace(out)
    expect(any(f.startswith("kmain") for f in frames), f"trace {frames} does not reach kmain")
    expect(rc == PANIC_STATUS, f"status {rc}, expected {PANIC_STATUS}")


@boot_test(cmdline="test=stack-overflow")
def panic_kernel_stack_overflow(rc, out):
    find(r"^KERNEL PANIC: kernel stack overflow at 0x[0-9a-f]{16} <static TestHooks\.overflowStack", out)
    m = find(r"^BUG: stack guard page was hit at 0x([0-9a-f]{16})$", out)
    expect(int(m.group(1), 16) >= 0x7fc000000000, "guard page is not in the vmalloc area")
    frames = symbolized_trace(out)
    expect(all("overflowStack" in f for f in frames[:8]), f"trace {frames[:8]} is not the recursion")
    expect(rc == PANIC_STATUS, f"status {rc}, expected {PANIC_STATUS}")


@boot_test(cmdline="test=double-free")
def panic_double_free(rc, out):
    find(r"^KERNEL PANIC: page allocator: double free of frame 0x[0-9a-f]+ \(pfn [0-9]+\) order 0$", out)
    frames = symbolized_trace(out)
    expect(any("PageAllocator.free" in f for f in frames), f"trace {frames} does not name PageAllocator.free")
    expect(rc == PANIC_STATUS, f"status {rc}, expected {PANIC_STATUS}")


@boot_test(cmdline="test=slab-double-free")
def panic_slab_double_free(rc, out):
    find(r"^KERNEL PANIC: slab error: kmalloc-64: invalid free of 0x[0-9a-f]+: object already free$", out)
    frames = symbolized_trace(out)
    expect(any("slabDoubleFree" in f for f in frames), f"trace {frames} does not name the caller")
    expect(rc == PANIC_STATUS, f"status {rc}, expected {PANIC_STATUS}")


# ---- SMP ----

def cpus_online(out, n):
    """Every AP 1..n-1 reported online once, each with its own APIC ID, and the summary line."""
    lines = re.findall(r"^smpboot: CPU (\d+) \(APIC id (\d+)\) online$", out, re.M)
    cpus = sorted(int(c) for c, _ in lines)
    expect(cpus == list(range(1, n)), f"CPUs online: {cpus}, expected 1..{n - 1}")
    ids = [int(a) for _, a in lines]
    expect(len(set(ids)) == len(ids), f"APIC IDs repeat: {ids}")
    find(rf"^smp: Brought up 1 node, {n} CPUs$", out)


@boot_test(cmdline="test=smp", smp=4)
def smp_selftest(rc, out):
    cpus_online(out, 4)
    find(r"^smp selftest: 4 CPUs x 10000 locked increments = 40000 \(expected 40000\)$", out)
    find(r"^smp selftest: TLB shootdowns \(page, all, address space\) reached all 4 CPUs$", out)
    expect("smp selftest: FAILED" not in out, "self-test reported failures")
    find(r"^smp selftest: ok$", out)
    expect(rc == 0, f"status {rc}")


@boot_test(smp=2, cmdline="loglevel=7")
def smp2_boot_reaches_init(rc, out):
    # QEMU's own loader (Multiboot v1): the RSDP came from the BIOS-area scan.
    find(r"^Boot loader: qemu$", out, "not started by QEMU's loader")
    cpus_online(out, 2)
    find(r"^keel: init exited with status 0$", out, "init did not run to completion")
    expect(rc == 0, f"status {rc}")


@boot_test(smp=2, cmdline="loglevel=7 one two", loader="grub", timeout=90)
def grub_multiboot2_boot_with_two_cpus(rc, out):
    # The Multiboot2 path a real machine takes: GRUB's tags, its RSDP copy, its module.
    find(r"^Boot loader: GRUB ", out, "not started by GRUB")
    find(r"^Kernel command line: loglevel=7 one two$", out)
    find(r"^initramfs: \d+ files, \d+ directories, \d+ bytes$", out)
    cpus_online(out, 2)
    find(r"^keel: init exited with status 0$", out, "init did not run to completion")
    expect(rc == 0, f"status {rc}")


@boot_test(cmdline="test=lockdep loglevel=7")
def lockdep_reports_abba(rc, out):
    # Two locks taken a-then-b, then b-then-a: the second order is reported at
    # once, in Linux's words, with both acquisition sites and a call trace.
    find(r"^lockdep: lock dependency validator on", out)
    find(r"^lockdep self-test: b then a$", out)
    m = find(r"^WARNING: possible circular locking dependency detected$", out, "no circular-dependency report")
    report = out[m.start():]
    find(r"^ \(lockdep_test_a\), at: static TestHooks\.lockdepSelfTest\(\)\+0x", report, "the lock being taken")
    find(r"^but task is already holding lock:\n \(lockdep_test_b\), at: static TestHooks\.lockdepSelfTest", report)
    find(r"^-> #0 \(lockdep_test_b\):\n       taken while holding \(lockdep_test_a\) at: "
         r"static TestHooks\.lockdepSelfTest\(\)\+0x", report, "the chain does not say where a -> b was recorded")
    find(r"^ \*\*\* DEADLOCK \*\*\*$", report)
    find(r"^ \[<[0-9a-f]{16}>\] SpinLock\.lock\(\)", report, "no symbolized call trace")
    expect(len(LOCKDEP_REPORT.findall(out)) == 1, "more than one report")
    find(r"^lockdep self-test: done, validator reported and off$", out)
    find(r"^keel: boot complete$", out)
    expect(rc == 0, f"status {rc}")


@boot_test(cmdline="test=might-sleep")
def might_sleep_reports_a_held_spinlock(rc, out):
    # The check every sleep makes: silent with nothing held, a report naming the
    # held lock and where it was taken when a spinlock is held.
    m = find(r"^BUG: sleeping function called from invalid context$", out, "no might_sleep report")
    before = out[:m.start()]
    expect("might_sleep self-test: sleeping with a spinlock held" in before, "reported before the lock was taken")
    report = out[m.start():]
    find(r"^in_atomic\(\): 1, irqs_disabled\(\): 1, in hardirq: 0, pid: 0, name: swapper/0$", report)
    find(r"^called from: static TestHooks\.mightSleepSelfTest\(\)\+0x", report)
    find(r"^ #0: \(might_sleep_test\), at: static TestHooks\.mightSleepSelfTest\(\)\+0x", report)
    expect(len(LOCKDEP_REPORT.findall(out)) == 1, "more than one report")
    find(r"^keel: boot complete$", out)
    expect(rc == 0, f"status {rc}")


@boot_test(cmdline="test=lockdep lockdep=0")
def lockdep_off_says_so(rc, out):
    find(r"^lockdep self-test: the validator is off \(lockdep=0\)$", out)
    expect("possible circular locking" not in out, "a report with the validator off")


# ---- hostile programs (issue: no user program can crash, hang or take over the kernel) ----

def check_survived(rc, out):
    expect("KERNEL PANIC" not in out, "the kernel panicked")
    m = find(r"^(\d+) passed, (\d+) failed$", out, "no summary line: the program did not finish")
    expect(int(m.group(1)) > 0 and m.group(2) == "0", f"{m.group(0)}")
    find(r"^keel: init exited with status 0$", out)
    expect(rc == 0, f"status {rc}")


def check_oom(rc, out):
    check_survived(rc, out)
    kills = re.findall(r"^Out of memory: Killed process \d+ \(test_oom\) total-vm:\d+kB, anon-rss:\d+kB, "
                       r"file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:\d+kB oom_score_adj:0$", out, re.M)
    expect(len(kills) >= 6, f"{len(kills)} OOM kill lines, expected one per hog (6)")


@boot_test(cmdline="init=/bin/test_oom", mem="128M", smp=1, timeout=150)
def oom_killer_128M_one_cpu(rc, out):
    check_oom(rc, out)


@boot_test(cmdline="init=/bin/test_oom", mem="128M", smp=2, timeout=150)
def oom_killer_128M_two_cpus(rc, out):
    check_oom(rc, out)


@boot_test(cmdline="init=/bin/test_hostile", smp=2, timeout=150)
def hostile_program_two_cpus(rc, out):
    check_survived(rc, out)


# ---- the system-call fuzzer (Tests/Fuzz/fuzz.c; `make fuzz` runs the long campaign) ----

@boot_test(cmdline="init=/bin/fuzz -- seed=1 calls=100000 seconds=150", smp=2, timeout=210)
def fuzz_campaign_100k_calls_smp2(rc, out):
    expect("KERNEL PANIC" not in out, "the kernel panicked (a reproducer: make fuzz SMP=2 SEED=1 SECONDS=60)")
    expect("fuzz: UNKILLABLE" not in out, "a worker could not be killed")
    m = find(r"^fuzz: summary: calls=(\d+) seconds=[\d.]+ calls_per_s=\d+ .* unkillable=0 seed=1$", out,
             "no summary line: the campaign did not end (a hang, or init killed)")
    expect(int(m.group(1)) >= 100000, f"only {m.group(1)} calls in the 150 s limit, expected 100000")
    find(r"^keel: init exited with status 0$", out)
    expect(rc == 0, f"status {rc}")


def main():
    selected = [t for t in TESTS if len(sys.argv) < 2 or t[0] in sys.argv[1:]]
    passed = failed = 0
    # Archives with extra programs are built one at a time (they share a staging
    # directory) before the QEMU runs start in parallel.
    runs = []
    for name, args, check in selected:
        args = dict(args)
        if args["initramfs"]:
            try:
                args["initramfs"] = args["initramfs"]()
            except (OSError, subprocess.CalledProcessError) as e:
                failed += 1
                print(f"not ok - {name}: could not build its initramfs: {e}")
                continue
        runs.append((name, args, check))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [(name, check, pool.submit(boot, **args)) for name, args, check in runs]
        for name, check, fut in futures:
            try:
                rc, out = fut.result()
                try:
                    # The lock validator is on in every boot and must stay silent,
                    # except where a test provokes it.
                    if name not in ("lockdep_reports_abba", "might_sleep_reports_a_held_spinlock"):
                        m = LOCKDEP_REPORT.search(out)
                        expect(m is None, f"the lock validator reported: {m and m.group(0)}")
                    check(rc, out)
                    print(f"ok - {name}")
                    passed += 1
                    continue
                except Failure as e:
                    why = str(e)
            except subprocess.TimeoutExpired:
                why, out = "QEMU did not stop", ""
            failed += 1
            print(f"not ok - {name}: {why}")
            print("    | " + "\n    | ".join(out.strip().split("\n")[-40:]))
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
