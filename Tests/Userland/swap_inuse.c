/*
 * swap_inuse: pages go to swap and come back, through faults and through
 * swapoff. For a boot test with little RAM and a swap disk (not for the
 * host: it needs a swap area it may switch off).
 *
 *   swap_inuse DEV KEEP_MB HOG_MB           DEV is swapped on already
 *   swap_inuse --file=PATH:MB KEEP_MB HOG_MB  a swap file made and swapped on here
 *
 * Fills KEEP_MB of private anonymous memory with a pattern, forks a child
 * that shares it copy-on-write and rewrites every eighth page of its copy,
 * then a hog touches HOG_MB, pushing pages of both out to swap (VmSwap > 0,
 * pswpout grows, /proc/swaps shows use). The hog exits. The child checks its
 * copy (faults bring pages back: pswpin grows) and waits; swapoff(DEV) then
 * brings every remaining page back into memory: VmSwap 0 in both, /proc/swaps
 * empty, SwapTotal 0, and both copies still hold their data.
 * Prints TAP lines and "N passed, N failed".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "procfs.h"

static char text[65536];

/* A field of a "name value" or "name: value kB" /proc file, or -1. */
static long proc_value(const char *path, const char *name)
{
    if (read_whole(path, text, sizeof text) < 0)
        return -1;
    size_t n = strlen(name);
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == ':' || line[n] == '\t'))
            return strtol(line + n + 1, NULL, 10);
    return -1;
}

static uint64_t pattern(size_t page, uint64_t salt) { return (page * 0x9e3779b97f4a7c15ULL) ^ salt; }

/* Pages of `mem` that do not hold their pattern (salt2 for every eighth page if rewritten). */
static size_t bad_pages(uint64_t *mem, size_t pages, uint64_t salt, uint64_t salt2)
{
    size_t bad = 0;
    for (size_t p = 0; p < pages; p++) {
        uint64_t want = pattern(p, p % 8 == 0 ? salt2 : salt);
        uint64_t *page = mem + p * 512;
        if (page[0] != want || page[511] != ~want)
            bad++;
    }
    return bad;
}

/* Makes `path` a written swap file of `mb` MiB (the header as mkswap writes
 * it) and swaps on it: the swap-file variant of the test. */
static bool make_swap_file(const char *path, long mb)
{
    static char buf[1 << 16];
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (fd < 0)
        return false;
    memset(buf, 0xa5, sizeof buf);
    for (long i = 0; i < mb * 16; i++)
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            return false;
    memset(buf, 0, 4096);
    uint32_t info[3] = { 1, (uint32_t)(mb * 256 - 1), 0 };
    memcpy(buf + 1024, info, sizeof info);
    memcpy(buf + 4086, "SWAPSPACE2", 10);
    bool done = pwrite(fd, buf, 4096, 0) == 4096 && fsync(fd) == 0;
    close(fd);
    return done && syscall(SYS_swapon, path, 0) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        printf("usage: swap_inuse DEV KEEP_MB HOG_MB\n0 passed, 1 failed\n");
        return 2;
    }
    const char *dev = argv[1];
    if (strncmp(dev, "--file=", 7) == 0) {
        /* --file=PATH:MB */
        static char path[256];
        snprintf(path, sizeof path, "%s", dev + 7);
        char *colon = strchr(path, ':');
        if (!colon || !make_swap_file((*colon = 0, path), strtol(colon + 1, NULL, 10))) {
            printf("not ok - make and swap on a swap file: %s\n0 passed, 1 failed\n", strerror(errno));
            return 1;
        }
        dev = path;
    }
    size_t keep = strtoul(argv[2], NULL, 10) << 20, hog = strtoul(argv[3], NULL, 10) << 20;
    size_t pages = keep / 4096;
    long pswpout0 = proc_value("/proc/vmstat", "pswpout");
    uint64_t *mem = mmap(NULL, keep, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        printf("mmap: %s\n0 passed, 1 failed\n", strerror(errno));
        return 1;
    }
    for (size_t p = 0; p < pages; p++) {
        mem[p * 512] = pattern(p, 1);
        mem[p * 512 + 511] = ~pattern(p, 1);
    }
    int ready[2], go[2];
    if (pipe(ready) || pipe(go))
        return 1;
    pid_t child = fork();
    if (child < 0) {
        ok(false, "fork", "%s", strerror(errno));
        return ktest_done();
    }
    if (child == 0) {
        close(ready[0]);
        close(go[1]);
        /* The child's copy: every eighth page rewritten (copy-on-write breaks). */
        for (size_t p = 0; p < pages; p += 8) {
            mem[p * 512] = pattern(p, 2);
            mem[p * 512 + 511] = ~pattern(p, 2);
        }
        char c = 0;
        write(ready[1], &c, 1);
        read(go[0], &c, 1);              /* the hog has run */
        size_t bad = bad_pages(mem, pages, 1, 2);
        write(ready[1], &c, 1);
        read(go[0], &c, 1);              /* swapoff is done */
        long vmswap = proc_value("/proc/self/status", "VmSwap");
        _exit(bad != 0 ? 1 : bad_pages(mem, pages, 1, 2) != 0 ? 2 : vmswap != 0 ? 3 : 0);
    }
    close(ready[1]);
    close(go[0]);
    char c;
    if (read(ready[0], &c, 1) != 1) {
        int why = 0;
        waitpid(child, &why, 0);
        ok(false, "the child copied its pages", "it died: status %#x", why);
        return ktest_done();
    }

    pid_t hogger = fork();
    if (hogger == 0) {
        char *h = mmap(NULL, hog, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (h == MAP_FAILED)
            _exit(1);
        for (int round = 0; round < 2; round++)
            for (size_t i = 0; i < hog; i += 4096)
                h[i] = (char)(i >> 12) + round;
        _exit(0);
    }
    int status;
    waitpid(hogger, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the hog ran and exited", "status %#x", status);
    long swapped = proc_value("/proc/self/status", "VmSwap");
    ok(swapped > 0, "the parent's pages went to swap: VmSwap > 0", "VmSwap %ld kB", swapped);
    long pswpout = proc_value("/proc/vmstat", "pswpout");
    ok(pswpout > pswpout0, "pswpout grew", "%ld -> %ld", pswpout0, pswpout);
    long used = proc_value("/proc/meminfo", "SwapTotal") - proc_value("/proc/meminfo", "SwapFree");
    ok(used > 0, "meminfo: SwapTotal - SwapFree > 0", "%ld kB used", used);
    note("VmSwap %ld kB, pswpout %ld, swap used %ld kB", swapped, pswpout - pswpout0, used);
    long rollup = proc_value("/proc/self/smaps_rollup", "Swap");
    ok(rollup == proc_value("/proc/self/status", "VmSwap"), "smaps_rollup Swap equals VmSwap", "%ld kB vs %ld kB",
       rollup, proc_value("/proc/self/status", "VmSwap"));
    static unsigned char vec[1 << 16];
    size_t out = 0;
    if (pages <= sizeof vec && mincore(mem, keep, vec) == 0)
        for (size_t p = 0; p < pages; p++)
            out += !(vec[p] & 1);
    ok(out > 0, "mincore: pages in swap are not resident", "%zu of %zu pages out (errno %d)", out, pages, errno);

    long pswpin0 = proc_value("/proc/vmstat", "pswpin");
    write(go[1], &c, 1);
    if (read(ready[0], &c, 1) != 1)      /* the child read its copy back */
        ok(false, "the child read its copy back", "it died");
    long pswpin = proc_value("/proc/vmstat", "pswpin");
    ok(pswpin > pswpin0, "the child's reads brought pages back from swap: pswpin grew", "%ld -> %ld", pswpin0, pswpin);

    /* A child forked while pages are in swap copies the swap entries (one more reference to each
     * slot) and reads its copy back; its exit gives the references back. */
    pid_t second = fork();
    if (second == 0)
        _exit(bad_pages(mem, pages, 1, 1) == 0 ? 0 : 1);
    waitpid(second, &status, 0);
    ok(second > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a child forked while pages are in swap reads them back intact", "status %#x", status);
    ok(syscall(SYS_swapoff, dev) == 0, "swapoff with pages in use", "%s", strerror(errno));
    ok(proc_value("/proc/self/status", "VmSwap") == 0, "VmSwap is 0 after swapoff", "VmSwap %ld kB",
       proc_value("/proc/self/status", "VmSwap"));
    ok(proc_value("/proc/meminfo", "SwapTotal") == 0, "SwapTotal is 0", "%ld kB", proc_value("/proc/meminfo", "SwapTotal"));
    read_whole("/proc/swaps", text, sizeof text);
    ok(strchr(text, '\n') && strchr(text, '\n')[1] == 0, "/proc/swaps lists no area", "%s", text);
    size_t in = 0;
    if (mincore(mem, keep, vec) == 0)
        for (size_t p = 0; p < pages; p++)
            in += vec[p] & 1;
    ok(in == pages, "mincore: every page is resident after swapoff", "%zu of %zu", in, pages);
    size_t bad = bad_pages(mem, pages, 1, 1);
    ok(bad == 0, "the parent's pages hold their data after swapoff", "%zu of %zu pages wrong", bad, pages);
    write(go[1], &c, 1);
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's copy was right before and after swapoff, VmSwap 0",
       "status %#x (1: before, 2: after, 3: VmSwap)", status);
    return ktest_done();
}
