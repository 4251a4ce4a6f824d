#!/bin/bash
# make test: every layer, one summary line.
#   layer 1  host XCTest of Kernel/Core (swift test)
#   layer 2  Tests/Userland programs on the host Linux, then under Keel
#   layer 3  QEMU boot tests (Tests/Boot/boot_tests.py)
#   layer 4  a short make wrr-report and its checks (tools/wrr-report-test.sh)
#   layer 5  make viz's capture and pictures, checked against their data (tools/viz-test.sh)
# plus make check's static checks (the kernel image; the source layers), one test each.
# Prints "N passed, N failed" over all layers; exits 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0
logdir=build/test-logs
mkdir -p "$logdir"

echo "== layer 1: host unit tests (swift test)"
swift test --disable-swift-testing 2>&1 | tee "$logdir/host.log" | grep -E "error:|failed|Executed .* tests" | tail -n 20
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$logdir/host.log" | tail -n 1)
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    fails=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
    passed=$((passed + total - fails)); failed=$((failed + fails))
else
    echo "host unit tests did not run (build failure?): see $logdir/host.log"
    failed=$((failed + 1))
fi

echo "== static checks of the kernel image and the source layers (make check)"
if tools/check-kernel.sh build/keel.elf; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
if tools/check-layers.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

for layer in tools/userland-tests.sh Tests/Boot/boot_tests.py tools/wrr-report-test.sh tools/viz-test.sh; do
    if [ ! -x "$layer" ]; then
        echo "not ok - $layer is not executable: that layer did not run"; failed=$((failed + 1)); continue
    fi
    echo "== $layer"
    "$layer" 2>&1 | tee "$logdir/$(basename "$layer").log"
    line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$logdir/$(basename "$layer").log" | tail -n 1)
    if [ -n "$line" ]; then
        passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
        failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
    else
        echo "$layer printed no summary"; failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
