/*
 * test_pagemap: /proc/<pid>/pagemap, /proc/kpageflags and /proc/kpagecount as
 * Linux's Documentation/admin-guide/mm/pagemap.rst has them (fs/proc/task_mmu.c
 * pagemap_read, fs/proc/page.c), checked on the host and on Keel alike:
 * untouched anonymous memory is not present; written, it is present,
 * exclusive, anonymous, mapped once; after fork parent and child map the same
 * frame twice until the child writes; a read of untouched memory maps the zero
 * page; shared anonymous and file pages carry the file bit; munmap empties the
 * entry; reads must be whole aligned entries, and end at the top of the user
 * address range. Keel only: /proc/kpageorder, and the free frames it and
 * kpageflags show against MemFree and /proc/zoneinfo.
 */
#include "ktest.h"
#include "pagemap.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define PAGE 4096

static uint64_t entry_of(int pid, void *addr)
{
    uint64_t e = 0;
    if (!pm_entry(pid, (uintptr_t)addr, &e)) return ~0ULL;
    return e;
}

static uint64_t kflags(uint64_t pfn)
{
    uint64_t v = 0;
    return pm_kpageflags(pfn, &v) ? v : 0;
}

static uint64_t kcount(uint64_t pfn)
{
    uint64_t v = ~0ULL;
    return pm_kpagecount(pfn, &v) ? v : ~0ULL;
}

static bool has(uint64_t flags, int bit) { return (flags >> bit) & 1; }

static void test_anonymous(void)
{
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "mmap anonymous", "errno %d", errno)) return;
    uint64_t e = entry_of(0, p);
    ok(e != ~0ULL && !(e & PM_PRESENT) && !(e & PM_SWAP) && (e & PM_PFN_MASK) == 0,
       "untouched anonymous page: not present, no PFN", "entry %#llx", (unsigned long long)e);
    p[0] = 1;
    e = entry_of(0, p);
    uint64_t pfn = e & PM_PFN_MASK;
    ok((e & PM_PRESENT) && pfn != 0, "written page: present with a PFN", "entry %#llx", (unsigned long long)e);
    ok((e & PM_EXCLUSIVE) && !(e & PM_FILE) && !(e & PM_SWAP), "written page: exclusive, anonymous, not swapped",
       "entry %#llx", (unsigned long long)e);
    uint64_t f = kflags(pfn);
    ok(has(f, KPF_ANON) && has(f, KPF_MMAP) && !has(f, KPF_BUDDY) && !has(f, KPF_ZERO_PAGE) && !has(f, KPF_NOPAGE),
       "written page: kpageflags ANON|MMAP", "flags %#llx", (unsigned long long)f);
    ok(kcount(pfn) == 1, "written page: kpagecount 1", "count %llu", (unsigned long long)kcount(pfn));
    ok(mprotect(p, PAGE, PROT_NONE) == 0, "mprotect PROT_NONE", "errno %d", errno);
    e = entry_of(0, p);
    ok((e & PM_PRESENT) && (e & PM_PFN_MASK) == pfn, "a PROT_NONE page keeps its frame: still present",
       "entry %#llx pfn %#llx", (unsigned long long)e, (unsigned long long)pfn);
    mprotect(p, PAGE, PROT_READ | PROT_WRITE);
    e = entry_of(0, p + PAGE);
    ok(!(e & PM_PRESENT), "neighbouring untouched page still not present", "entry %#llx", (unsigned long long)e);

    /* A read of untouched private anonymous memory maps the shared zero page. */
    volatile char c = p[2 * PAGE];
    (void)c;
    e = entry_of(0, p + 2 * PAGE);
    f = kflags(e & PM_PFN_MASK);
    ok((e & PM_PRESENT) && has(f, KPF_ZERO_PAGE) && !(e & PM_EXCLUSIVE),
       "read-only first touch maps the zero page (KPF_ZERO_PAGE, not exclusive)", "entry %#llx flags %#llx",
       (unsigned long long)e, (unsigned long long)f);

    munmap(p, 4 * PAGE);
    e = entry_of(0, p);
    ok(e == 0, "after munmap: entry 0", "entry %#llx", (unsigned long long)e);
}

static void test_fork(void)
{
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "mmap for fork", "errno %d", errno)) return;
    p[0] = 1;
    uint64_t pfn = entry_of(0, p) & PM_PFN_MASK;
    int go[2], done[2];
    if (!ok(pipe(go) == 0 && pipe(done) == 0, "pipes", "errno %d", errno)) return;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char b;
        if (read(go[0], &b, 1) != 1) _exit(1);
        p[0] = 2;                               /* break the sharing: the child copies */
        if (write(done[1], "x", 1) != 1) _exit(1);
        if (read(go[0], &b, 1) != 1) _exit(1);  /* stay until the parent has looked */
        _exit(0);
    }
    if (!ok(child > 0, "fork", "errno %d", errno)) return;
    uint64_t mine = entry_of(0, p), theirs = entry_of(child, p);
    ok((mine & PM_PRESENT) && (theirs & PM_PRESENT) && (mine & PM_PFN_MASK) == pfn && (theirs & PM_PFN_MASK) == pfn,
       "after fork: parent and child (by pid) map the same frame", "parent %#llx child %#llx pfn %#llx",
       (unsigned long long)mine, (unsigned long long)theirs, (unsigned long long)pfn);
    ok(!(mine & PM_EXCLUSIVE) && !(theirs & PM_EXCLUSIVE), "after fork: neither is exclusive",
       "parent %#llx child %#llx", (unsigned long long)mine, (unsigned long long)theirs);
    ok(kcount(pfn) == 2, "after fork: kpagecount 2", "count %llu", (unsigned long long)kcount(pfn));
    char b;
    ok(write(go[1], "x", 1) == 1 && read(done[0], &b, 1) == 1, "child wrote", "errno %d", errno);
    mine = entry_of(0, p);
    theirs = entry_of(child, p);
    ok((theirs & PM_PRESENT) && (theirs & PM_PFN_MASK) != pfn && (theirs & PM_EXCLUSIVE),
       "after the child's write: the child has its own exclusive frame", "child %#llx pfn %#llx",
       (unsigned long long)theirs, (unsigned long long)pfn);
    ok((mine & PM_PFN_MASK) == pfn && (mine & PM_EXCLUSIVE) && kcount(pfn) == 1,
       "after the child's write: the parent's frame is mapped once again", "parent %#llx count %llu",
       (unsigned long long)mine, (unsigned long long)kcount(pfn));
    ok(write(go[1], "x", 1) == 1, "release child", "errno %d", errno);
    int status;
    waitpid(child, &status, 0);
    uint64_t e;
    ok(!pm_entry(child, (uintptr_t)p, &e), "pagemap of a reaped process cannot be read", "read entry %#llx",
       (unsigned long long)e);
    munmap(p, PAGE);
}

static void test_shared_and_file(const char *self)
{
    char *s = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ok(s != MAP_FAILED, "mmap shared anonymous", "errno %d", errno)) {
        s[0] = 1;
        uint64_t e = entry_of(0, s), f = kflags(e & PM_PFN_MASK);
        ok((e & PM_PRESENT) && (e & PM_FILE) && !has(f, KPF_ANON) && has(f, KPF_MMAP),
           "shared anonymous page: present, file bit set, not KPF_ANON", "entry %#llx flags %#llx",
           (unsigned long long)e, (unsigned long long)f);
        ok(kcount(e & PM_PFN_MASK) == 1, "shared anonymous page: kpagecount 1", "count %llu",
           (unsigned long long)kcount(e & PM_PFN_MASK));
        munmap(s, PAGE);
    }
    int fd = open(self, O_RDONLY);
    if (!ok(fd >= 0, "open own executable", "%s: errno %d", self, errno)) return;
    char *f = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (!ok(f != MAP_FAILED, "mmap own executable privately", "errno %d", errno)) return;
    volatile char c = f[0];
    (void)c;
    uint64_t e = entry_of(0, f), flags = kflags(e & PM_PFN_MASK);
    ok((e & PM_PRESENT) && (e & PM_FILE) && !has(flags, KPF_ANON) && has(flags, KPF_MMAP),
       "private file page read: present, file bit set, MMAP, not ANON", "entry %#llx flags %#llx",
       (unsigned long long)e, (unsigned long long)flags);
    munmap(f, PAGE);
}

static void test_read_rules(void)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (!ok(fd >= 0, "open /proc/self/pagemap", "errno %d", errno)) return;
    uint64_t buf[4];
    ok_errno(pread(fd, buf, 8, 4), EINVAL, "pagemap: misaligned offset is EINVAL");
    ok_errno(pread(fd, buf, 4, 8), EINVAL, "pagemap: count not a multiple of 8 is EINVAL");
    ok_errno(pread(fd, buf, 12, 0), EINVAL, "pagemap: count 12 is EINVAL");
    /* The user address range ends at TASK_SIZE: Linux 0x7ffffffff000, Keel 0x7f0000000000. */
    uint64_t end = on_keel() ? 0x7f0000000000ULL : 0x7ffffffff000ULL;
    off_t last = (off_t)(end / PAGE) * 8;
    ok(lseek(fd, last, SEEK_SET) == last && read(fd, buf, 8) == 0, "pagemap: a read at the end of the user range reads 0 bytes",
       "errno %d", errno);
    ok(pread(fd, buf, 32, last - 16) == 16, "pagemap: a read across the end is cut short", "errno %d", errno);
    ok(pread(fd, buf, 16, last + 4096) == 0, "pagemap: a read past the end reads 0 bytes", "errno %d", errno);
    ok(pread(fd, buf, 16, 0) == 16 && buf[0] == 0 && buf[1] == 0, "pagemap: page 0 (never mapped) reads as 0 entries",
       "entries %#llx %#llx", (unsigned long long)buf[0], (unsigned long long)buf[1]);
    close(fd);
    fd = open("/proc/kpageflags", O_RDONLY);
    if (!ok(fd >= 0, "open /proc/kpageflags", "errno %d", errno)) return;
    ok_errno(pread(fd, buf, 8, 3), EINVAL, "kpageflags: misaligned offset is EINVAL");
    ok_errno(pread(fd, buf, 7, 0), EINVAL, "kpageflags: count not a multiple of 8 is EINVAL");
    close(fd);
    fd = open("/proc/kpagecount", O_RDONLY);
    if (!ok(fd >= 0, "open /proc/kpagecount", "errno %d", errno)) return;
    ok_errno(pread(fd, buf, 8, 12), EINVAL, "kpagecount: misaligned offset is EINVAL");
    close(fd);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reads a whole per-frame table into V (room for CAP words, already touched,
 * so reading allocates no memory); returns the words read. */
static size_t read_table(const char *path, uint64_t *v, size_t cap, double *seconds)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    size_t n = 0;
    double t0 = now();
    while (n < cap) {
        ssize_t got = read(fd, v + n, (cap - n) * 8);
        if (got <= 0) break;
        n += (size_t)got / 8;
    }
    *seconds = now() - t0;
    close(fd);
    return n;
}

/* A "key value" number from a /proc text file, 0 if absent. */
static long proc_number(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    long value = 0;
    size_t len = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, len) == 0) {
            value = strtol(line + len, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

#define MAX_ZONES 8

/* The populated zones of /proc/zoneinfo: [start_pfn, start_pfn + spanned). */
static struct { unsigned long long start, spanned; } zone_span[MAX_ZONES];
static int zone_spans;

/* Sum of "pages free" over every zone of /proc/zoneinfo; fills zone_span. */
static long zoneinfo_free(int *zones)
{
    FILE *f = fopen("/proc/zoneinfo", "r");
    if (!f) return -1;
    char line[256];
    long sum = 0;
    unsigned long long spanned = 0, v;
    *zones = 0;
    zone_spans = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "  pages free %llu", &v) == 1) {
            sum += (long)v;
            ++*zones;
        } else if (sscanf(line, " spanned %llu", &v) == 1) {
            spanned = v;
        } else if (sscanf(line, " start_pfn: %llu", &v) == 1 && zone_spans < MAX_ZONES) {
            zone_span[zone_spans].start = v;
            zone_span[zone_spans++].spanned = spanned;
        }
    }
    fclose(f);
    return sum;
}

static bool in_a_zone(unsigned long long pfn)
{
    for (int i = 0; i < zone_spans; i++)
        if (zone_span[i].start <= pfn && pfn < zone_span[i].start + zone_span[i].spanned) return true;
    return false;
}

static void test_whole_tables(void)
{
    /* Room for every frame up to the end of the last zone (zoneinfo). */
    int spans_zones = 0;
    zoneinfo_free(&spans_zones);
    size_t cap = 0;
    for (int i = 0; i < zone_spans; i++)
        if (zone_span[i].start + zone_span[i].spanned > cap) cap = zone_span[i].start + zone_span[i].spanned;
    if (!ok(cap > 0, "zoneinfo gives the end of the last zone", "no zone spans")) return;
    uint64_t *flags = malloc(cap * 8), *orders = malloc(cap * 8);
    if (!ok(flags && orders, "table buffers", "no memory")) return;
    memset(flags, 0, cap * 8);
    memset(orders, 0, cap * 8);
    double seconds = 0, order_seconds = 0;
    size_t frames = read_table("/proc/kpageflags", flags, cap, &seconds);
    /* Read the rest at once after, so little changes in between. */
    size_t n = on_keel() ? read_table("/proc/kpageorder", orders, cap, &order_seconds) : 0;
    long memfree = proc_number("/proc/meminfo", "MemFree:") / 4;
    int zones = 0;
    long zfree = zoneinfo_free(&zones);
    if (!ok(frames > 0, "read all of /proc/kpageflags", "errno %d", errno)) return;
    note("kpageflags: %zu frames read in %.3f s", frames, seconds);
    size_t buddy = 0, nopage = 0, anon = 0;
    for (size_t i = 0; i < frames; i++) {
        if (has(flags[i], KPF_BUDDY)) buddy++;
        if (has(flags[i], KPF_NOPAGE)) nopage++;
        if (has(flags[i], KPF_ANON)) anon++;
    }
    note("kpageflags: %zu free block heads, %zu holes, %zu anonymous frames", buddy, nopage, anon);
    ok(buddy > 0 && anon > 0, "kpageflags shows free blocks and anonymous pages", "buddy %zu anon %zu", buddy, anon);
    ok(zones > 0 && zfree > 0, "/proc/zoneinfo lists zones with free pages", "zones %d free %ld", zones, zfree);
    size_t outside = 0, first_outside = 0;
    for (size_t i = 0; i < frames; i++) {
        if ((has(flags[i], KPF_BUDDY) || has(flags[i], KPF_ANON)) && !in_a_zone(i) && outside++ == 0) first_outside = i;
    }
    ok(zone_spans > 0 && outside == 0, "every free or anonymous frame lies in a zone's span (zoneinfo start_pfn, spanned)",
       "%zu outside, the first PFN %#zx", outside, first_outside);

    if (!on_keel()) {
        skip("kpageorder: free blocks add up to MemFree", "/proc/kpageorder is Keel's own");
        free(flags);
        free(orders);
        return;
    }
    note("kpageorder: %zu frames read in %.3f s", n, order_seconds);
    ok(n == frames, "kpageorder has one word per frame, as kpageflags", "%zu vs %zu", n, frames);
    /* Free frames four ways: the blocks of kpageflags' BUDDY heads (at the
     * order kpageorder gives them), kpageorder's free and per-CPU frames, MemFree (Keel counts the per-CPU
     * lists in it) and zoneinfo. The files are read one after the other on a
     * live system (another CPU may allocate between them): allow some slack. */
    long heads = 0, pcp = 0, in_blocks = 0, disagree = 0;
    for (size_t i = 0; i < frames && i < n; i++) {
        if (orders[i] == KPAGEORDER_PCP) {
            pcp++;
        } else if (orders[i] <= 10) {
            in_blocks++;
            if (has(flags[i], KPF_BUDDY)) heads += 1L << orders[i];
        }
        if (has(flags[i], KPF_BUDDY) && orders[i] > 10) disagree++;
    }
    long slack = 64;
    ok(disagree <= slack, "KPF_BUDDY heads have a free order in kpageorder", "%ld heads without", disagree);
    ok(labs(heads - in_blocks) <= slack, "kpageorder's free frames match the buddy heads' blocks",
       "heads' blocks %ld frames %ld", heads, in_blocks);
    ok(labs(in_blocks + pcp - memfree) <= slack, "free blocks + per-CPU frames = MemFree (within slack)",
       "blocks %ld pcp %ld MemFree %ld frames", in_blocks, pcp, memfree);
    ok(labs(in_blocks - zfree) <= slack, "zoneinfo's pages free = frames in free blocks (within slack)",
       "blocks %ld zoneinfo %ld", in_blocks, zfree);

    /* A page just unmapped is free again: on this CPU's list or in a buddy block. */
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 1;
    uint64_t pfn = entry_of(0, p) & PM_PFN_MASK, before = 0, after = 0;
    pm_kpageorder(pfn, &before);
    munmap(p, PAGE);
    pm_kpageorder(pfn, &after);
    ok(before == KPAGEORDER_NOT_FREE && (after == KPAGEORDER_PCP || after <= 10),
       "kpageorder: a mapped frame is not free; unmapped it is free", "before %#llx after %#llx",
       (unsigned long long)before, (unsigned long long)after);
    free(orders);
    free(flags);
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[256];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) self[len] = 0;
    else snprintf(self, sizeof self, "%s", argv[0]);
    test_anonymous();
    test_fork();
    test_shared_and_file(self);
    test_read_rules();
    test_whole_tables();
    return ktest_done();
}
