#!/usr/bin/env python3
"""make fuzz: a system-call fuzzing campaign on Keel, and a reproducer when it fails.

    tools/fuzz.py [--seconds 600] [--seed 1] [--smp 2] [--mem 256M] [-- FUZZ_OPTION...]

Boots Keel with Tests/Fuzz/fuzz.c as init (`init=/bin/fuzz -- seed=S seconds=T ...`)
for SECONDS, then prints the call count and calls/s from the fuzzer's summary line.
Exit status 0 only if the campaign ended with that summary: no kernel panic, no hang,
no unkillable worker, init not killed.

On a failure it prints the console's last lines and a reproducer:
  - an unkillable worker: the fuzzer's own line names the call;
  - a kernel panic, a hang (the console silent for --silence seconds: the fuzzer
    prints a progress line every 10 s) or init's death: the worker seeds the
    fuzzer printed at start name the workers that were running; each is booted again
    alone in replay mode (`fuzz seed=S worker=W verbose`), which prints every call
    before making it, so the last call printed before the failure is the culprit.
    One more boot issues that call alone (`from=I calls=1`) to tell whether it needs
    the calls before it; if it does, bisection finds the shortest run of calls
    F..I that still fails (not for hangs: each costs --silence seconds).
  reproducer: seed=S worker=W call=I: syscall(NR, a0, a1, a2, a3, a4, a5)

FUZZ_OPTIONs go to the fuzzer and to its replays, e.g. skip=318,25 workers=8.
Console logs are kept in build/fuzz/.
"""
import argparse
import os
import re
import select
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(ROOT, "build", "fuzz")
PANIC_STATUS, TIMEOUT_STATUS = 250, 124
BOOT_MARGIN = 90            # boot, the last kills and power-off, on top of the campaign's time


def stop(proc):
    """Ends run-qemu.sh and, through its children (timeout passes SIGTERM on), QEMU."""
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True,
                              text=True).stdout.split()
    for pid in [int(c) for c in children] + [proc.pid]:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass                # it ended by itself meanwhile


def boot(opts, fuzz_args, timeout, log_name):
    """One QEMU boot with the fuzzer as init: (exit status, console text). A
    console silent for opts.silence seconds is a hang (the fuzzer prints a
    progress line every 10 s, a verbose replay every call): QEMU is stopped
    then, without waiting for the timeout, and the status is the timeout's."""
    cmd = [os.path.join(ROOT, "tools", "run-qemu.sh"), "--kernel", opts.kernel,
           "--initramfs", opts.initramfs, "--smp", str(opts.smp), "--mem", opts.mem,
           "--timeout", str(timeout), "--", "init=/bin/fuzz", "--"] + fuzz_args
    log = os.path.join(LOGS, log_name)
    silent = False
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        last_output = time.time()
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    break
                f.write(data)
                last_output = time.time()
            elif not silent and time.time() - last_output > opts.silence:
                f.write(f"fuzz.py: no console output for {opts.silence}s: QEMU stopped\n".encode())
                silent = True
                stop(proc)
        rc = TIMEOUT_STATUS if silent else proc.wait()
        proc.wait()
    with open(log, "rb") as f:
        out = f.read().decode("utf-8", "replace").replace("\r\n", "\n")
    return rc, out


def failure(rc, out):
    """What went wrong in a boot, or None if the fuzzer printed its summary and exited 0."""
    if "KERNEL PANIC" in out:
        return "kernel panic"
    if re.search(r"^fuzz: UNKILLABLE ", out, re.M):
        return "unkillable worker"
    if rc == TIMEOUT_STATUS:
        return "hang (the console went silent or the QEMU timeout expired)"
    if rc != 0 or not re.search(r"^fuzz: summary: ", out, re.M):
        m = re.search(r"^keel: init exited with status (\d+)$", out, re.M)
        return f"init exited with status {m.group(1)}" if m else f"QEMU stopped with status {rc}"
    return None


def tail(out, lines=30):
    """The console's end, from the panic report if there is one."""
    start = out.find("KERNEL PANIC")
    text = out[start:] if start >= 0 else out
    return "\n".join("    | " + l for l in text.strip().split("\n")[-lines:])


def running_workers(out):
    """The workers alive at the end: the last one started in each slot, newest first."""
    last = {}
    for m in re.finditer(r"^fuzz: worker (\d+) slot (\d+) pid \d+ seed 0x[0-9a-f]+$", out, re.M):
        last[int(m.group(2))] = int(m.group(1))
    return sorted(last.values(), reverse=True)


def last_call(out):
    """The last `call I: syscall(...)` line a verbose replay printed before the failure."""
    cut = out.find("KERNEL PANIC")
    calls = re.findall(r"^call (\d+): (syscall\(.*\))$", out[:cut] if cut >= 0 else out, re.M)
    return calls[-1] if calls else None


def shortest_suffix(opts, replay, worker, index):
    """The latest call F from which calls F..index still fail, by bisection:
    calls 0..index fail and index alone does not. Not for hangs, which take a
    whole timeout to show."""
    good, bad = index, 0          # from=good does not fail, from=bad does
    while good - bad > 1:
        mid = (good + bad) // 2
        rc, out = boot(opts, replay + [f"from={mid}", f"calls={index - mid + 1}"], opts.replay_timeout,
                       f"replay-{worker}-from-{mid}.log")
        if failure(rc, out):
            bad = mid
        else:
            good = mid
        print(f"fuzz.py: bisecting: calls {bad}..{index} fail, {good}..{index} do not", flush=True)
    return bad


def reproduce(opts, fuzz_args, kind):
    """Replays the workers that were running, one boot each, until one fails the same way."""
    for worker in opts.suspects:
        print(f"fuzz.py: replaying worker {worker} alone ...", flush=True)
        replay = [f"seed={opts.seed}", f"worker={worker}", "verbose"] + fuzz_args
        rc, out = boot(opts, replay, opts.replay_timeout, f"replay-{worker}.log")
        why = failure(rc, out)
        call = last_call(out)
        if not why or not call:
            print(f"fuzz.py: worker {worker} alone: {why or 'no failure'}")
            continue
        index, text = call
        print(f"fuzz.py: worker {worker} alone: {why}")
        rc, out = boot(opts, replay + [f"from={index}", "calls=1"], opts.replay_timeout,
                       f"replay-{worker}-call-{index}.log")
        alone = failure(rc, out)
        print(f"reproducer: seed={opts.seed} worker={worker} call={index}: {text}")
        if alone:
            first = re.search(r"^KERNEL PANIC: .*$", out, re.M)
            print(f"fuzz.py: that call alone gives: {first.group(0) if first else alone}")
        elif why.startswith("hang"):
            print(f"fuzz.py: that call alone does not fail; it needs the calls before it: "
                  f"make run SMP={opts.smp} CMDLINE='init=/bin/fuzz -- {' '.join(replay)}'")
        else:
            first = shortest_suffix(opts, replay, worker, int(index))
            print(f"fuzz.py: that call alone does not fail; calls {first}..{index} do: make run SMP={opts.smp} "
                  f"CMDLINE='init=/bin/fuzz -- {' '.join(replay)} from={first} calls={int(index) - first + 1}'")
        return True
    print(f"fuzz.py: no worker reproduced the {kind} alone (an interaction between workers?); "
          f"seeds: seed={opts.seed} workers {opts.suspects}")
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build", "keel.elf"))
    ap.add_argument("--initramfs", default=os.path.join(ROOT, "build", "initramfs.cpio"))
    ap.add_argument("--replay-timeout", type=int, default=300)
    ap.add_argument("--silence", type=int, default=45, help="seconds without console output that make a hang")
    ap.add_argument("--from-log", metavar="LOG", help="skip the campaign: reproduce the failure in the "
                    "console log of an earlier one (build/fuzz/campaign.log)")
    ap.add_argument("fuzz_args", nargs="*", help="options for the fuzzer, after --")
    opts = ap.parse_args()
    os.makedirs(LOGS, exist_ok=True)

    if opts.from_log:
        with open(opts.from_log, "rb") as f:
            out = f.read().decode("utf-8", "replace").replace("\r\n", "\n")
        rc = PANIC_STATUS if "KERNEL PANIC" in out else TIMEOUT_STATUS if re.search(r"timed out|no console output", out) else 0
    else:
        campaign = [f"seed={opts.seed}", f"seconds={opts.seconds}"] + opts.fuzz_args
        print(f"fuzz.py: campaign: SMP={opts.smp} MEM={opts.mem} fuzz {' '.join(campaign)}", flush=True)
        began = time.time()
        rc, out = boot(opts, campaign, opts.seconds + BOOT_MARGIN, "campaign.log")
        print(f"fuzz.py: campaign took {time.time() - began:.0f}s; console in {LOGS}/campaign.log")
    why = failure(rc, out)
    summary = re.search(r"^fuzz: summary: calls=(\d+) seconds=([\d.]+) calls_per_s=(\d+).*$", out, re.M)
    if summary:
        print(summary.group(0))
        print(f"fuzz.py: {summary.group(1)} calls in {summary.group(2)}s: {summary.group(3)} calls/s")
    if not why:
        print("fuzz.py: ok: no panic, no hang, no unkillable task")
        return 0

    print(f"fuzz.py: FAILED: {why}")
    print(tail(out))
    m = re.search(r"^fuzz: UNKILLABLE worker pid \d+ seed 0x[0-9a-f]+ call (\d+) nr (\d+) args "
                  r"((?:0x[0-9a-f]+ ?){6}) worker=(\d+)$", out, re.M)
    if m:
        args = ", ".join(m.group(3).split())
        print(f"reproducer: seed={opts.seed} worker={m.group(4)} call={m.group(1)}: "
              f"syscall({m.group(2)}, {args})")
        return 1
    opts.suspects = running_workers(out)
    reproduce(opts, opts.fuzz_args, why)
    return 1


if __name__ == "__main__":
    sys.exit(main())
