#!/bin/sh
# make test's layer for make wrr-report: a short report (1 and 2 CPUs, 8 s of
# measuring on one CPU) into build/wrr-report-test, then its checks
# (tools/wrr-report.py --check): every task measured; on 1 CPU the shares
# increase with the weight and each is within 10 % of weight/210; samples of
# every CPU's total weight; the page and its images written and not empty.
# Debian's /usr/bin/python3, which sees python3-matplotlib.
cd "$(dirname "$0")/.." || exit 1
exec /usr/bin/python3 tools/wrr-report.py --check --cpus 1,2 --seconds 8 --out build/wrr-report-test
