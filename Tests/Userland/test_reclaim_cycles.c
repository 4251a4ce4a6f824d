/*
 * test_reclaim_cycles: repeated memory-pressure cycles leak nothing.
 *
 *     test_reclaim_cycles [CYCLES [MiB]]       default 3 cycles of 8 MiB
 *
 * Each cycle a child maps MiB of anonymous memory, writes every page
 * (workset.h), checks every page in a random order and exits; the parent then
 * syncs, drops the page cache and the dentry and inode caches (drop_caches 3)
 * and reads /proc/meminfo:
 *     kept = MemFree + Buffers + Cached + SwapCached   memory free or droppable
 *     Slab                                             the slab allocator's pages
 *     swap used = SwapTotal - SwapFree
 * After every cycle these must come back to where they were after the first:
 * kept no lower, Slab and swap used no higher, than the first cycle's value
 * give or take TOLERANCE_KB. The first cycle is the baseline, not the state
 * before it: it grows what then stays (page tables of the parent, slab caches
 * at their working size, the per-CPU lists).
 *
 * TOLERANCE_KB is 2 MiB: per-CPU free-page lists and per-CPU slab caches on
 * two CPUs hold at most a few hundred pages that meminfo shows as neither
 * free nor cached, and that number moves from one cycle to the next. A leak of
 * one page per 64 KiB of working set is 2 MiB per 128 MiB cycle and fails in
 * the first compared cycle; smaller steady leaks add up over the cycles and
 * fail later (each cycle is compared with the first, not with the one before).
 *
 * The comparison only means something on a machine where nothing else runs:
 * it is made when the program is init (pid 1, the boot tests:
 * reclaim_cycles_leak_nothing under Keel, and the same run under Linux in QEMU).
 * Run as an ordinary process (make test's host run) other processes' memory
 * moves the figures, so the cycles and their data are checked, the figures
 * printed, and the caches are not dropped and the comparison is skipped.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "ktest.h"
#include "workset.h"

#define TOLERANCE_KB 2048

struct figures {
    long long kept, slab, swap_used;
};

/* One cycle's child: 0 if every page came back, 1 if one did not, 3 if the map failed. */
static int pressure(size_t bytes, uint64_t seed)
{
    size_t pages = bytes / WS_PAGE;
    char *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return 3;
    for (size_t page = 0; page < pages; page++)
        ws_fill(base + page * WS_PAGE, seed, page);
    uint32_t *order = ws_shuffled(pages, seed);
    if (!order) return 3;
    for (size_t k = 0; k < pages; k++)
        if (ws_check(base + (size_t)order[k] * WS_PAGE, seed, order[k]) >= 0) {
            printf("# cycle child: page %u wrong\n", order[k]);
            return 1;
        }
    return 0;
}

static bool measure(struct figures *f)
{
    long long free_kb = ws_meminfo_kb("MemFree"), buffers = ws_meminfo_kb("Buffers"),
              cached = ws_meminfo_kb("Cached"), swap_cached = ws_meminfo_kb("SwapCached"),
              slab = ws_meminfo_kb("Slab"), swap_total = ws_meminfo_kb("SwapTotal"),
              swap_free = ws_meminfo_kb("SwapFree");
    if (free_kb < 0 || buffers < 0 || cached < 0 || swap_cached < 0 || slab < 0 || swap_total < 0 || swap_free < 0)
        return false;
    f->kept = free_kb + buffers + cached + swap_cached;
    f->slab = slab;
    f->swap_used = swap_total - swap_free;
    return true;
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 3;
    long mib = argc > 2 ? atol(argv[2]) : 8;
    if (cycles < 2 || cycles > 1000 || mib <= 0 || mib > 65536) {
        printf("usage: test_reclaim_cycles [CYCLES [MiB]] (CYCLES 2..1000, MiB 1..65536)\n");
        return 2;
    }
    ws_mount_proc();
    bool alone = getpid() == 1;
    struct figures first = { 0 }, now = { 0 };
    for (int cycle = 1; cycle <= cycles; cycle++) {
        pid_t child = fork();
        if (child == 0) _exit(pressure((size_t)mib * WS_MIB, (uint64_t)cycle));
        int status = 0;
        bool waited = child > 0 && waitpid(child, &status, 0) == child;
        char name[64];
        snprintf(name, sizeof name, "cycle %d: %ld MiB written and read back intact", cycle, mib);
        ok(waited && WIFEXITED(status) && WEXITSTATUS(status) == 0, name,
           "fork/wait errno %d, status %#x (exit 1: a page came back wrong; 3: no memory)", errno, status);

        /* Not as an ordinary process: that would empty a shared host's caches for nothing. */
        if (alone) {
            sync();
            snprintf(name, sizeof name, "cycle %d: drop_caches 3", cycle);
            ok(ws_proc_write("/proc/sys/vm/drop_caches", "3") == 0, name, "errno %d (%s)", errno, strerror(errno));
        }
        sleep(1);       /* kswapd and the flusher finish what the cycle started */
        if (!ok(measure(&now), "read MemFree, Buffers, Cached, SwapCached, Slab, SwapTotal, SwapFree",
                "a line is missing from /proc/meminfo"))
            return ktest_done();
        printf("cycle %d: kept %lld kB, slab %lld kB, swap used %lld kB\n", cycle, now.kept, now.slab, now.swap_used);
        fflush(stdout);
        if (cycle == 1) {
            first = now;
            continue;
        }
        if (!alone) continue;
        snprintf(name, sizeof name, "cycle %d: free and cached memory back to cycle 1's", cycle);
        ok(now.kept >= first.kept - TOLERANCE_KB, name, "%lld kB, cycle 1 %lld kB: %lld kB gone", now.kept,
           first.kept, first.kept - now.kept);
        snprintf(name, sizeof name, "cycle %d: slab no larger than after cycle 1", cycle);
        ok(now.slab <= first.slab + TOLERANCE_KB, name, "%lld kB, cycle 1 %lld kB", now.slab, first.slab);
        snprintf(name, sizeof name, "cycle %d: swap in use back to cycle 1's", cycle);
        ok(now.swap_used <= first.swap_used + TOLERANCE_KB, name, "%lld kB, cycle 1 %lld kB", now.swap_used,
           first.swap_used);
    }
    ws_print_vmstat();
    if (!alone)
        skip("meminfo back to cycle 1's after each cycle", "not init: other processes share this machine's memory");
    return ktest_done();
}
