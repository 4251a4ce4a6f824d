/*
 * test_workset: a checksummed working set of anonymous memory survives
 * reclaim, swap and fork, on Linux and Keel.
 *
 *     test_workset [MiB [SEED [LOCKED_MiB]]]    default 8 MiB, seed 1, nothing locked
 *
 * Maps MiB of private anonymous memory and writes every page with contents
 * derived from its index and SEED (workset.h), then reads every page back in a
 * random order and checks it. Then forks: the child rewrites the first
 * quarter with SEED + 1, and checks, in a random order, that quarter (its new
 * contents) and the other three quarters (the old ones); the parent waits and
 * checks its own copy, all of it, still holds SEED's contents. The figures
 * go on one line a boot test and a reader can use:
 *     workset: N MiB, write W MiB/s, verify V MiB/s, child C s, parent verify P MiB/s
 *
 * make test runs it with the default size (no memory pressure on either
 * kernel); the boot test workset_2_5x_ram_with_swap runs 160 MiB in 64 MiB of
 * RAM with 256 MiB of swap, where most of it is written to swap and read back,
 * and the child's first writes are copy-on-write faults on swapped-out pages.
 * With LOCKED_MiB, that much memory is mlocked (MAP_LOCKED) first: reclaim
 * must step over the locked pages to reach the working set's
 * (workset_beside_locked_memory, where they are a third of RAM).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "ktest.h"
#include "workset.h"

/* Checks pages [0, pages) of `base` in the order `order`, pages below `split`
 * against `low_seed` and the others against `seed`; the number of bad pages
 * (the first one is described in `why`). */
static size_t check_pages(const char *base, const uint32_t *order, size_t pages, size_t split, uint64_t low_seed,
                          uint64_t seed, char *why, size_t why_size)
{
    size_t bad = 0;
    for (size_t k = 0; k < pages; k++) {
        size_t page = order[k];
        long word = ws_check(base + page * WS_PAGE, page < split ? low_seed : seed, page);
        if (word >= 0 && bad++ == 0)
            snprintf(why, why_size, "page %zu word %ld is %#llx", page, word,
                     (unsigned long long)((const uint64_t *)(base + page * WS_PAGE))[word]);
    }
    return bad;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 8;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    long locked_mib = argc > 3 ? atol(argv[3]) : 0;
    if (mib <= 0 || mib > 65536 || locked_mib < 0 || locked_mib > 65536) {
        printf("usage: test_workset [MiB [SEED [LOCKED_MiB]]] (MiB 1..65536)\n");
        return 2;
    }
    ws_mount_proc();
    if (locked_mib > 0) {
        void *locked = mmap(NULL, (size_t)locked_mib * WS_MIB, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
        if (!ok(locked != MAP_FAILED, "lock memory beside the working set", "%ld MiB: errno %d (%s)", locked_mib,
                errno, strerror(errno)))
            return ktest_done();
        printf("# %ld MiB locked\n", locked_mib);
    }
    size_t bytes = (size_t)mib * WS_MIB, pages = bytes / WS_PAGE;
    char why[200] = "";

    char *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(base != MAP_FAILED, "mmap the working set", "%ld MiB: errno %d (%s)", mib, errno, strerror(errno)))
        return ktest_done();
    uint32_t *order = ws_shuffled(pages, seed);
    if (!ok(order != NULL, "a random page order", "malloc: errno %d", errno))
        return ktest_done();

    double t0 = ws_now();
    for (size_t page = 0; page < pages; page++)
        ws_fill(base + page * WS_PAGE, seed, page);
    double write_s = ws_now() - t0;

    t0 = ws_now();
    size_t bad = check_pages(base, order, pages, 0, seed, seed, why, sizeof why);
    double verify_s = ws_now() - t0;
    ok(bad == 0, "every page intact, read back in a random order", "%zu of %zu pages wrong; %s", bad, pages, why);

    /* The child: rewrite the first quarter, then check all of its copy. */
    size_t quarter = pages / 4;
    t0 = ws_now();
    pid_t child = fork();
    if (child == 0) {
        for (size_t page = 0; page < quarter; page++)
            ws_fill(base + page * WS_PAGE, seed + 1, page);
        uint32_t *child_order = ws_shuffled(pages, seed + 1);
        if (!child_order) _exit(4);
        size_t wrong = check_pages(base, child_order, pages, quarter, seed + 1, seed, why, sizeof why);
        if (wrong) {
            printf("# child: %zu pages wrong; %s\n", wrong, why);
            fflush(stdout);
        }
        _exit(wrong ? 1 : 0);
    }
    ok(child > 0, "fork with the working set", "errno %d (%s)", errno, strerror(errno));
    int status = 0;
    if (child > 0) {
        ok(waitpid(child, &status, 0) == child, "wait for the child", "errno %d", errno);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "child: its rewritten quarter and the untouched rest intact",
           "status %#x (exit 1: wrong pages, see the child's line; 4: no memory for its order)", status);
    }
    double child_s = ws_now() - t0;

    t0 = ws_now();
    bad = check_pages(base, order, pages, 0, seed, seed, why, sizeof why);
    double parent_s = ws_now() - t0;
    ok(bad == 0, "parent: its copy unchanged after the child rewrote its own",
       "%zu of %zu pages wrong; %s", bad, pages, why);

    printf("workset: %ld MiB, write %.1f MiB/s, verify %.1f MiB/s, child %.2f s, parent verify %.1f MiB/s\n", mib,
           ws_rate(bytes, write_s), ws_rate(bytes, verify_s), child_s, ws_rate(bytes, parent_s));
    ws_print_vmstat();
    munmap(base, bytes);
    free(order);
    return ktest_done();
}
