/*
 * workset.h: page contents that prove themselves, and /proc/meminfo and
 * /proc/vmstat figures, for the memory-reclaim programs (test_workset,
 * test_bigfile, test_reclaim_cycles, reclaim_tour, bench --reclaim).
 *
 * A page's 512 words are a function of (seed, page index) alone: word i is
 * h ^ (i * K) with h a hash of the two. A page that comes back from swap or
 * from the disk with another page's contents, zeroes, or half of an old
 * version fails ws_check at the first word that differs, and the caller can
 * say which page and word. Nothing is stored beside the pages: what a page
 * must hold is recomputed when it is read.
 */
#ifndef WORKSET_H
#define WORKSET_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WS_PAGE 4096UL
#define WS_WORDS (WS_PAGE / sizeof(uint64_t))
#define WS_MIB (1024UL * 1024UL)

/* splitmix64's finalizer: every input bit reaches every output bit. */
static inline uint64_t ws_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline uint64_t ws_page_hash(uint64_t seed, uint64_t page) { return ws_mix(ws_mix(seed) ^ page); }

/* Writes page `page`'s contents for `seed` at p (WS_PAGE bytes). */
static inline void ws_fill(void *p, uint64_t seed, uint64_t page)
{
    uint64_t *w = p, h = ws_page_hash(seed, page);
    for (uint64_t i = 0; i < WS_WORDS; i++)
        w[i] = h ^ (i * 0xd6e8feb86659fd93ULL);
}

/* -1 if p holds page `page` for `seed`, else the index of the first wrong word. */
static inline long ws_check(const void *p, uint64_t seed, uint64_t page)
{
    const uint64_t *w = p;
    uint64_t h = ws_page_hash(seed, page);
    for (uint64_t i = 0; i < WS_WORDS; i++)
        if (w[i] != (h ^ (i * 0xd6e8feb86659fd93ULL)))
            return (long)i;
    return -1;
}

/* A random permutation of 0..n-1 (Fisher-Yates with xorshift64 from `seed`), malloc'd. */
static inline uint32_t *ws_shuffled(size_t n, uint64_t seed)
{
    uint32_t *order = malloc(n * sizeof *order + 1);
    if (!order) return NULL;
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    uint64_t x = ws_mix(seed) | 1;
    for (size_t i = n; i > 1; i--) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t j = (size_t)(x % i);
        uint32_t t = order[i - 1]; order[i - 1] = order[j]; order[j] = t;
    }
    return order;
}

static inline double ws_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* MiB per second for `bytes` in `seconds` (0 for a time too short to measure). */
static inline double ws_rate(double bytes, double seconds) { return seconds > 0 ? bytes / WS_MIB / seconds : 0; }

/* As init (Keel's and Linux's initramfs) nothing has mounted /proc yet. */
static inline void ws_mount_proc(void)
{
    if (access("/proc/self", F_OK) != 0) {
        mkdir("/proc", 0555);
        mount("proc", "/proc", "proc", 0, NULL);
    }
}

/*
 * The value of `name` in a "name value" file (/proc/vmstat) or a
 * "Name:   value kB" file (/proc/meminfo, in kB), or -1 when the file or
 * the line is missing.
 */
static inline long long ws_proc_value(const char *path, const char *name)
{
    static char buf[32768];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
    close(fd);
    buf[len] = 0;
    size_t want = strlen(name);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, want) == 0 && (line[want] == ' ' || line[want] == ':'))
            return strtoll(line + want + 1 + strspn(line + want + 1, " :"), NULL, 10);
    }
    return -1;
}

static inline long long ws_vmstat(const char *name) { return ws_proc_value("/proc/vmstat", name); }
static inline long long ws_meminfo_kb(const char *name) { return ws_proc_value("/proc/meminfo", name); }

/* The reclaim counters a boot test asserts on, one "vmstat: NAME VALUE" line
 * each (a counter this kernel lacks is left out). */
static inline void ws_print_vmstat(void)
{
    static const char *const names[] = { "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
                                         "pgactivate", "pgdeactivate", "pswpin", "pswpout", "workingset_refault_anon",
                                         "workingset_refault_file", "oom_kill", "swap_ra", "swap_ra_hit" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        long long value = ws_vmstat(names[i]);
        if (value >= 0) printf("vmstat: %s %lld\n", names[i], value);
    }
    fflush(stdout);
}

/* Writes `text` to a /proc file; 0, or -1 with errno. */
static inline int ws_proc_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Loads the kernel modules /modules/list names, in its order, from /modules:
 * the archive tools/bench.py gives Debian's Linux brings virtio and ext4 that
 * way (Debian builds them as modules). Nothing without the list. */
static inline void ws_load_modules(void)
{
    FILE *list = fopen("/modules/list", "r");
    char name[256];
    while (list && fgets(name, sizeof name, list)) {
        name[strcspn(name, "\n")] = 0;
        char path[300];
        snprintf(path, sizeof path, "/modules/%s", name);
        int fd = open(path, O_RDONLY);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0)
            printf("# module %s: errno %d\n", name, errno);
        if (fd >= 0) close(fd);
    }
    if (list) fclose(list);
}

/*
 * Makes `dev` (a block device such as /dev/vda) this machine's swap, as
 * Keel's swap=DEV does at boot, for a program that is init on Linux: loads the
 * virtio modules (ws_load_modules), mounts devtmpfs on /dev (Linux's
 * initramfs has no /dev/vda) and waits up to 3 s for the node, then swapon(2)s
 * it unless /proc/swaps lists it already. 0, or -1 with errno.
 */
static inline int ws_swapon(const char *dev)
{
    ws_mount_proc();
    ws_load_modules();
    if (access(dev, F_OK) != 0) {
        mkdir("/dev", 0755);
        mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    }
    for (int i = 0; i < 300 && access(dev, F_OK) != 0; i++) usleep(10000);
    FILE *swaps = fopen("/proc/swaps", "r");
    char line[512];
    size_t len = strlen(dev);
    while (swaps && fgets(line, sizeof line, swaps))
        if (strncmp(line, dev, len) == 0 && (line[len] == ' ' || line[len] == '\t')) {
            fclose(swaps);
            return 0;
        }
    if (swaps) fclose(swaps);
    return swapon(dev, 0);
}

#endif
