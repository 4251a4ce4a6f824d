/*
 * viz_tour: the scenario `make viz` draws (tools/viz.py). Not a test: it runs
 * init_tour's phases of a process's memory life with the keel:fault_resolved
 * trace event on, marks each phase in the trace with a trace_marker line,
 * photographs its own address space while a forked child still shares its
 * pages, and then dumps everything the pictures need to the console:
 *
 *   map            mmap ARENA_PAGES of private anonymous memory: no fault yet
 *   read-touch     read READ_PAGES of it: each maps the shared zero page
 *   write-touch    write WRITE_PAGES others: each allocates a zeroed frame
 *   file-read      map this program's own file and read every page (its
 *                  page-cache pages: shmem pages, the initramfs being a tmpfs)
 *   shmem          write SHMEM_PAGES of a MAP_SHARED anonymous mapping
 *   stack-growth   recurse below the stack VMA: it grows down a page a fault
 *   fork           fork(); the child writes COW_PAGES of the written pages
 *   child-writes   (each a copy-on-write copy in the child), then waits
 *   snapshot       maps, pagemap, kpagecount and kpageflags of the parent
 *                  while the child shares its pages
 *   parent-writes  after the child exits, REUSE_PAGES other written pages:
 *                  nobody else maps them any more, so each write reuses
 *   sigsegv        a write to address 8, caught with a SIGSEGV handler
 *
 * The dump is line based, every line starts with "V:" (other console lines,
 * such as kernel messages, are ignored), between "==== KEEL-VIZ BEGIN" and
 * "==== KEEL-VIZ END" lines:
 *   V:K key value...          a fact (pids, what the tour expects of the trace)
 *   V:T name / V:|line / V:E  a text file (/proc/zoneinfo, the trace, ...)
 *   V:R name [start end]      a table of little-endian u64s (kpageflags, a VMA's
 *   V:=tokens / V:E name n    pagemap ...), run-length encoded: tokens are
 *                             "hex" or "hex*count" (count in decimal); the end
 *                             line gives the number of entries, a check that
 *                             the serial line lost nothing.
 * On the host Linux (no keel:fault_resolved there) it traces
 * exceptions:page_fault_user instead, for developing tools/viz.py, and puts
 * the host's tracing back as it found it.
 */
#define _GNU_SOURCE
#include "procfs.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PAGE 4096UL
#define ARENA_PAGES 1024    /* 4 MiB */
#define READ_PAGES 32       /* pages 0..31: zero page */
#define WRITE_PAGES 64      /* pages 64..127: zero-fill */
#define COW_PAGES 16        /* pages 64..79: the child's copies */
#define REUSE_PAGES 16      /* pages 96..111: the parent's reuses */
#define SHMEM_PAGES 8
#define STACK_FRAMES 80     /* frames of about 3 KiB: 240 KiB, past the first 128 KiB */

static char tracing[256];
static const char *event = "";
static bool mounted;
static char saved_on[16], saved_enable[16], saved_pid[64];
static char text[1 << 18];
static struct map_line maps[MAX_MAP_LINES];
static uint64_t table[512];
static char line[160];
static size_t line_len;
static sigjmp_buf segv_return;
static volatile sig_atomic_t segv_caught;
static volatile unsigned sink;      /* keeps the reads */
static volatile uintptr_t bad_address = 8;

static void die(const char *what)
{
    printf("viz_tour: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A file in tracefs; -1 with ENOENT if there is no tracefs. */
static int tracing_file(const char *name, int flags)
{
    if (tracing[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    char path[320];
    snprintf(path, sizeof path, "%s/%s", tracing, name);
    return open(path, flags);
}

/* Writes `value` to a tracefs file; false if it cannot be opened or written. */
static bool tracing_write(const char *name, const char *value)
{
    int fd = tracing_file(name, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return false;
    bool ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
    close(fd);
    return ok;
}

/* The first word of a tracefs file, e.g. "1" from tracing_on; "" if none. */
static void tracing_read(const char *name, char *out, size_t size)
{
    int fd = tracing_file(name, O_RDONLY);
    out[0] = '\0';
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, size - 1);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

static bool tracing_has(const char *name)
{
    int fd = tracing_file(name, O_RDONLY);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

/* Finds tracefs (Keel mounts it at /sys/kernel/tracing; the host may not have
 * it mounted there), picks the event, clears the buffer and turns it on.
 * Without tracefs the tour still runs and dumps the rest. */
static void start_tracing(void)
{
    snprintf(tracing, sizeof tracing, "/sys/kernel/tracing");
    if (!tracing_has("trace_marker")) {
        snprintf(tracing, sizeof tracing, "/tmp/viz-tracefs");
        mkdir(tracing, 0755);
        if (!tracing_has("trace_marker")) {
            if (mount("nodev", tracing, "tracefs", 0, NULL) != 0) {
                printf("viz_tour: no tracefs (%s): no fault timeline\n", strerror(errno));
                tracing[0] = '\0';
                return;
            }
            mounted = true;
        }
    }
    event = "keel/fault_resolved";
    if (!tracing_has("events/keel/fault_resolved/enable"))
        event = "exceptions/page_fault_user";
    char enable[128];
    snprintf(enable, sizeof enable, "events/%s/enable", event);
    tracing_read("tracing_on", saved_on, sizeof saved_on);
    tracing_read(enable, saved_enable, sizeof saved_enable);
    tracing_read("set_event_pid", saved_pid, sizeof saved_pid);
    /* Only this process and its child (Keel runs nothing else; the host does). */
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    if (tracing_has("set_event_pid")) {
        tracing_write("set_event_pid", pid);
        tracing_write("options/event-fork", "1");
    }
    if (!tracing_write("trace", "") || !tracing_write(enable, "1") || !tracing_write("tracing_on", "1"))
        printf("viz_tour: cannot enable %s (%s): no fault timeline\n", event, strerror(errno));
}

static void stop_tracing(void)
{
    char enable[128];
    snprintf(enable, sizeof enable, "events/%s/enable", event);
    tracing_write("tracing_on", "0");
    tracing_write(enable, saved_enable[0] ? saved_enable : "0");
    if (tracing_has("set_event_pid")) {
        tracing_write("set_event_pid", saved_pid);
        tracing_write("options/event-fork", "0");
    }
}

/* Puts the host's tracing back (Keel's boots afresh each time). */
static void restore_tracing(void)
{
    tracing_write("trace", "");
    tracing_write("tracing_on", saved_on[0] ? saved_on : "1");
    if (mounted && umount(tracing) == 0)
        rmdir(tracing);
}

static void phase(const char *name)
{
    char marker[64];
    snprintf(marker, sizeof marker, "viz-phase %s", name);
    tracing_write("trace_marker", marker);
}

/* ---- the dump ---- */

static void flush_line(void)
{
    if (line_len == 0)
        return;
    printf("V:=%.*s\n", (int)line_len, line);
    line_len = 0;
}

static void token(uint64_t value, uint64_t count)
{
    char t[48];
    int n = count == 1 ? snprintf(t, sizeof t, "%" PRIx64, value)
                       : snprintf(t, sizeof t, "%" PRIx64 "*%" PRIu64, value, count);
    if (line_len + 1 + (size_t)n > 120)
        flush_line();
    if (line_len)
        line[line_len++] = ' ';
    memcpy(line + line_len, t, (size_t)n);
    line_len += (size_t)n;
}

struct rle {
    uint64_t value, count, total;
};

static void rle_add(struct rle *r, uint64_t value)
{
    if (r->count && value == r->value) {
        r->count++;
    } else {
        if (r->count)
            token(r->value, r->count);
        r->value = value;
        r->count = 1;
    }
    r->total++;
}

static void rle_end(struct rle *r, const char *name)
{
    if (r->count)
        token(r->value, r->count);
    flush_line();
    printf("V:E %s %" PRIu64 "\n", name, r->total);
}

/* A whole kpage* file. */
static void dump_table(const char *path, const char *name)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("V:K missing %s %d\n", name, errno);
        return;
    }
    printf("V:R %s\n", name);
    struct rle r = {0};
    for (;;) {
        ssize_t n = read(fd, table, sizeof table);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n / 8; i++)
            rle_add(&r, table[i]);
    }
    close(fd);
    rle_end(&r, name);
}

static void dump_text(const char *path, const char *name)
{
    if (read_whole(path, text, sizeof text) < 0) {
        printf("V:K missing %s %d\n", name, errno);
        return;
    }
    printf("V:T %s\n", name);
    for (char *s = text; *s;) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        printf("V:|%s\n", s);
        if (!nl)
            break;
        s = nl + 1;
    }
    printf("V:E %s\n", name);
}

/* The entry for each page of [start, end) of /proc/self/pagemap, and for the
 * present ones their frame's kpagecount and kpageflags entries (0 if absent). */
static void dump_pagemap(uintptr_t start, uintptr_t end, int pagemap, int kpagecount, int kpageflags)
{
    struct rle entries = {0}, counts = {0}, flags = {0};
    static uint64_t pfns[1 << 14];
    size_t pages = (end - start) / PAGE;
    if (pages > sizeof pfns / sizeof pfns[0])
        pages = sizeof pfns / sizeof pfns[0];
    printf("V:R pagemap %" PRIxPTR " %" PRIxPTR "\n", start, start + pages * PAGE);
    for (size_t i = 0; i < pages; i++) {
        uint64_t e = 0;
        if (pread(pagemap, &e, 8, (off_t)((start / PAGE + i) * 8)) != 8)
            e = 0;
        rle_add(&entries, e);
        pfns[i] = (e >> 63) & 1 ? e & ((1ULL << 55) - 1) : UINT64_MAX;
    }
    rle_end(&entries, "pagemap");
    for (int pass = 0; pass < 2; pass++) {
        int fd = pass == 0 ? kpagecount : kpageflags;
        struct rle *r = pass == 0 ? &counts : &flags;
        printf("V:R %s %" PRIxPTR " %" PRIxPTR "\n", pass == 0 ? "pagecount" : "pageflags", start,
               start + pages * PAGE);
        for (size_t i = 0; i < pages; i++) {
            uint64_t v = 0;
            if (pfns[i] == UINT64_MAX || fd < 0 || pread(fd, &v, 8, (off_t)(pfns[i] * 8)) != 8)
                v = 0;
            rle_add(r, v);
        }
        rle_end(r, pass == 0 ? "pagecount" : "pageflags");
    }
}

/* This process's maps and, for every VMA, its pagemap (the snapshot). */
static void snapshot(void)
{
    char why[200];
    int n = read_maps(maps, MAX_MAP_LINES, why, sizeof why);
    if (n < 0) {
        printf("viz_tour: %s\n", why);
        exit(1);
    }
    dump_text("/proc/self/maps", "maps");
    int pagemap = open("/proc/self/pagemap", O_RDONLY);
    int kpagecount = open("/proc/kpagecount", O_RDONLY);
    int kpageflags = open("/proc/kpageflags", O_RDONLY);
    if (pagemap < 0)
        printf("V:K missing pagemap %d\n", errno);
    for (int i = 0; i < n && pagemap >= 0; i++)
        if (maps[i].start < 0x800000000000UL) /* not the host's [vsyscall] */
            dump_pagemap(maps[i].start, maps[i].end, pagemap, kpagecount, kpageflags);
    close(pagemap);
    close(kpagecount);
    close(kpageflags);
}

/* ---- the phases ---- */

static void on_segv(int sig)
{
    (void)sig;
    segv_caught = 1;
    siglongjmp(segv_return, 1);
}

/* Each call takes about 3 KiB of stack and touches it: the stack VMA grows a
 * page at a time once the recursion passes its lower end. */
static int __attribute__((noinline)) grow_stack(int depth)
{
    volatile char frame[3000];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)depth;
    return depth == 0 ? frame[0] : grow_stack(depth - 1) + frame[sizeof frame - 1];
}

static uintptr_t stack_start(void)
{
    char why[200];
    int n = read_maps(maps, MAX_MAP_LINES, why, sizeof why);
    for (int i = 0; i < n; i++)
        if (strcmp(maps[i].path, "[stack]") == 0)
            return maps[i].start;
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Touch the buffers now, so the trace shows the phases' faults, not theirs. */
    memset(text, 1, sizeof text);
    memset(maps, 0, sizeof maps);
    start_tracing();

    phase("map");
    unsigned char *arena = mmap(NULL, ARENA_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena == MAP_FAILED)
        die("mmap");

    phase("read-touch");
    unsigned sum = 0;
    for (int i = 0; i < READ_PAGES; i++)
        sum += ((volatile unsigned char *)arena)[i * PAGE];

    phase("write-touch");
    for (int i = 0; i < WRITE_PAGES; i++)
        arena[(64 + i) * PAGE] = (unsigned char)(i + 1);

    phase("file-read");
    const char *self = argc > 0 ? argv[0] : "/bin/viz_tour";
    int fd = open(self, O_RDONLY);
    if (fd < 0)
        fd = open("/bin/viz_tour", O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        die("open my own file");
    long file_pages = (st.st_size + (long)PAGE - 1) / (long)PAGE;
    unsigned char *file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (file == MAP_FAILED)
        die("mmap my file");
    for (long i = 0; i < file_pages; i++)
        sum += ((volatile unsigned char *)file)[i * PAGE];
    close(fd);

    phase("shmem");
    unsigned char *shared = mmap(NULL, SHMEM_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        die("mmap shared");
    for (int i = 0; i < SHMEM_PAGES; i++)
        shared[i * PAGE] = (unsigned char)i;

    phase("stack-growth");
    uintptr_t stack_before = stack_start();
    sum += (unsigned)grow_stack(STACK_FRAMES);
    uintptr_t stack_after = stack_start();

    phase("fork");
    int go[2], ready[2];
    if (pipe(go) != 0 || pipe(ready) != 0)
        die("pipe");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        phase("child-writes");
        for (int i = 0; i < COW_PAGES; i++)
            arena[(64 + i) * PAGE] = 0xcc;
        char c = 'r';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(arena[64 * PAGE] == 0xcc ? 0 : 1);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        die("wait for the child");
    phase("snapshot");
    /* The pictures' address space: now, while the child shares the pages. */
    printf("\n==== KEEL-VIZ BEGIN\n");
    printf("V:K pid %d\nV:K child %d\nV:K event %s\nV:K cpus %ld\n", getpid(), child, event,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("V:K arena %p %d\nV:K file %p %ld\nV:K shmem %p %d\n", (void *)arena, ARENA_PAGES, (void *)file, file_pages,
           (void *)shared, SHMEM_PAGES);
    snapshot();
    if (write(go[1], &c, 1) != 1)
        die("wake the child");
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("viz_tour: the child failed (status %#x)\n", status);

    phase("parent-writes");
    for (int i = 0; i < REUSE_PAGES; i++)
        arena[(96 + i) * PAGE] = 0xdd;

    phase("sigsegv");
    struct sigaction sa = {.sa_handler = on_segv};
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(segv_return, 1) == 0)
        *(volatile int *)bad_address = 1;

    phase("done");
    stop_tracing();
    long grown = stack_before > stack_after ? (long)((stack_before - stack_after) / PAGE) : 0;
    printf("V:K stack_grown_pages %ld\n", grown);
    /* At least this many of each kind, from this process and its child. */
    /* The program's own file is in the initramfs, a tmpfs: its pages are
     * shmem pages of the page cache, so its faults count as shmem too, one
     * per 16 pages (a read fault maps the cached pages around it). */
    printf("V:K expect zero_page %d\nV:K expect zero_fill %d\n", READ_PAGES, WRITE_PAGES);
    printf("V:K expect shmem %ld\nV:K expect cow_copy %d\nV:K expect cow_reuse %d\n",
           SHMEM_PAGES + (file_pages + 15) / 16, COW_PAGES, REUSE_PAGES);
    /* A frame of grow_stack() is under a page: each page the stack grew by took one fault. */
    printf("V:K expect stack_growth %ld\nV:K expect sigsegv %d\n", grown, segv_caught ? 1 : 0);
    char trace[320];
    snprintf(trace, sizeof trace, "%s/trace", tracing);
    dump_text(trace, "trace");
    dump_text("/proc/zoneinfo", "zoneinfo");
    dump_text("/proc/buddyinfo", "buddyinfo");
    dump_text("/proc/meminfo", "meminfo");
    dump_table("/proc/kpageorder", "kpageorder");
    dump_text("/proc/meminfo", "meminfo-after");
    dump_table("/proc/kpageflags", "kpageflags");
    dump_table("/proc/kpagecount", "kpagecount");
    printf("==== KEEL-VIZ END\n");
    restore_tracing();
    sink = sum;
    return 0;
}
