/*
 * test_stress: many processes and many mappings, and no memory leaked by them.
 *
 * 200 forked children (at most 8 alive at once) each rewrite a 1 MiB region
 * shared copy-on-write with the parent; then 10,000 mmap/touch/munmap cycles
 * of 1..8 pages, every fresh page checked to read zero. Afterwards MemFree in
 * /proc/meminfo must be back at its starting value:
 *   - on Keel (uname sysname "Keel") within 64 KiB: nothing else runs there,
 *     so every frame the workload took (pages, page tables, kernel stacks,
 *     task and VMA objects) must have come back. One smaller round of the same
 *     workload runs before the baseline so caches that legitimately stay
 *     (slab pages, the page tables of the parent's own regions) already exist;
 *     the final reading is retried for up to a second in case freeing is
 *     deferred.
 *   - on Linux within 256 MiB: other processes, the page cache and per-CPU
 *     free lists move MemFree all the time, so only a gross leak (the
 *     workload touches about 550 MiB) can be told from noise there.
 * On Keel a first check makes sure MemFree is live at all: touching 16 MiB
 * lowers it by at least 12 MiB.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"
#include "procfs.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define KIB 1024L
#define MIB (1024 * 1024UL)

#define FORKS 200
#define MAX_ALIVE 8
#define CYCLES 10000

static unsigned char *region; /* 1 MiB, shared copy-on-write with every child */

static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)(seed * 13 + i / PAGE + i);
}

static bool region_holds(unsigned seed)
{
    for (size_t i = 0; i < MIB; i++)
        if (region[i] != pattern(i, seed))
            return false;
    return true;
}

/* A child: checks the inherited copy, rewrites all of it, checks again. */
static int child_body(int n)
{
    if (!region_holds(1))
        return 1;
    for (size_t i = 0; i < MIB; i++)
        region[i] = pattern(i, 2 + (unsigned)n);
    return region_holds(2 + (unsigned)n) ? 0 : 2;
}

/* Runs `count` children, at most MAX_ALIVE at a time; returns how many did
 * not exit 0 (a failed fork counts). */
static int run_forks(int count)
{
    int alive = 0, bad = 0;
    for (int n = 0; n < count || alive > 0;) {
        if (n < count && alive < MAX_ALIVE) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(child_body(n));
            if (pid < 0)
                bad++;
            else
                alive++;
            n++;
            continue;
        }
        int status;
        if (wait4(-1, &status, 0, NULL) < 0)
            return bad + alive;
        alive--;
        bad += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return bad;
}

/* `count` cycles of mmap, touch every page, munmap. Returns the number of
 * the first failed cycle plus one, or 0; *dirty counts fresh pages that did
 * not read zero. */
static int mmap_cycles(int count, int *dirty)
{
    *dirty = 0;
    for (int i = 0; i < count; i++) {
        size_t pages = 1 + (size_t)i * 5 % 8;
        unsigned char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return i + 1;
        for (size_t k = 0; k < pages; k++) {
            unsigned char *page = p + k * PAGE;
            *dirty += page[0] != 0 || page[PAGE - 1] != 0;
            page[0] = page[PAGE - 1] = (unsigned char)(i | 1);
        }
        if (munmap(p, pages * PAGE) != 0)
            return i + 1;
    }
    return 0;
}

/* Keel only: Linux 6.x hands pages out of per-CPU lists that MemFree does not
 * count, and folds its counters in batches, so its MemFree may not move at
 * all for 16 MiB. */
static void test_meminfo_is_live(bool keel)
{
    long long before = mem_free_kib();
    if (!ok(before > 0, "read MemFree from /proc/meminfo", "got %lld", before))
        return;
    if (!keel) {
        skip("touching 16 MiB lowers MemFree by at least 12 MiB", "Linux's MemFree lags");
        return;
    }
    unsigned char *p = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "map 16 MiB", "errno %d", errno))
        return;
    for (size_t i = 0; i < 16 * MIB; i += PAGE)
        p[i] = 1;
    long long during = mem_free_kib();
    munmap(p, 16 * MIB);
    ok(before - during >= 12 * KIB, "touching 16 MiB lowers MemFree by at least 12 MiB",
       "MemFree %lld kB before, %lld kB while touched", before, during);
}

int main(void)
{
    bool keel = on_keel();
    test_meminfo_is_live(keel);

    region = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(region != MAP_FAILED, "map the 1 MiB region", "errno %d", errno))
        return ktest_done();
    for (size_t i = 0; i < MIB; i++)
        region[i] = pattern(i, 1);

    /* Warm-up: the same kinds of work, smaller. */
    int dirty;
    run_forks(2 * MAX_ALIVE);
    mmap_cycles(100, &dirty);

    long long start = mem_free_kib();
    if (!ok(start > 0, "MemFree before the workload", "got %lld", start))
        return ktest_done();

    int bad = run_forks(FORKS);
    ok(bad == 0, "200 children each rewrite 1 MiB copy-on-write (8 at a time)",
       "%d children failed", bad);
    ok(region_holds(1), "the parent's 1 MiB is unchanged by 200 children", "a byte changed");
    pid_t none = wait4(-1, NULL, WNOHANG, NULL);
    ok(none == -1 && errno == ECHILD, "every child was reaped", "wait4 returned %d", none);

    int failed_at = mmap_cycles(CYCLES, &dirty);
    ok(failed_at == 0, "10,000 mmap/touch/munmap cycles of 1..8 pages", "cycle %d failed: errno %d",
       failed_at - 1, errno);
    ok(dirty == 0, "every freshly mapped page reads zero", "%d pages held old data", dirty);

    long long tolerance = keel ? 64 : 256 * KIB, end = -1;
    for (int tries = 0; tries < 10; tries++) {
        end = mem_free_kib();
        if (end >= start - tolerance)
            break;
        sleep_ms(100); /* in case the kernel frees some of it later */
    }
    note("MemFree: %lld kB before, %lld kB after (%+lld kB); tolerance %lld kB (%s)", start, end,
         end - start, tolerance, keel ? "Keel" : "Linux");
    ok(end >= start - tolerance, "MemFree is back at its starting value after the workload",
       "%lld kB lower, tolerance %lld kB", start - end, tolerance);
    munmap(region, MIB);
    return ktest_done();
}
