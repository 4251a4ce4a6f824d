#!/bin/bash
# userland-tests.sh: layer 2 of `make test` (see tools/test-all.sh).
#
# Builds the initramfs (tools/build-initramfs.sh), then runs every test_*
# program in its /bin, and the default /sbin/init tour, twice:
#   linux/<name>  on this host, with a fixed argv and environment and
#                 KEEL_TEST_ROOT pointing at the staged root (proves the test)
#   keel/<name>   under QEMU: init=/bin/<name>, same argv and environment on
#                 the kernel command line (proves Keel); up to 2 QEMUs at once,
#                 each with smp_of(name) CPUs (test_smp: 4) and timeout_of(name)
# A run passes when it exits 0 and its last "N passed, M failed" line has
# N > 0 and M = 0 (the tour: exits 0 and finishes its text). QEMU's status is
# init's exit status, 250 on a panic, 124 on a timeout.
# Prints "ok - linux/<name>" / "not ok - keel/<name>: why" per run, then one
# line "N passed, N failed" counting runs, not assertions; exits 0 iff none
# failed. Logs: build/test-logs/userland/.
#
# Environment: KEEL_USERLAND_HOST_ONLY=1 skips the Keel runs; KEEL_KERNEL=ELF
# boots that kernel instead of (re)making build/keel.elf; KEEL_USERLAND_JOBS
# (default 2) QEMUs at a time; ROOTFS_EXTRA as for make run.
set -u
cd "$(dirname "$0")/.."
repo=$(pwd)
logs=build/test-logs/userland
rm -rf "$logs"
mkdir -p "$logs"
passed=0; failed=0

if ! tools/build-initramfs.sh build/initramfs.cpio ${ROOTFS_EXTRA:+"$ROOTFS_EXTRA"}; then
    echo "not ok - build userland programs and initramfs"
    echo "0 passed, 1 failed"
    exit 1
fi
root=$repo/build/userland/root

# The fixed argv (after argv[0]) and environment each program is run with.
args_of() {
    case $1 in
        test_args) echo "alpha beta-gamma 42" ;;
    esac
}
env_of() {
    case $1 in
        test_args) echo "KEEL_ARGS_ENV=keel-env-value" ;;
    esac
}

# The Keel run's CPU count (run-qemu.sh --smp) and time limit in seconds.
smp_of() {
    case $1 in
        # test_threads on 4: musl's condition variable lost waiters there while
        # Keel lacked FUTEX_REQUEUE, and one CPU never showed it.
        test_smp|test_smp_stress|test_threads|test_wrr_numa) echo 4 ;;
        test_trace) echo 2 ;;      # two per-CPU rings to merge
        *) echo 1 ;;
    esac
}
timeout_of() {
    case $1 in
        test_smp) echo 120 ;;   # a 20 s churn on 4 virtual CPUs sharing the host's cores
        test_smp_stress) echo 120 ;;   # two rounds, 7 s, on 4 virtual CPUs
        *) echo 60 ;;
    esac
}

programs=()
for exe in "$root"/bin/test_*; do programs+=("$(basename "$exe")"); done
programs+=(init_tour)

# judge NAME LOG STATUS: prints nothing if the run passed, else why not.
judge() {
    local name=$1 log=$2 status=$3 summary
    # The lock validator is on in every Keel boot and must stay silent.
    if grep -aqE '^(WARNING: (possible circular locking|possible recursive locking|inconsistent lock state|bad unlock balance)|BUG: MAX_LOCK|BUG: sleeping function called from invalid context)' "$log"; then
        echo "the lock validator reported a problem (see the log)"; return
    fi
    if [ "$name" = init_tour ]; then
        grep -aq "That's the tour" "$log" || { echo "the tour did not finish (status $status)"; return; }
        [ "$status" = 0 ] || echo "exit status $status"
        return
    fi
    summary=$(tr -d '\r' < "$log" | grep -aoE '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    case $status in
        0) ;;
        124) echo "timed out"; return ;;
        250) echo "kernel panic"; return ;;
        *) [ -z "$summary" ] && { echo "exit status $status, no summary line"; return; } ;;
    esac
    if [ -z "$summary" ]; then
        echo "no summary line (exit status $status)"
    elif [ "${summary%% *}" = 0 ] || [ "$(echo "$summary" | cut -d' ' -f3)" != 0 ]; then
        echo "$summary (exit status $status)"
    elif [ "$status" != 0 ]; then
        echo "exit status $status"
    fi
}

# report KIND NAME LOG STATUS: the ok/not ok line, with the failed checks.
report() {
    local kind=$1 name=$2 log=$3 status=$4 why
    why=$(judge "$name" "$log" "$status")
    if [ -z "$why" ]; then
        echo "ok - $kind/$name"
        passed=$((passed + 1))
    else
        echo "not ok - $kind/$name: $why"
        tr -d '\r' < "$log" | grep -a '^not ok' | head -n 20 | sed 's/^/    /'
        echo "    log: $log"
        failed=$((failed + 1))
    fi
}

for name in "${programs[@]}"; do
    exe=$root/bin/$name
    [ "$name" = init_tour ] && exe=$root/sbin/init
    log=$logs/linux-$name.log
    # shellcheck disable=SC2046  # the argument and environment words split on purpose
    timeout 60 env -i KEEL_TEST_ROOT="$root" $(env_of "$name") "$exe" $(args_of "$name") \
        < /dev/null > "$log" 2>&1
    report linux "$name" "$log" $?
done

if [ "${KEEL_USERLAND_HOST_ONLY:-0}" = 1 ]; then
    echo "# KEEL_USERLAND_HOST_ONLY=1: the Keel runs are skipped"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

kernel_ok=1
kernel=${KEEL_KERNEL:-build/keel.elf}
tools/ensure-deps.sh > "$logs/deps.log" 2>&1 || kernel_ok=0
if [ "$kernel_ok" = 1 ] && [ -z "${KEEL_KERNEL:-}" ]; then
    make -s build/keel.elf > "$logs/kernel-build.log" 2>&1 || kernel_ok=0
fi
[ -f "$kernel" ] || kernel_ok=0

# keel_run NAME: boots Keel with the program as init; the status goes to LOG.status.
keel_run() {
    local name=$1 log=$logs/keel-$1.log cmdline args
    if [ "$name" = init_tour ]; then
        cmdline=$(env_of "$name")
    else
        cmdline="init=/bin/$name $(env_of "$name")"
    fi
    args=$(args_of "$name")
    [ -n "$args" ] && cmdline="$cmdline -- $args"
    echo "# cmdline: $cmdline" > "$log"
    # shellcheck disable=SC2086  # the command line is words
    KEEL_LOG= tools/run-qemu.sh --kernel "$kernel" --initramfs build/initramfs.cpio \
        --smp "$(smp_of "$name")" --timeout "$(timeout_of "$name")" -- $cmdline < /dev/null >> "$log" 2>&1
    echo $? > "$log.status"
}

if [ "$kernel_ok" = 1 ]; then
    jobs_max=${KEEL_USERLAND_JOBS:-2}
    echo "# running ${#programs[@]} programs under Keel, $jobs_max at a time"
    for name in "${programs[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
        keel_run "$name" &
    done
    wait
fi

for name in "${programs[@]}"; do
    log=$logs/keel-$name.log
    if [ "$kernel_ok" = 0 ]; then
        echo "not ok - keel/$name: no kernel $kernel or QEMU (see $logs/kernel-build.log, $logs/deps.log)"
        failed=$((failed + 1))
    else
        report keel "$name" "$log" "$(cat "$log.status" 2>/dev/null || echo 251)"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
