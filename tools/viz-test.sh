#!/bin/sh
# make test's layer for make viz: boots Tests/Userland/viz_tour.c once, draws
# the pictures into build/viz-test and checks them against the data they were
# drawn from (tools/viz.py --check: every frame drawn, the frames neither hole
# nor reserved = MemTotal, free frames = MemFree,
# a bar per maps line, the tour's faults by kind, every phase, files written).
# Prints "ok - name" lines and "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
exec /usr/bin/python3 tools/viz.py --check --out build/viz-test --timeout 90
