#!/usr/bin/python3
"""make wrr-report: does Keel's weighted round robin give each task the share of
its CPU it promises? Boots Keel in QEMU (tools/run-qemu.sh, as every test does)
once per CPU count with Tests/Userland/wrr_report.c as init: tasks of weights
1..20, CPU-bound, created one at a time, measured, then killed. Writes build/wrr-report/index.html with, per CPU count,
  shares-<n>cpu.png/.svg   each task's measured share of its CPU against the
                           share WRR promises: weight / total weight of its CPU
                           (on one CPU weight / 210)
  weights-<n>cpu.png/.svg  each CPU's total WRR weight over time (from
                           /proc/sched_wrr every 100 ms) and which CPU each task
                           was on: placement of new tasks, the balancer's moves
a table per CPU count, and summary.png (one of each, for the README). Prints one
summary line per CPU count.

    /usr/bin/python3 tools/wrr-report.py [--cpus 1,2,4] [--seconds S] [--out DIR]
                                         [--console N=LOG ...] [--check]

--seconds: how long the tasks are measured on one CPU (a WRR round there is
210 ticks, 2.1 s and the sampler's share); with n CPUs each CPU's round is about
1/n as long, so n CPUs measure for S/n seconds, about as many rounds. --console N=LOG analyses a console log
of an earlier run on N CPUs instead of booting. --check (make test) also checks
what the report says and prints "ok - NAME" / "not ok - NAME: why" lines and
"N passed, N failed".

How a share is measured: a task's CPU time is its utime + stime in
/proc/<pid>/stat, which Keel charges at the scheduler tick, as Linux does
without VIRT_CPU_ACCOUNTING: whoever runs when a 10 ms tick comes gets it. Not
loop iterations or wall-clock time: under QEMU's TCG a vCPU's speed follows the
host's load (0.15..1.1x of an idle host within seconds here), while WRR's
slices, and its promise, are counted in the guest's ticks. The tick only
observes whom WRR chose; a wrong slice, a skipped or doubled turn shows. A task
is measured over a window of whole rounds of its CPU (Run.window_share).

Why matplotlib, from Debian (python3-matplotlib, tools/ensure-deps.sh installs
it): a plotting library that is well kept, in Debian stable, and writes both PNG
and SVG, so the report needs no code of ours to draw axes. Run this script with
/usr/bin/python3, Debian's interpreter: a python3 earlier on PATH (pyenv, venv)
does not see Debian's packages.
"""
import argparse
import html
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE_SLICE_MS = 10      # a WRR task runs weight x 10 ms per turn (Tests/Userland/keel.h)

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:
    sys.exit(f"wrr-report: {e}: run with /usr/bin/python3 (Debian's), and apt-get install python3-matplotlib "
             f"(tools/ensure-deps.sh does); this is {sys.executable}")

CPU_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
PHASE_COLORS = {"ramp": "#e8f1fb", "settle": "#f3f3f3", "measure": "#eaf6ea", "drain": "#fbeeee"}


class Run:
    """One boot's console output, parsed."""

    def __init__(self, text, log_path):
        self.log_path = log_path
        begin, end = text.find("WRR-REPORT-BEGIN\n"), text.find("WRR-REPORT-END")
        if begin < 0 or end < 0:
            tail = "\n".join(text.strip().split("\n")[-15:])
            raise ValueError(f"{log_path}: no WRR-REPORT-BEGIN ... WRR-REPORT-END in the console; its end:\n{tail}")
        self.config, self.weights, self.pids, self.events, self.samples = {}, [], [], [], []
        for line in text[begin:end].split("\n")[1:]:
            f = line.split()
            if not f:
                continue
            if f[0] == "config":
                self.config = {k: float(v) for k, v in (x.split("=") for x in f[1:])}
            elif f[0] == "task":
                kv = dict(x.split("=") for x in f[2:])
                self.pids.append(int(kv["pid"]))
                self.weights.append(int(kv["weight"]))
            elif f[0] == "event":
                self.events.append((int(f[1]) / 1000, f[2], int(f[3].split("=")[1])))
            elif f[0] == "s":
                self.samples.append(dict(t=int(f[1]) / 1000, phase=f[2], totals=[int(x) for x in f[3].split(",")],
                                         cpu=[int(x) for x in f[4].split(",")],
                                         count=[int(x) for x in f[5].split(",")], own=int(f[6])))
            else:
                raise ValueError(f"{log_path}: unexpected line {line!r}")
        self.ncpus = int(self.config["cpus"])
        self.n = len(self.weights)
        if not self.samples or any(len(s["totals"]) != self.ncpus or len(s["cpu"]) != self.n for s in self.samples):
            raise ValueError(f"{log_path}: samples missing or of the wrong width")
        self.analyse()

    # ---- placement and balancing -------------------------------------------------

    def analyse(self):
        S = self.samples
        # Placement: a fork follows the sample taken at the same moment, so that
        # sample's totals are what the kernel chose from; the task's CPU is the
        # first one /proc/sched_wrr shows it on.
        self.placements = []    # (t, task, cpu, totals before, on a lightest CPU?)
        for t, what, i in self.events:
            if what != "fork":
                continue
            k = max(j for j, s in enumerate(S) if s["t"] <= t)
            first = next((s for s in S[k + 1:] if s["cpu"][i] >= 0), None)
            if first is None:
                continue
            before = S[k]["totals"]
            cpu = first["cpu"][i]
            self.placements.append((first["t"], i, cpu, before, before[cpu] == min(before)))
        # Moves: a queued task seen on another CPU in the next sample.
        self.moves = []         # (t, task, from, to, kind)
        for a, b in zip(S, S[1:]):
            for i in range(self.n):
                if a["cpu"][i] >= 0 and b["cpu"][i] >= 0 and a["cpu"][i] != b["cpu"][i]:
                    kind = "to an idle CPU" if a["totals"][b["cpu"][i]] == 0 else "balancer"
                    self.moves.append((b["t"], i, a["cpu"][i], b["cpu"][i], kind))
        self.shares()

    # ---- shares ---------------------------------------------------------------------

    def members(self, s, c):
        return tuple(i for i in range(self.n) if s["cpu"][i] == c)

    def shares(self):
        """Per CPU, the longest run of measure-phase samples over which its set of
        tasks and its total weight stayed the same; in it, per task, the longest
        window of whole WRR rounds that begins and ends while the task waits."""
        S = self.samples
        self.rows = {}          # task -> dict(cpu, total, promised, measured, rounds, t0, t1)
        self.windows = {}       # cpu -> dict(t0, t1, total, members, busy, foreign)
        for c in range(self.ncpus):
            best = None
            k = 0
            while k < len(S):
                if S[k]["phase"] != "measure" or not self.members(S[k], c):
                    k += 1
                    continue
                j = k
                while (j + 1 < len(S) and S[j + 1]["phase"] == "measure"
                       and self.members(S[j + 1], c) == self.members(S[k], c)
                       and S[j + 1]["totals"][c] == S[k]["totals"][c]):
                    j += 1
                if j > k and (best is None or j - k > best[1] - best[0]):
                    best = (k, j)
                k = j + 1
            if best is None:
                continue
            A, B = best
            total = S[A]["totals"][c]
            members = self.members(S[A], c)
            # WRR ticks: the CPU time of this CPU's WRR tasks so far, in clock ticks.
            W = {k: sum(S[k]["count"][i] for i in members) for k in range(A, B + 1)}
            span_ticks = (S[B]["t"] - S[A]["t"]) * self.config["clk_tck"]
            self.windows[c] = dict(t0=S[A]["t"], t1=S[B]["t"], total=total, members=members,
                                   busy=(W[B] - W[A]) / span_ticks if span_ticks else 0, ticks=W[B] - W[A],
                                   sampler=S[B]["own"] - S[A]["own"],
                                   foreign=total - sum(self.weights[i] for i in members))
            for i in members:
                self.rows[i] = self.window_share(i, c, A, B, W, total)

    def window_share(self, i, c, A, B, W, total):
        """Task i's share of its CPU over whole rounds. A round is `total` ticks of
        the CPU's WRR time (the sampler's ticks are no one's turn). A window whose
        WRR time is a whole number K of rounds (to 2 ticks) and whose ends fall
        where task i did not run (its count flat over the samples either side)
        holds exactly K of its turns, whatever the others were doing at the ends;
        a sample every 100 ms cuts turns, so without that a 10 ms turn would be
        counted 0 or 2 times at random. The longest such window counts."""
        S = self.samples
        count = [s["count"][i] for s in S]

        def waiting(k):
            return all(count[j] == count[k] for j in (k - 1, k + 1) if 0 <= j < len(S))

        ends = [k for k in range(A, B + 1) if waiting(k)]
        best = None
        for x, a in enumerate(ends):
            for e in ends[x + 1:]:
                ticks = W[e] - W[a]
                rounds = round(ticks / total)
                if rounds >= 1 and abs(ticks - rounds * total) <= 2 and (best is None or rounds > best[0]):
                    best = (rounds, a, e)
        rounds, a, e = best if best else (0, A, B)
        ticks = W[e] - W[a]
        return dict(cpu=c, total=total, promised=self.weights[i] / total, rounds=rounds, t0=S[a]["t"], t1=S[e]["t"],
                    measured=(count[e] - count[a]) / ticks if ticks else 0, ticks=count[e] - count[a])

    def starved(self):
        """Gaps between samples of more than three intervals in which fewer than a
        quarter of the CPUs' ticks were charged to anyone we sample: the host did
        not run QEMU (the tick is guest time, the sample times are the host's)."""
        S, gaps = self.samples, []
        for a, b in zip(S, S[1:]):
            span = b["t"] - a["t"]
            charged = sum(b["count"]) - sum(a["count"]) + b["own"] - a["own"]
            if (span * 1000 > 3 * self.config["interval_ms"]
                    and charged < 0.25 * span * self.config["clk_tck"] * self.ncpus):
                gaps.append((a["t"], b["t"]))
        return gaps

    def evened_after_cpu0_emptied(self):
        """After every task on CPU 0 was killed: by the end of the hold, CPU 0
        has work again and no two CPUs differ by more than the heaviest task
        left, the balancer's fixed point (it moves a waiting task of weight w
        from the heaviest to the lightest CPU while w < their gap)."""
        kills = sorted({t for t, what, _ in self.events if what == "kill"})
        if len(kills) < 2:
            return False, f"kills at {kills}: no mass kill followed by a hold"
        hold = [s for s in self.samples if kills[0] < s["t"] < kills[1]]
        if not hold:
            return False, "no samples during the hold"
        end = hold[-1]
        left = [self.weights[i] for i in range(self.n) if end["cpu"][i] >= 0]
        spread = max(end["totals"]) - min(end["totals"])
        why = (f"at {end['t']:.2f} s totals {end['totals']}, spread {spread}, heaviest task left "
               f"{max(left, default=0)}; lowest total right after the kill "
               f"{min(s['totals'][0] for s in hold)}")
        return bool(left) and min(end["totals"]) > 0 and spread <= max(left), why

    def max_error(self):
        """(task, measured - promised) of the largest absolute error, in shares."""
        worst = max(self.rows, key=lambda i: abs(self.rows[i]["measured"] - self.rows[i]["promised"]))
        return worst, self.rows[worst]["measured"] - self.rows[worst]["promised"]

    def summary(self):
        cpus = f"{self.ncpus} CPU{'s' if self.ncpus > 1 else ''}"
        if not self.rows:
            return f"{cpus}: no task could be measured (no stable stretch in the measure phase)"
        i, err = self.max_error()
        r = self.rows[i]
        on_lightest = sum(p[4] for p in self.placements)
        rounds = min(r["rounds"] for r in self.rows.values())
        return (f"{cpus}: max |measured - promised| share {abs(err) * 100:.2f} points (weight {self.weights[i]}: "
                f"{r['measured'] * 100:.2f} % measured, {r['promised'] * 100:.2f} % promised), each over {rounds} or more "
                f"whole rounds; {len(self.rows)}/{self.n} tasks measured; {on_lightest}/{len(self.placements)} "
                f"new tasks placed on a lightest CPU; {len(self.moves)} moves between CPUs")


# ---- plots -------------------------------------------------------------------------

def save(fig, out, name):
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), dpi=90)
    plt.close(fig)


def plot_shares(run, ax, err_ax=None):
    w = run.weights
    measured = [run.rows[i]["measured"] * 100 if i in run.rows else float("nan") for i in range(run.n)]
    promised = [run.rows[i]["promised"] * 100 if i in run.rows else float("nan") for i in range(run.n)]
    colors = [CPU_COLORS[run.rows[i]["cpu"] % len(CPU_COLORS)] if i in run.rows else "k" for i in range(run.n)]
    ax.bar(w, promised, width=0.8, color="#dddddd", edgecolor="#999999", label="promised: weight / total weight of its CPU")
    ax.scatter(w, measured, c=colors, s=28, zorder=3, edgecolors="k", linewidths=0.5)
    if run.ncpus == 1:
        ax.plot([0.5, run.n + 0.5], [50 / sum(w), (run.n + 0.5) * 100 / sum(w)], ls="--", lw=0.8, color="#555555",
                label=f"weight / {sum(w)}")
    for c in sorted(run.windows):
        ax.scatter([], [], color=CPU_COLORS[c % len(CPU_COLORS)], edgecolors="k", linewidths=0.5,
                   label=f"measured, CPU {c} (total weight {run.windows[c]['total']})")
    ax.set_xlabel("weight")
    ax.set_ylabel("share of its CPU (%)")
    ax.set_xticks(w)
    ax.set_xlim(0.4, run.n + 0.6)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"WRR on {run.ncpus} CPU{'s' if run.ncpus > 1 else ''}: measured share vs promised", fontsize=10)
    if err_ax is not None:
        err = [m - p for m, p in zip(measured, promised)]
        err_ax.bar(w, err, color=colors, edgecolor="k", linewidth=0.5)
        err_ax.axhline(0, color="k", lw=0.8)
        worst = max([abs(x) for x in err if x == x] + [0])
        err_ax.set_ylim(-max(0.5, 1.2 * worst), max(0.5, 1.2 * worst))   # small errors look small
        err_ax.set_xticks(w)
        err_ax.set_xlim(0.4, run.n + 0.6)
        err_ax.set_xlabel("weight")
        err_ax.set_ylabel("measured − promised\n(percentage points)", fontsize=8)


def plot_weights(run, ax, lanes_ax=None):
    S = run.samples
    t = [s["t"] for s in S]
    # Phase backgrounds, labelled at the top.
    start = 0
    for k in range(1, len(S) + 1):
        if k == len(S) or S[k]["phase"] != S[start]["phase"]:
            end = S[k]["t"] if k < len(S) else S[-1]["t"]
            for a in (ax, lanes_ax) if lanes_ax is not None else (ax,):
                a.axvspan(S[start]["t"], end, color=PHASE_COLORS.get(S[start]["phase"], "white"), zorder=0)
            ax.text((S[start]["t"] + end) / 2, 1.0, S[start]["phase"], transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=7, color="#555555")
            start = k
    starved = run.starved()
    for a, b in starved:
        ax.axvspan(a, b, facecolor="none", hatch="////", edgecolor="#999999", lw=0, zorder=1)
    if starved:
        ax.fill_between([], [], facecolor="none", hatch="////", edgecolor="#999999", lw=0,
                        label="QEMU not run by the host")
    kills = sorted(tm for tm, what, _ in run.events if what == "kill")
    if run.ncpus > 1 and kills:
        ax.axvline(kills[0], ls=":", color="#a00000", lw=0.8)
        ax.text(kills[0], 0.72, " CPU 0's tasks\n killed", transform=ax.get_xaxis_transform(), fontsize=7,
                color="#a00000", va="top")
    for c in range(run.ncpus):
        ax.step(t, [s["totals"][c] for s in S], where="post", color=CPU_COLORS[c % len(CPU_COLORS)], lw=1.4,
                label=f"CPU {c}")
    full = sum(run.weights)
    if run.ncpus > 1:
        ax.axhline(full / run.ncpus, ls=":", color="#555555", lw=0.8, label=f"even split {full}/{run.ncpus}")
    for tp, i, cpu, _, lightest in run.placements:
        k = next(j for j, s in enumerate(S) if s["t"] >= tp)
        ax.plot(tp, S[k]["totals"][cpu], marker="^" if lightest else "v", ms=4,
                color=CPU_COLORS[cpu % len(CPU_COLORS)], mec="k", mew=0.4, ls="none")
    for tm, i, a, b, kind in run.moves:
        k = next(j for j, s in enumerate(S) if s["t"] >= tm)
        ax.annotate("", xy=(tm, S[k]["totals"][b]), xytext=(tm, S[k - 1]["totals"][a]),
                    arrowprops=dict(arrowstyle="->", color="#333333", lw=0.6))
    ax.plot([], [], marker="^", ls="none", color="#777777", mec="k", mew=0.4, label="new task, placed on a lightest CPU")
    if any(not p[4] for p in run.placements):
        ax.plot([], [], marker="v", ls="none", color="#777777", mec="k", mew=0.4, label="new task, not on a lightest")
    ax.plot([], [], color="#333333", lw=0.6, label="a task moved (arrow: from its old CPU's total to its new one's)")
    ax.set_ylabel("total WRR weight")
    ax.set_ylim(0, 1.45 * max(max(s["totals"]) for s in S))    # room for the legend above the lines
    ax.legend(fontsize=6.5, loc="upper center", ncol=2)
    ax.set_title(f"/proc/sched_wrr on {run.ncpus} CPU{'s' if run.ncpus > 1 else ''}: each CPU's total weight",
                 fontsize=10, pad=14)
    if lanes_ax is None:
        ax.set_xlabel("time since the first task (s)")
        return
    for i in range(run.n):
        k = 0
        while k < len(S):
            c = S[k]["cpu"][i]
            j = k
            while j + 1 < len(S) and S[j + 1]["cpu"][i] == c:
                j += 1
            if c >= 0:
                end = S[j + 1]["t"] if j + 1 < len(S) else S[j]["t"]
                lanes_ax.plot([S[k]["t"], end], [run.weights[i]] * 2, color=CPU_COLORS[c % len(CPU_COLORS)],
                              lw=3, solid_capstyle="butt")
            k = j + 1
    lanes_ax.set_ylabel("task (its weight)\ncoloured by CPU", fontsize=8)
    lanes_ax.set_yticks([w for w in run.weights if w % 5 == 0 or w == 1])
    lanes_ax.set_ylim(0, run.n + 1)
    lanes_ax.set_xlabel("time since the first task (s)")


def write_plots(runs, out):
    for run in runs:
        fig, (a, b) = plt.subplots(2, 1, figsize=(8, 5.5), gridspec_kw=dict(height_ratios=[3, 1]), sharex=True)
        plot_shares(run, a, b)
        fig.tight_layout()
        save(fig, out, f"shares-{run.ncpus}cpu")
        fig, (a, b) = plt.subplots(2, 1, figsize=(10, 6), gridspec_kw=dict(height_ratios=[3, 2]), sharex=True)
        plot_weights(run, a, b)
        fig.tight_layout()
        save(fig, out, f"weights-{run.ncpus}cpu")
    # The README's picture: shares on the fewest CPUs, weights over time on the most.
    few, many = runs[0], runs[-1]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw=dict(width_ratios=[2, 3]))
    plot_shares(few, a)
    plot_weights(many, b)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "summary.png"), dpi=72)
    plt.close(fig)


# ---- the page ----------------------------------------------------------------------

def write_html(runs, out, seconds):
    esc = html.escape
    cfg = runs[0].config
    parts = [f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Keel: WRR report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:1em auto;line-height:1.4}}
table{{border-collapse:collapse;font-size:90%}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}
img{{max-width:100%}}.bad{{color:#b00}}code{{background:#f4f4f4}}</style></head><body>
<h1>Weighted round robin: promised and measured shares</h1>
<p>Made by <code>make wrr-report</code> (tools/wrr-report.py, Tests/Userland/wrr_report.c) on
{esc(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}. Twenty CPU-bound tasks of weights 1 to 20 were
created one every {cfg['ramp_ms']:.0f} ms, left alone, then killed. Under SCHED_WRR a task runs weight × 10 ms per turn, and
each CPU runs its own round robin over the tasks placed on it, so a task is promised
<b>weight / (total weight of its CPU)</b> of that CPU; on one CPU, weight / 210.</p>
<p><b>Measured share</b>: each task's CPU time is its utime + stime from <code>/proc/&lt;pid&gt;/stat</code>,
which Keel, like Linux, samples at the scheduler tick (the task running when a 10 ms tick comes is charged it),
read every {cfg['interval_ms']:.0f} ms. Within a stretch in which its CPU's tasks and total weight did not change, a task is measured
over the longest window of whole WRR rounds of its CPU (a round: total weight ticks of the CPU's WRR tasks' time)
that begins and ends while it waits, so that the window holds a whole number of its turns; its share is its
ticks / all WRR ticks of its CPU in that window. Not loop iterations or wall-clock time: under QEMU's TCG a vCPU's
speed follows the host's load, while WRR's slices, and its promise, are counted in the guest's ticks. The tick
only observes whom WRR chose to run; a wrong slice length, a skipped or doubled turn shows as an error.
The sampling itself runs as SCHED_FIFO (no part of any CPU's WRR weight) and takes
{esc(', '.join(f"{r.config['sample_ms']:.1f} ms per sample on {r.ncpus} CPU{'s' if r.ncpus > 1 else ''}" for r in runs))};
ticks it takes are no one's turn. On one CPU the measuring time was {seconds:g} s; with n CPUs {seconds:g}/n s,
about the same number of rounds.</p>
<p><b>Per-CPU weight over time</b> (from <code>/proc/sched_wrr</code>): ▲ a new task, on the CPU the kernel
placed it on, which should be a CPU with the least total weight at that moment (Linux: select_task_rq); arrows:
a task moving between CPUs, from the total it left to the one it joined: the periodic balancer (every 100 ms,
one task from the heaviest to the lightest CPU if that narrows the gap) or an idle CPU pulling work. Below it,
each task's lane, coloured by its CPU. In the drain phase with several CPUs every task on CPU 0 is killed at
once, and the balancer refills CPU 0; then the rest are killed one by one, heaviest first.</p>
"""]
    for run in runs:
        n = run.ncpus
        parts.append(f"<h2>{n} CPU{'s' if n > 1 else ''}</h2><p>{esc(run.summary())}</p>")
        parts.append(f'<p><a href="shares-{n}cpu.svg"><img src="shares-{n}cpu.png" alt="shares on {n} CPUs"></a></p>')
        parts.append("<table><tr><th>weight</th><th>pid</th><th>CPU</th><th>CPU's total weight</th>"
                     "<th>promised %</th><th>measured %</th><th>error (points)</th><th>error (relative)</th>"
                     "<th>ticks</th><th>whole rounds</th><th>window (s)</th></tr>")
        for i in range(run.n):
            r = run.rows.get(i)
            if r is None:
                parts.append(f"<tr><td>{run.weights[i]}</td><td>{run.pids[i]}</td>"
                             f"<td colspan=9 class=bad>not measured: not on one CPU through a stable stretch</td></tr>")
                continue
            e = r["measured"] - r["promised"]
            rounds = r["rounds"] or '<span class=bad>none: the whole stretch</span>'
            parts.append(f"<tr><td>{run.weights[i]}</td><td>{run.pids[i]}</td><td>{r['cpu']}</td><td>{r['total']}</td>"
                         f"<td>{r['promised'] * 100:.2f}</td><td>{r['measured'] * 100:.2f}</td><td>{e * 100:+.2f}</td>"
                         f"<td>{e / r['promised'] * 100:+.1f} %</td><td>{r['ticks']}</td><td>{rounds}</td>"
                         f"<td>{r['t0']:.2f}–{r['t1']:.2f}</td></tr>")
        parts.append("</table>")
        parts.append("<p>Stable stretches: " + "; ".join(
            f"CPU {c}: {w['t0']:.2f}–{w['t1']:.2f} s, total weight {w['total']}, its WRR tasks were charged "
            f"{w['ticks']} ticks, {w['busy'] * 100:.0f} % of the {run.config['clk_tck']:.0f} a second of wall time, "
            f"the sampler {w['sampler']} (on any CPU)"
            + (f", <span class=bad>{w['foreign']} weight of other WRR tasks</span>" if w["foreign"] else "")
            for c, w in sorted(run.windows.items()))
            + ". Ticks not charged to these went to the kernel or never came: QEMU delivers a vCPU's timer "
            "ticks that fell due while the host did not run it as one.</p>")
        parts.append(f'<p><a href="weights-{n}cpu.svg"><img src="weights-{n}cpu.png" alt="weights on {n} CPUs"></a></p>')
        off = [p for p in run.placements if not p[4]]
        parts.append(f"<p>Placement: {len(run.placements) - len(off)} of {len(run.placements)} new tasks went to a "
                     "CPU with the least total weight in the sample taken just before the fork"
                     + ("" if not off else " (not: " + ", ".join(
                         f"weight {run.weights[i]} on CPU {c} at {t:.2f} s, totals {b}" for t, i, c, b, _ in off) + ")")
                     + ".</p>")
        if run.moves:
            parts.append("<p>Moves between CPUs: " + "; ".join(
                f"{t:.2f} s weight {run.weights[i]} CPU {a}→{b} ({k})" for t, i, a, b, k in run.moves) + ".</p>")
        parts.append(f"<p>Console log: <code>{esc(os.path.relpath(run.log_path, out))}</code>.</p>")
    parts.append("</body></html>\n")
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write("\n".join(parts))


# ---- booting -----------------------------------------------------------------------

def boot(ncpus, seconds, out):
    measure_ms = round(seconds * 1000 / ncpus)
    log = os.path.join(out, f"console-{ncpus}cpu.log")
    cmd = [os.path.join(ROOT, "tools", "run-qemu.sh"), "--kernel", os.path.join(ROOT, "build", "keel.elf"),
           "--initramfs", os.path.join(ROOT, "build", "initramfs.cpio"), "--smp", str(ncpus),
           "--timeout", str(int(measure_ms / 1000) + 90), "--", "init=/bin/wrr_report", "--", "-m", str(measure_ms)]
    started = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    with open(log, "w") as f:
        f.write(text)
    print(f"wrr-report: {ncpus} CPU{'s' if ncpus > 1 else ''}: QEMU ran {time.monotonic() - started:.0f} s, "
          f"status {p.returncode}", file=sys.stderr)
    if p.returncode != 0:
        raise ValueError(f"Keel on {ncpus} CPUs ended with status {p.returncode}; console in {log}")
    return text, log


# ---- --check -----------------------------------------------------------------------

# On one CPU a task is promised weight/210; neighbours differ by 1/210 = 0.48
# points. Over whole rounds the measured share should be within 10 % of the
# promise, or 0.1 points for the lightest tasks.
TOLERANCE_REL, TOLERANCE_ABS = 0.10, 0.001


def checks(runs, out):
    results = []

    def check(name, ok, why=""):
        results.append((name, ok, why))

    for run in runs:
        n = run.ncpus
        check(f"wrr_report_{n}cpu_every_task_measured", len(run.rows) == run.n,
              f"measured {sorted(run.weights[i] for i in run.rows)}")
        every = all(all(x >= 0 for x in s["totals"]) for s in run.samples)
        used = [c for c in range(n) if any(s["totals"][c] > 0 for s in run.samples)]
        check(f"wrr_report_{n}cpu_weight_samples_for_every_cpu", every and len(used) == n and len(run.samples) >= 20,
              f"{len(run.samples)} samples; CPUs with weight at some time: {used}; all present: {every}")
        if n > 1:
            on_lightest = sum(p[4] for p in run.placements)
            check(f"wrr_report_{n}cpu_new_tasks_on_a_lightest_cpu", on_lightest >= 0.9 * run.n,
                  f"{on_lightest} of {run.n} placed on a CPU with the least total weight")
            ok, why = run.evened_after_cpu0_emptied()
            check(f"wrr_report_{n}cpu_balancer_evens_out_after_cpu0_emptied", ok, why)
        if n == 1 and len(run.rows) == run.n:
            m = [run.rows[i]["measured"] for i in range(run.n)]
            check("wrr_report_1cpu_shares_increase_with_weight", all(a < b for a, b in zip(m, m[1:])),
                  "measured % by weight: " + " ".join(f"{x * 100:.2f}" for x in m))
            bad = [(run.weights[i], r["measured"], r["promised"]) for i, r in run.rows.items()
                   if abs(r["measured"] - r["promised"]) > max(TOLERANCE_REL * r["promised"], TOLERANCE_ABS)]
            check("wrr_report_1cpu_shares_within_10_percent_of_weight_over_210",
                  not bad and all(r["total"] == sum(run.weights) for r in run.rows.values()),
                  "; ".join(f"weight {w}: {m * 100:.2f} % vs {p * 100:.2f} %" for w, m, p in bad))
    files = ["index.html", "summary.png"] + [f"{k}-{r.ncpus}cpu.{e}" for r in runs for k in ("shares", "weights")
                                              for e in ("png", "svg")]
    empty = [f for f in files if not os.path.isfile(os.path.join(out, f)) or os.path.getsize(os.path.join(out, f)) == 0]
    check("wrr_report_files_written", not empty, f"missing or empty: {empty}")
    for name, ok, why in results:
        print(f"ok - {name}" if ok else f"not ok - {name}: {why}")
    failed = sum(not ok for _, ok, _ in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return failed == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpus", default="1,2,4", help="CPU counts, comma-separated (default 1,2,4)")
    ap.add_argument("--seconds", type=float, default=42, help="measuring time on one CPU (n CPUs: seconds/n)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "wrr-report"))
    ap.add_argument("--console", action="append", default=[], metavar="N=LOG",
                    help="analyse this console log of a run on N CPUs instead of booting")
    ap.add_argument("--check", action="store_true", help="also check the results (make test)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    started = time.monotonic()
    runs = []
    try:
        if args.console:
            for spec in args.console:
                _, path = spec.split("=", 1)
                with open(path) as f:
                    runs.append(Run(f.read().replace("\r\n", "\n"), path))
        else:
            for n in sorted(int(x) for x in args.cpus.split(",")):
                runs.append(Run(*boot(n, args.seconds, args.out)))
    except ValueError as e:
        print(f"wrr-report: {e}", file=sys.stderr)
        if args.check:
            print("not ok - wrr_report_runs: " + str(e).split("\n")[0])
            print("0 passed, 1 failed")
        return 1
    runs.sort(key=lambda r: r.ncpus)
    write_plots(runs, args.out)
    write_html(runs, args.out, args.seconds)
    for run in runs:
        print(run.summary())
    print(f"wrr-report: {os.path.relpath(os.path.join(args.out, 'index.html'))} "
          f"({time.monotonic() - started:.0f} s)")
    return 0 if not args.check or checks(runs, args.out) else 1


if __name__ == "__main__":
    sys.exit(main())
