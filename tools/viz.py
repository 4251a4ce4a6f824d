#!/usr/bin/python3
"""make viz: pictures of a booted Keel's memory, for a browser.

Boots build/keel.elf with init=/bin/viz_tour (Tests/Userland/viz_tour.c, which
says what it does and the dump format), keeps the console in OUT/console.log,
decodes the dump and writes OUT/index.html (default build/viz) with three
pictures:

  physical-memory.png  every frame 0 .. the end of the last zone, a row per
                       1 MiB (more on bigger machines), coloured by owner from
                       /proc/kpageflags and /proc/kpageorder, a panel per zone
                       of /proc/zoneinfo
  address-space.png    viz_tour's VMAs from /proc/self/maps, taken while a
                       forked child shares its pages, each page coloured from
                       /proc/self/pagemap, /proc/kpagecount and /proc/kpageflags
  faults.png           the keel:fault_resolved events by kind over time, the
                       tour's phases (its trace_marker lines) shaded

  tools/viz.py                     boot, draw (make viz)
  tools/viz.py --log FILE          draw from a console log saved before, e.g.
                                   viz_tour's output on the host Linux
  tools/viz.py --check             also check the pictures against the data and
                                   print "ok - name" lines and "N passed, N
                                   failed" (make test runs this: tools/viz-test.sh)

Drawing uses matplotlib (Debian's python3-matplotlib, with numpy): it is well
kept, in Debian stable, and writes PNG (for the README) and SVG from the same
code. Run it with /usr/bin/python3: the python3 first on PATH may be one
without Debian's packages. The address-space picture is matplotlib too, but
laid out by hand (a row per VMA, rows not to one scale): one linear axis
cannot show a 4 KiB page 128 TiB from the next VMA.
"""
import argparse
import html
import os
import re
import subprocess
import sys
import time

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    import numpy as np
except ImportError as e:
    sys.exit(f"viz.py: {e}; run: apt-get install -y python3-matplotlib, and use /usr/bin/python3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = 4096
NOT_FREE = 0xFFFFFFFFFFFFFFFF
PCP_BIT = 0x100

# kpageflags bits (Linux: include/uapi/linux/kernel-page-flags.h)
# (the ones the pictures use)
KPF = dict(UPTODATE=3, LRU=5, SLAB=7, BUDDY=10, MMAP=11, ANON=12, SWAPBACKED=14, NOPAGE=20, ZERO_PAGE=24,
           PGTABLE=26, RESERVED=32)


def bit(name):
    return np.uint64(1 << KPF[name])


# ---------------------------------------------------------------- the dump

class Capture:
    """What viz_tour printed: facts, text files and tables."""

    def __init__(self):
        self.facts = {}        # key -> list of value lists
        self.texts = {}        # name -> list of lines
        self.tables = {}       # kpage* name -> np.uint64 array
        self.vma_tables = []   # (name, start, end, np.uint64 array), in dump order
        self.console_bytes = 0
        self.dump_bytes = 0

    def fact(self, key, index=0, default=None):
        values = self.facts.get(key)
        return values[0][index] if values and len(values[0]) > index else default

    def expectations(self):
        return {v[0]: int(v[1]) for v in self.facts.get("expect", [])}


def decode_tokens(tokens):
    values, counts = [], []
    for t in tokens:
        v, _, c = t.partition("*")
        values.append(int(v, 16))
        counts.append(int(c) if c else 1)
    return np.repeat(np.array(values, dtype=np.uint64), np.array(counts, dtype=np.int64))


def parse(raw):
    """Decodes the console text between the KEEL-VIZ markers; raises ValueError
    if the dump is missing, cut short or lost entries on the way."""
    cap = Capture()
    cap.console_bytes = len(raw)
    text = raw.replace("\r\n", "\n")
    begin, end = text.find("==== KEEL-VIZ BEGIN"), text.find("==== KEEL-VIZ END")
    if begin < 0 or end < begin:
        raise ValueError("no complete KEEL-VIZ dump on the console (did viz_tour run and finish?)")
    body = text[begin:end]
    cap.dump_bytes = len(body)
    current = None          # ("T", name, lines) or ("R", name, args, tokens)
    for line in body.split("\n"):
        if not line.startswith("V:"):
            continue
        kind, rest = line[2], line[3:]
        if kind == "K":
            words = rest.split()
            cap.facts.setdefault(words[0], []).append(words[1:])
        elif kind == "T":
            current = ("T", rest.strip(), [])
        elif kind == "|" and current and current[0] == "T":
            current[2].append(rest)
        elif kind == "R":
            words = rest.split()
            current = ("R", words[0], words[1:], [])
        elif kind == "=" and current and current[0] == "R":
            current[3].extend(rest.split())
        elif kind == "E" and current:
            words = rest.split()
            if current[0] == "T":
                cap.texts[current[1]] = current[2]
            else:
                try:
                    values = decode_tokens(current[3])
                except ValueError as e:
                    raise ValueError(f"table {current[1]}: a garbled token ({e}): console data mixed up") from None
                if len(words) < 2 or len(values) != int(words[1]):
                    raise ValueError(f"table {current[1]}: {len(values)} entries decoded, the tour sent "
                                     f"{words[1] if len(words) > 1 else '?'}: console data lost")
                if current[2]:
                    cap.vma_tables.append((current[1], int(current[2][0], 16), int(current[2][1], 16), values))
                else:
                    cap.tables[current[1]] = values
            current = None
    return cap


def zones(cap, empty=False):
    """[(name, start_pfn, spanned, present, managed, free)] from /proc/zoneinfo
    (only those that span frames, unless `empty`)."""
    out, zone = [], None
    for line in cap.texts.get("zoneinfo", []):
        m = re.match(r"Node\s+\d+,\s+zone\s+(\S+)", line)
        if m:
            zone = dict(name=m.group(1))
            out.append(zone)
            continue
        m = re.match(r"\s*(pages free|spanned|present|managed|start_pfn:)\s+(\d+)", line)
        if m and zone is not None:
            zone.setdefault(m.group(1).rstrip(":").replace("pages ", ""), int(m.group(2)))
    return [(z["name"], z.get("start_pfn", 0), z.get("spanned", 0), z.get("present", 0), z.get("managed", 0),
             z.get("free", 0)) for z in out if empty or z.get("spanned", 0) > 0]


def meminfo_kib(cap, name, key):
    for line in cap.texts.get(name, []):
        m = re.match(rf"{key}:\s+(\d+) kB", line)
        if m:
            return int(m.group(1))
    return None


# ------------------------------------------------------- physical memory

# (key, label, colour); the free frames' categories follow, FREE0 + buddy order.
CATEGORIES = [
    ("outside", "(no frame: row padding)", "#ffffff"),
    ("hole", "hole (no struct page)", "#d9d9d9"),
    ("reserved", "kernel: reserved (image, memmap, early)", "#303030"),
    ("kernel", "allocated, no owner flag (e.g. kernel stacks)", "#8c8c8c"),
    ("slab", "slab", "#9467bd"),
    ("pgtable", "page table", "#e377c2"),
    ("anon", "anonymous", "#d62728"),
    ("file", "page cache / file", "#ff7f0e"),
    ("shmem", "shmem", "#bcbd22"),
    ("zero", "the zero page (circled)", "#17becf"),
    ("pcp", "free, on a CPU's per-CPU list", "#1f77b4"),
]
FREE_ORDERS = 11
CAT = {key: i for i, (key, _, _) in enumerate(CATEGORIES)}
FREE0 = len(CATEGORIES)


def free_colours():
    ramp = plt.get_cmap("Greens")
    return [matplotlib.colors.to_hex(ramp(0.25 + 0.75 * k / (FREE_ORDERS - 1))) for k in range(FREE_ORDERS)]


def rgb(colours):
    """An array of RGB rows from "#rrggbb" strings, for indexing by category."""
    return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.uint8)


def classify_frames(cap, nframes):
    """A category index for every PFN below nframes (free first: kpageorder
    is the allocator's own view; then the owner kpageflags names)."""
    flags = cap.tables.get("kpageflags", np.zeros(0, dtype=np.uint64))
    f = np.zeros(nframes, dtype=np.uint64)
    f[:min(nframes, len(flags))] = flags[:nframes]
    has = lambda name: (f & bit(name)) != 0
    cat = np.full(nframes, CAT["kernel"], dtype=np.int16)
    cat[has("RESERVED")] = CAT["reserved"]
    cat[has("LRU") | has("MMAP") | has("UPTODATE")] = CAT["file"]
    cat[has("SWAPBACKED") & ~has("ANON")] = CAT["shmem"]
    cat[has("ANON")] = CAT["anon"]
    cat[has("PGTABLE")] = CAT["pgtable"]
    cat[has("SLAB")] = CAT["slab"]
    cat[has("ZERO_PAGE")] = CAT["zero"]
    order = cap.tables.get("kpageorder")
    if order is not None:
        o = np.full(nframes, NOT_FREE, dtype=np.uint64)
        o[:min(nframes, len(order))] = order[:nframes]
        free = o != np.uint64(NOT_FREE)
        pcp = free & ((o & np.uint64(PCP_BIT)) != 0)
        buddy = free & ~pcp
        cat[buddy] = FREE0 + np.minimum(o[buddy] & np.uint64(0xff), FREE_ORDERS - 1).astype(np.int16)
        cat[pcp] = CAT["pcp"]
    else:
        # The host has no kpageorder: only a free block's head shows (KPF_BUDDY).
        cat[has("BUDDY")] = FREE0
    cat[has("NOPAGE")] = CAT["hole"]
    return cat


def row_width(nframes):
    """Frames per row: 1 MiB, doubled until there are at most 320 rows."""
    width = 256
    while nframes / width > 320:
        width *= 2
    return width


DETAIL_ROWS = 40


def draw_physical(cap, out_png):
    """A panel per zone (and one for the frames below the first zone), every
    frame a square; then, enlarged, the rows that hold a frame in use (on a
    machine that has just booted, a few MiB among free order-10 blocks)."""
    zs = zones(cap)
    if not zs:
        raise ValueError("no zones in /proc/zoneinfo")
    end = max(start + spanned for _, start, spanned, *_ in zs)
    cat = classify_frames(cap, end)
    segments, pos = [], 0
    for name, start, spanned, *_ in sorted(zs, key=lambda z: z[1]):
        if start > pos:
            segments.append(("below the first zone" if pos == 0 else "between zones", pos, start - pos))
        segments.append((name, start, spanned))
        pos = start + spanned
    width = row_width(end)
    per_pixel = max(1, width // 1024)
    colours = rgb([c for _, _, c in CATEGORIES] + free_colours())
    rows = [-(-((start + length) - start // width * width) // width) for _, start, length in segments]
    # The rows worth enlarging: any frame neither free nor outside.
    padded = np.full(-(-end // width) * width, CAT["outside"], dtype=np.int16)
    padded[:end] = cat
    busy_rows = np.nonzero(((padded < FREE0) & (padded != CAT["pcp"]) & (padded != CAT["outside"]))
                           .reshape(-1, width).any(axis=1))[0][:DETAIL_ROWS]
    scale = 2 if width // per_pixel <= 256 else 1          # screen pixels per frame, main map
    panel_px = [max(r * scale, 14) for r in rows]
    detail_px = len(busy_rows) * 12
    heights = panel_px + [detail_px]
    fig_h = (sum(heights) + 60 * len(heights) + 60) / 100
    fig = plt.figure(figsize=(12, fig_h), dpi=100)
    grid_spec = fig.add_gridspec(len(heights), 1, height_ratios=heights, hspace=0.0, left=0.09, right=0.66,
                                 top=1 - 0.75 / fig_h, bottom=0.3 / fig_h)
    # 60 px between panels, for titles and tick labels
    grid_spec.update(hspace=60 * len(heights) / sum(heights))
    drawn = 0
    for i, ((name, start, length), nrows) in enumerate(zip(segments, rows)):
        ax = fig.add_subplot(grid_spec[i])
        first = start // width * width
        grid = np.full(nrows * width, CAT["outside"], dtype=np.int16)
        grid[start - first:start - first + length] = cat[start:start + length]
        drawn += int((grid != CAT["outside"]).sum())     # the squares painted: every frame once?
        grid = grid.reshape(nrows, width)
        if per_pixel > 1:       # big machines: a pixel shows the most telling frame of its group
            grid = grid.reshape(nrows, width // per_pixel, per_pixel)
            grid = np.where((grid >= FREE0).all(axis=2), grid.min(axis=2),
                            np.where(grid >= FREE0, -1, grid).max(axis=2)).astype(np.int16)
        ax.imshow(colours[grid], aspect="auto", interpolation="nearest",
                  extent=(0, width, first + nrows * width, first))
        frame_axes(ax, width, first, first + nrows * width, max(1, min(6, nrows * scale // 40)))
        seg_cat = cat[start:start + length]
        nfree = int(((seg_cat >= FREE0) | (seg_cat == CAT["pcp"])).sum())
        ax.set_title(f"{name}: PFN {start}-{start + length - 1} ({mib_label(length * PAGE)}), "
                     f"{nfree} frames free", fontsize=9, loc="left")
    if len(busy_rows):
        ax = fig.add_subplot(grid_spec[len(segments)])
        detail = padded.reshape(-1, width)[busy_rows]
        ax.imshow(colours[detail], aspect="auto", interpolation="nearest", extent=(0, width, len(busy_rows), 0))
        for k in np.nonzero(np.diff(busy_rows) > 1)[0]:      # rows left out between these two
            ax.axhline(k + 1, color="white", lw=2.5)
        for z in np.nonzero(cat == CAT["zero"])[0]:
            r = np.nonzero(busy_rows == z // width)[0]
            if len(r):
                ax.plot([z % width + 0.5], [r[0] + 0.5], "o", ms=10, mfc="none", mec="black", mew=1.3)
        ax.set_xlim(0, width)
        ax.set_xticks(np.linspace(0, width, 5))
        ax.set_xticklabels([mib_label(x * PAGE) for x in np.linspace(0, width, 5)], fontsize=7)
        ax.set_yticks(np.arange(len(busy_rows)) + 0.5)
        ax.set_yticklabels([mib_label(r * width * PAGE) for r in busy_rows], fontsize=6.5)
        ax.set_title(f"enlarged: the {len(busy_rows)} rows with a frame in use (each {mib_label(width * PAGE)}, "
                     f"at the address on the left; a white line: rows left out)", fontsize=9, loc="left")
    counts = np.bincount(cat, minlength=FREE0 + FREE_ORDERS)
    handles = [Patch(facecolor=c, edgecolor="#999999", label=f"{label}: {counts[i]}")
               for i, (key, label, c) in enumerate(CATEGORIES) if key != "outside"]
    handles += [Patch(facecolor=c, edgecolor="#999999", label=f"free, in a buddy block of order {k}: {counts[FREE0 + k]}")
                for k, c in enumerate(free_colours())]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.68, 1 - 0.5 / fig_h), fontsize=8,
               title="frames by owner (counts)", title_fontsize=9, frameon=False)
    fig.suptitle(f"Physical memory: {end} frames of 4 KiB, a row = {mib_label(width * PAGE)}, low addresses first",
                 fontsize=11, x=0.02, ha="left")
    fig.savefig(out_png)
    plt.close(fig)
    return dict(frames_drawn=drawn, pfn_end=end, row_frames=width, counts=counts,
                free=int(counts[FREE0:].sum() + counts[CAT["pcp"]]), pcp=int(counts[CAT["pcp"]]))


def frame_axes(ax, width, top, bottom, yticks):
    """Ticks in bytes: the offset in the row across, the row's address down."""
    ax.set_xlim(0, width)
    ax.set_ylim(bottom, top)
    ax.set_xticks(np.linspace(0, width, 5))
    ax.set_xticklabels([mib_label(x * PAGE) for x in np.linspace(0, width, 5)], fontsize=7)
    yt = np.linspace(top, bottom, yticks + 1)
    ax.set_yticks(yt)
    ax.set_yticklabels([mib_label(y * PAGE) for y in yt], fontsize=7)


def mib_label(nbytes):
    for unit, size in (("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= size:
            v = nbytes / size
            return f"{v:.0f} {unit}" if v == int(v) or v >= 100 else f"{v:.1f} {unit}"
    return f"{int(nbytes)} B"


# ---------------------------------------------------------- address space

MAPS_LINE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s*(.*)$")

# page states, in the order a pixel showing several pages picks the first
PAGE_STATES = [
    ("cow", "anonymous, COW-shared with the child (not exclusive, mapcount > 1)", "#7b3294"),
    ("anon", "anonymous, this process's own", "#d62728"),
    ("shmem", "present, shmem (MAP_SHARED anonymous)", "#bcbd22"),
    ("file", "present, file page", "#ff7f0e"),
    ("zero", "the zero page (read, never written)", "#17becf"),
    ("present", "present, other", "#f4a582"),
    ("absent", "not present (never touched)", "#eeeeee"),
]
STATE = {key: i for i, (key, _, _) in enumerate(PAGE_STATES)}


def page_states(private, pagemap, pagecount, pageflags):
    """A PAGE_STATES index per page. COW-shared: an anonymous page of a private
    mapping that is not exclusive and mapped more than once (here: by the
    child too); a file page mapped twice is just a file page."""
    present = (pagemap >> np.uint64(63)) & np.uint64(1) == 1
    exclusive = (pagemap >> np.uint64(56)) & np.uint64(1) == 1
    file_or_shared = (pagemap >> np.uint64(61)) & np.uint64(1) == 1
    has = lambda name: (pageflags & bit(name)) != 0
    known = pageflags != 0
    anon = np.where(known, has("ANON"), ~file_or_shared)
    st = np.full(len(pagemap), STATE["absent"], dtype=np.int16)
    st[present] = STATE["present"]
    st[present & ~anon & np.where(known, has("LRU") | has("MMAP") | has("UPTODATE"), file_or_shared)] = STATE["file"]
    st[present & ~anon & has("SWAPBACKED")] = STATE["shmem"]
    st[present & anon] = STATE["anon"]
    if private:
        st[present & anon & ~exclusive & (pagecount > 1)] = STATE["cow"]
    st[present & has("ZERO_PAGE")] = STATE["zero"]
    return st


def vmas(cap):
    """[(start, end, perms, name, states or None)] from the snapshot's maps,
    highest address first (the stack at the top, as the usual drawing)."""
    tables = {}
    for name, start, end, values in cap.vma_tables:
        tables.setdefault(start, {})[name] = values
    out = []
    for line in cap.texts.get("maps", []):
        m = MAPS_LINE.match(line)
        if not m:
            continue
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        t = tables.get(start, {})
        states = None
        if "pagemap" in t:
            flags = t.get("pageflags", np.zeros(len(t["pagemap"]), dtype=np.uint64))
            counts = t.get("pagecount", np.zeros(len(t["pagemap"]), dtype=np.uint64))
            states = page_states(m.group(3)[3] == "p", t["pagemap"], counts, flags)
        out.append((start, end, m.group(3), m.group(5).strip(), states))
    return sorted(out, key=lambda v: -v[0])


def vma_role(cap, start, name):
    """What the VMA is, in a few words."""
    for key, what in (("arena", "arena: private anonymous"), ("shmem", "MAP_SHARED anonymous"),
                      ("file", "its own file, mapped")):
        if cap.fact(key) and int(cap.fact(key), 16) == start:
            return what
    if name:
        return os.path.basename(name) if name.startswith("/") else name
    return "anonymous"


def draw_address_space(cap, out_png):
    vs = vmas(cap)
    if not vs:
        raise ValueError("no maps lines in the dump")
    biggest = max((e - s) // PAGE for s, e, *_ in vs)
    bar = 620                       # pixels for the biggest VMA
    colours = rgb([c for _, _, c in PAGE_STATES])
    fig_h = 1.3 + 0.42 * len(vs)
    fig, ax = plt.subplots(figsize=(13, fig_h), dpi=100)
    fig.subplots_adjust(left=0.33, right=0.98, top=1 - 0.7 / fig_h, bottom=0.9 / fig_h)
    totals = np.zeros(len(PAGE_STATES), dtype=np.int64)
    for row, (start, end, perms, name, states) in enumerate(vs):
        pages = (end - start) // PAGE
        # Widths grow with log2(pages): a 1-page VMA is 40 px, the biggest `bar`.
        w = int(40 + (bar - 40) * np.log2(pages) / max(1.0, np.log2(biggest)))
        y = len(vs) - 1 - row
        if states is None:
            states = np.full(pages, STATE["absent"], dtype=np.int16)
        totals += np.bincount(states, minlength=len(PAGE_STATES))
        pixels = np.full(w, STATE["absent"], dtype=np.int16)
        # Each pixel shows the most telling state among its pages.
        first = (np.arange(len(states)) * w) // max(1, pages)
        last = ((np.arange(len(states)) + 1) * w - 1) // max(1, pages)
        for s in range(len(PAGE_STATES) - 1, -1, -1):
            idx = np.nonzero(states == s)[0]
            for a, b in zip(first[idx], last[idx]):
                pixels[a:b + 1] = s
        ax.imshow(colours[pixels][None, :, :], aspect="auto", interpolation="nearest",
                  extent=(0, w, y - 0.32, y + 0.32))
        ax.add_patch(matplotlib.patches.Rectangle((0, y - 0.32), w, 0.64, fill=False, ec="#555555", lw=0.6))
        if pages <= 64:
            for k in range(1, pages):
                ax.plot([k * w / pages] * 2, [y - 0.32, y + 0.32], color="white", lw=0.4)
        resident = int((states != STATE["absent"]).sum())
        ax.text(-12, y, f"{start:x}-{end:x} {perms} {vma_role(cap, start, name)}", ha="right", va="center",
                fontsize=8, family="monospace")
        ax.text(w + 8, y, f"{mib_label(pages * PAGE)}, {resident}/{pages} pages resident", va="center", fontsize=7.5)
        if row + 1 < len(vs):
            gap = start - vs[row + 1][1]
            if gap > 0:
                ax.text(-12, y - 0.5, f"(gap of {mib_label(gap)})", va="center", ha="right", fontsize=6.5,
                        color="#777777", style="italic")
    ax.set_xlim(0, bar + 190)
    ax.set_ylim(-0.7, len(vs) - 0.3)
    ax.axis("off")
    handles = [Patch(facecolor=c, edgecolor="#999999", label=f"{label}: {totals[i]}")
               for i, (_, label, c) in enumerate(PAGE_STATES)]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Address space of viz_tour (pid {cap.fact('pid')}) after fork, child {cap.fact('child')} "
                 "alive: a row per VMA, highest address on top; bar length grows with log2(size), "
                 "pages to scale inside a bar", fontsize=9.5, x=0.01, ha="left")
    fig.savefig(out_png)
    plt.close(fig)
    return dict(vmas_drawn=len(vs), maps_lines=sum(1 for l in cap.texts.get("maps", []) if l.strip()),
                page_totals={PAGE_STATES[i][0]: int(totals[i]) for i in range(len(PAGE_STATES))})


# --------------------------------------------------------------- faults

TRACE_LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+\s+)?(\d+\.\d+):\s+(\w+):\s*(.*)$")
KINDS = ["zero_page", "zero_fill", "cow_copy", "cow_reuse", "file_read", "page_cache", "shmem", "stack_growth", "spurious",
         "sigsegv", "sigbus"]
KIND_COLOURS = dict(zero_page="#17becf", zero_fill="#2ca02c", cow_copy="#7b3294", cow_reuse="#c2a5cf",
                    file_read="#ff7f0e", page_cache="#ffbb78", shmem="#bcbd22", stack_growth="#8c564b",
                    spurious="#7f7f7f", sigsegv="#d62728", sigbus="#9467bd")


def trace_events(cap):
    """(faults [(t, kind, pid, address)], phases [(t, name, pid)]) of the
    tour and its child (other processes' lines are left out)."""
    pids = {cap.fact("pid"), cap.fact("child")}
    faults, phases = [], []
    for line in cap.texts.get("trace", []):
        m = TRACE_LINE.match(line)
        if not m or m.group(2) not in pids:
            continue
        t, event, fields = float(m.group(5)), m.group(6), m.group(7)
        if event == "tracing_mark_write":
            p = re.match(r"viz-phase (\S+)", fields)
            if p:
                phases.append((t, p.group(1), m.group(2)))
        elif event in ("fault_resolved", "page_fault_user"):
            how = re.search(r"how=(\w+)", fields)
            addr = re.search(r"address=(0x[0-9a-f]+)", fields)
            faults.append((t, how.group(1) if how else "unknown (host: page_fault_user)", m.group(2),
                           int(addr.group(1), 16) if addr else 0))
    return faults, phases


def draw_faults(cap, out_png):
    """A row per kind, a tick per fault. The x axis is broken at the phases: each
    phase gets the same width and its events sit there at their times, since
    the phases last from microseconds (a few faults) to milliseconds."""
    faults, phases = trace_events(cap)
    if not phases:
        raise ValueError("no viz-phase markers in the trace")
    kinds = KINDS + sorted({k for _, k, _, _ in faults} - set(KINDS))
    counts = {k: sum(1 for _, kk, _, _ in faults if kk == k) for k in kinds}
    t_end = max([t for t, *_ in faults] + [t for t, *_ in phases])
    bands = [(t, name, pid) for t, name, pid in phases if name != "done"]
    edges = [t for t, _, _ in bands] + [max(t_end, bands[-1][0])]

    def x_of(t):
        i = max(0, min(len(bands) - 1, int(np.searchsorted(edges, t, side="right")) - 1))
        span = edges[i + 1] - edges[i]
        return i + (min(max(t, edges[i]), edges[i + 1]) - edges[i]) / span if span > 0 else i + 0.5
    fig, ax = plt.subplots(figsize=(12, 5.4), dpi=100)
    fig.subplots_adjust(left=0.13, right=0.98, top=0.90, bottom=0.22)
    for i in range(len(bands)):
        ax.axvspan(i, i + 1, color="#f0f0f0" if i % 2 == 0 else "#ffffff", zorder=0)
    child = cap.fact("child")
    for y, k in enumerate(kinds):
        for who, dy in ((cap.fact("pid"), 0.15), (child, -0.15)):       # the child's ticks just below
            xs = [x_of(t) for t, kk, pid, _ in faults if kk == k and pid == who]
            if xs:
                ax.scatter(xs, [y + dy] * len(xs), marker="|", s=90, lw=1.0, color=KIND_COLOURS.get(k, "#444444"),
                           zorder=3)
    ax.set_yticks(range(len(kinds)))
    ax.set_yticklabels([f"{k} ({counts[k]})" for k in kinds], fontsize=8.5)
    ax.set_ylim(-0.7, len(kinds) - 0.3)
    ax.set_xlim(0, len(bands))
    ax.set_xticks([i + 0.5 for i in range(len(bands))])
    ax.set_xticklabels([f"{name}{' (child)' if pid == child else ''}\n{duration(edges[i + 1] - edges[i])}"
                        for i, (_, name, pid) in enumerate(bands)], fontsize=7.5, rotation=30, ha="right")
    ax.tick_params(axis="x", length=0)
    ax.set_xlabel("the tour's phases (trace_marker lines), each as wide as the next, with how long it took", fontsize=9)
    event = cap.fact("event", default="?").replace("/", ":")
    fig.suptitle(f"Page faults of viz_tour (pid {cap.fact('pid')}, upper ticks) and its child (pid {child}, lower "
                 f"ticks) by how they were resolved: {len(faults)} {event} events", fontsize=10, x=0.01, ha="left")
    fig.savefig(out_png)
    plt.close(fig)
    return dict(faults=len(faults), by_kind=counts, phases=[name for _, name, _ in phases])


def duration(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


# ----------------------------------------------------------- page, checks

PHASES = ["map", "read-touch", "write-touch", "file-read", "shmem", "stack-growth", "fork", "child-writes",
          "snapshot", "parent-writes", "sigsegv", "done"]


def checks(cap, phys, space, faults, images):
    """[(name, ok, detail)]: the pictures against the data they were drawn from."""
    out = []
    zone_end = phys["pfn_end"]
    nflags = len(cap.tables.get("kpageflags", []))
    out.append(("viz_frames_drawn_equal_pfns_to_the_end_of_the_last_zone",
                phys["frames_drawn"] == zone_end and nflags >= zone_end,
                f"{phys['frames_drawn']} frames drawn, last zone ends at PFN {zone_end}, kpageflags has {nflags}"))
    # MemTotal is the frames the page allocator manages: every frame drawn
    # except holes and what the kernel reserved before the allocator existed
    # (the zero page is reserved-looking, as on Linux, but came from the allocator).
    total = meminfo_kib(cap, "meminfo", "MemTotal")
    f = np.asarray(cap.tables.get("kpageflags", np.zeros(0, dtype=np.uint64)), dtype=np.uint64)[:zone_end]
    flag = lambda name: (f & np.uint64(bit(name))) != 0
    managed = int(np.count_nonzero(~flag("NOPAGE") & (~flag("RESERVED") | flag("ZERO_PAGE"))))
    out.append(("viz_frames_neither_hole_nor_reserved_equal_memtotal", total is not None and managed == total // 4,
                f"{managed} frames neither a hole nor reserved, MemTotal {total} kB = "
                f"{None if total is None else total // 4} frames"))
    before, after = meminfo_kib(cap, "meminfo", "MemFree"), meminfo_kib(cap, "meminfo-after", "MemFree")
    if "kpageorder" not in cap.tables or before is None or after is None:
        out.append(("viz_free_frames_equal_memfree", False, "no /proc/kpageorder or MemFree in the dump"))
    else:
        cpus = int(cap.fact("cpus", default=1))
        slack = 32 * cpus + 8          # PerCPUPages.high per CPU, and the dump's own kernel pages
        low, high = min(before, after) // 4 - slack, max(before, after) // 4 + slack
        out.append(("viz_free_frames_equal_memfree", low <= phys["free"] <= high,
                    f"{phys['free']} frames free in kpageorder ({phys['pcp']} on per-CPU lists), MemFree "
                    f"{before} kB / {after} kB = {before // 4} / {after // 4} frames, slack {slack}"))
    out.append(("viz_address_space_has_a_bar_per_maps_line",
                space["vmas_drawn"] == space["maps_lines"] and space["vmas_drawn"] > 0,
                f"{space['vmas_drawn']} VMAs drawn, {space['maps_lines']} maps lines"))
    cow = space["page_totals"]["cow"]
    out.append(("viz_address_space_shows_cow_shared_pages", cow >= cap.expectations().get("zero_fill", 1) // 2,
                f"{cow} pages COW-shared with the child at the snapshot"))
    short = [f"{k}: {faults['by_kind'].get(k, 0)} < {n}" for k, n in cap.expectations().items()
             if faults["by_kind"].get(k, 0) < n]
    out.append(("viz_fault_timeline_has_the_tours_faults_by_kind", not short and bool(cap.expectations()),
                "short: " + ", ".join(short) if short else
                ", ".join(f"{k} {faults['by_kind'].get(k, 0)} >= {n}" for k, n in cap.expectations().items())))
    out.append(("viz_fault_timeline_has_every_phase", faults["phases"] == PHASES,
                f"phases in the trace: {' '.join(faults['phases'])}"))
    missing = [p for p in images if not os.path.exists(p) or os.path.getsize(p) == 0]
    out.append(("viz_image_files_exist_and_are_not_empty", not missing,
                "missing or empty: " + " ".join(missing) if missing else
                ", ".join(f"{os.path.basename(p)} {os.path.getsize(p)} B" for p in images)))
    return out


def write_html(out_dir, cap, phys, space, faults, results, seconds):
    def table(rows):
        return "<table>" + "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                                   for r in rows) + "</table>"
    zone_rows = [("zone", "start PFN", "spanned", "present", "managed", "free")] + zones(cap, empty=True)
    kinds = [(k, n, cap.expectations().get(k, "")) for k, n in faults["by_kind"].items()]
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Keel: make viz</title>
<style>body{{font-family:sans-serif;max-width:1300px;margin:1em auto}} img{{max-width:100%;border:1px solid #ccc}}
td{{padding:0 .8em;border-bottom:1px solid #eee}} .ok{{color:green}} .bad{{color:#b00}}</style></head><body>
<h1>Keel's memory after viz_tour</h1>
<p>Captured by booting Keel with <code>init=/bin/viz_tour</code> (Tests/Userland/viz_tour.c): {cap.console_bytes} bytes of
console, of which {cap.dump_bytes} the dump; boot, capture and drawing took {seconds:.1f} s.</p>
<h2>1. Physical memory</h2>
<p>Every frame from PFN 0 to the end of the last zone, one small square each, {phys['row_frames']} frames
({mib_label(phys['row_frames'] * PAGE)}) to a row, a panel per zone of /proc/zoneinfo. The colour says who owns it,
from /proc/kpageflags; free frames come from /proc/kpageorder, darker green for a bigger buddy block
(order 10 = 4 MiB), blue for a frame parked on a CPU's per-CPU list.</p>
<img src="physical-memory.png" alt="physical memory map">
{table(zone_rows)}
<h2>2. One process's address space</h2>
<p>viz_tour's VMAs (/proc/self/maps) while its forked child is still alive and shares its pages. One bar per
VMA, highest address on top; bars grow with the logarithm of the size, so a one-page VMA and the 4 MiB arena both
show, and the gaps between VMAs (written between the rows) are not to scale. Inside a bar, each page is to scale and
coloured from /proc/self/pagemap (present, exclusive), /proc/kpagecount (mapcount) and /proc/kpageflags.</p>
<img src="address-space.png" alt="address space">
<h2>3. Page faults over time</h2>
<p>Every {html.escape(cap.fact('event', default='?').replace('/', ':'))} event of viz_tour and its child, by how the fault was resolved,
in time order; the bands are the tour's phases, from the lines it wrote to trace_marker, each band as wide as the
next however long the phase took (written under it), with its faults at their times inside it.</p>
<img src="faults.png" alt="fault timeline">
{table([("kind", "events", "the tour caused at least")] + kinds)}
<h2>Checks</h2>
<ul>{"".join(f'<li class="{"ok" if ok else "bad"}">{"ok" if ok else "FAILED"} - {html.escape(n)}: '
             f'{html.escape(d)}</li>' for n, ok, d in results)}</ul>
</body></html>
"""
    with open(os.path.join(out_dir, "index.html"), "w") as f:
        f.write(page)


def attempt(draw, cap, png, empty):
    """draw(cap, png), or a picture saying why it cannot be drawn and `empty`."""
    try:
        return draw(cap, png)
    except ValueError as e:
        print(f"viz.py: {os.path.basename(png)}: {e}", file=sys.stderr)
        fig = plt.figure(figsize=(8, 1.5), dpi=100)
        fig.text(0.02, 0.5, f"{os.path.basename(png)} cannot be drawn: {e}", fontsize=10, va="center")
        fig.savefig(png)
        plt.close(fig)
        return empty


def boot(out_dir, smp, mem, timeout):
    """Boots the tour; returns the console text."""
    log = os.path.join(out_dir, "console.log")
    env = dict(os.environ, KEEL_LOG=log)
    cmd = [os.path.join(ROOT, "tools", "run-qemu.sh"), "--kernel", os.path.join(ROOT, "build", "keel.elf"),
           "--initramfs", os.path.join(ROOT, "build", "initramfs.cpio"), "--smp", str(smp), "--mem", mem,
           "--timeout", str(timeout), "--", "init=/bin/viz_tour"]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode("utf-8", "replace"))
        print(f"viz.py: the tour's boot ended with status {p.returncode} (console: {log})", file=sys.stderr)
    with open(log, "rb") as f:
        return f.read().decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", help="decode this console log instead of booting")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "viz"))
    ap.add_argument("--check", action="store_true", help="check the pictures; print ok/not ok and a summary")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--timeout", type=int, default=120)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.monotonic()
    if args.log:
        with open(args.log, "rb") as f:
            raw = f.read().decode("utf-8", "replace")
    else:
        raw = boot(args.out, args.smp, args.mem, args.timeout)
    try:
        cap = parse(raw)
    except ValueError as e:
        print(f"not ok - viz_capture_decodes: {e}" if args.check else f"viz.py: {e}")
        if args.check:
            print("0 passed, 1 failed")
        return 1
    images = [os.path.join(args.out, n) for n in ("physical-memory.png", "address-space.png", "faults.png")]
    # A picture whose data is missing says so in its place (and its checks fail).
    phys = attempt(draw_physical, cap, images[0], dict(frames_drawn=0, pfn_end=-1, row_frames=0, free=-1, pcp=0))
    space = attempt(draw_address_space, cap, images[1], dict(vmas_drawn=0, maps_lines=-1,
                                                               page_totals={k: 0 for k, _, _ in PAGE_STATES}))
    faults = attempt(draw_faults, cap, images[2], dict(faults=0, by_kind={}, phases=[]))
    results = checks(cap, phys, space, faults, images)
    seconds = time.monotonic() - t0
    write_html(args.out, cap, phys, space, faults, results, seconds)
    print(f"viz: {cap.console_bytes} console bytes ({cap.dump_bytes} of dump), {phys['frames_drawn']} frames, "
          f"{space['vmas_drawn']} VMAs, {faults['faults']} faults, {seconds:.1f} s; "
          f"open {os.path.join(args.out, 'index.html')}")
    failed = 0
    for name, ok, detail in results:
        if args.check or not ok:
            print(f"{'ok' if ok else 'not ok'} - {name}: {detail}")
        failed += not ok
    if args.check:
        print(f"{len(results) - failed} passed, {failed} failed")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
