/*
 * test_swapoff: swapoff(2) of an area that holds a process's pages brings
 * every one of them back into memory, intact, on Linux and Keel.
 *
 *     test_swapoff [MiB [PUSH_MiB]]       default 8, and PUSH 3 x MiB
 *
 * Writes a working set of MiB (workset.h), then a second set of PUSH_MiB,
 * which it unmaps: in a machine with less free memory than the two, pages of
 * the first went to swap. The working set must fit in memory by itself, or
 * swapoff cannot bring it back (Linux then runs the OOM killer). /proc/self/status's VmSwap says how many.
 * Then turns the first area of /proc/swaps off (try_to_unuse: every swapped
 * page of every process is read back in), and checks that the area is gone
 * from /proc/swaps, VmSwap is 0 kB, and every page of the working set holds
 * what was written. Finally turns the area on again.
 *
 * It turns swap off only as init (pid 1: the boot test
 * swapoff_with_pages_in_use, 64 MiB of RAM, 256 MiB of swap, 16 and 64 MiB,
 * and the same under Linux in QEMU): run as an ordinary process (make test's
 * host run) it would take away the swap of a machine others use, so it checks
 * the working set and skips the rest, as it does where there is no swap.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "ktest.h"
#include "workset.h"

/* The first swap area's path from /proc/swaps (its line after the header), or false. */
static bool first_swap_area(char *path, size_t size)
{
    FILE *f = fopen("/proc/swaps", "r");
    char line[512];
    bool found = false;
    if (f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f)) {
        line[strcspn(line, " \t\n")] = 0;
        snprintf(path, size, "%.*s", (int)size - 1, line);
        found = line[0] == '/';
    }
    if (f) fclose(f);
    return found;
}

static bool swap_listed(const char *path)
{
    FILE *f = fopen("/proc/swaps", "r");
    char line[512];
    size_t len = strlen(path);
    bool listed = false;
    while (f && fgets(line, sizeof line, f))
        listed |= strncmp(line, path, len) == 0 && (line[len] == ' ' || line[len] == '\t');
    if (f) fclose(f);
    return listed;
}

/* Pages of `base` not holding `seed`'s contents. */
static size_t wrong_pages(const char *base, size_t pages, uint64_t seed)
{
    size_t bad = 0;
    for (size_t page = 0; page < pages; page++)
        bad += ws_check(base + page * WS_PAGE, seed, page) >= 0;
    return bad;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 8;
    long push_mib = argc > 2 ? atol(argv[2]) : 3 * mib;
    if (mib <= 0 || mib > 65536 || push_mib <= 0 || push_mib > 65536) {
        printf("usage: test_swapoff [MiB [PUSH_MiB]] (1..65536)\n");
        return 2;
    }
    ws_mount_proc();
    size_t bytes = (size_t)mib * WS_MIB, pages = bytes / WS_PAGE, push_bytes = (size_t)push_mib * WS_MIB;
    char *keep = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(keep != MAP_FAILED, "mmap the working set", "errno %d (%s)", errno, strerror(errno)))
        return ktest_done();
    for (size_t page = 0; page < pages; page++)
        ws_fill(keep + page * WS_PAGE, 1, page);
    /* The pressure: a second set as large, written and let go. */
    char *push = mmap(NULL, push_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(push != MAP_FAILED, "mmap the second set", "errno %d (%s)", errno, strerror(errno)))
        return ktest_done();
    for (size_t page = 0; page < push_bytes / WS_PAGE; page++)
        ws_fill(push + page * WS_PAGE, 2, page);
    ok(munmap(push, push_bytes) == 0, "munmap the second set", "errno %d", errno);
    long long swapped = ws_proc_value("/proc/self/status", "VmSwap");
    note("VmSwap %lld kB of the %ld MiB working set", swapped, mib);

    char area[256];
    if (!first_swap_area(area, sizeof area)) {
        ok(wrong_pages(keep, pages, 1) == 0, "working set intact", "pages came back wrong");
        skip("swapoff with pages in use", "no swap area in /proc/swaps");
        return ktest_done();
    }
    if (getpid() != 1) {
        ok(wrong_pages(keep, pages, 1) == 0, "working set intact", "pages came back wrong");
        skip("swapoff with pages in use", "not init: this machine's swap is not ours to turn off");
        return ktest_done();
    }
    ok(swapped > 0, "some of the working set is in swap", "VmSwap %lld kB", swapped);
    ok(swapoff(area) == 0, "swapoff with pages in use", "%s: errno %d (%s)", area, errno, strerror(errno));
    ok(!swap_listed(area), "the area is gone from /proc/swaps", "%s still listed", area);
    long long after = ws_proc_value("/proc/self/status", "VmSwap");
    ok(after == 0, "VmSwap is 0 kB after swapoff", "%lld kB", after);
    size_t bad = wrong_pages(keep, pages, 1);
    ok(bad == 0, "every page back in memory and intact", "%zu of %zu pages wrong", bad, pages);
    ok(swapon(area, 0) == 0, "swapon the area again", "%s: errno %d (%s)", area, errno, strerror(errno));
    ok(swap_listed(area), "listed in /proc/swaps again", "%s not listed", area);
    ws_print_vmstat();
    munmap(keep, bytes);
    return ktest_done();
}
