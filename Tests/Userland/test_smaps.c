/*
 * test_smaps: /proc/<pid>/smaps, /proc/<pid>/smaps_rollup and the page
 * counters of /proc/meminfo and /proc/vmstat, as Linux has them
 * (fs/proc/task_mmu.c show_smap, show_smaps_rollup; fs/proc/meminfo.c;
 * mm/vmstat.c), checked on the host and on Keel alike:
 *   - every smaps entry is a maps line, Linux's fields in Linux's order and
 *     columns, THPeligible and VmFlags, and the regions are the maps file's;
 *   - written anonymous pages are Private_Dirty and Anonymous (and Locked
 *     once mlocked, with "lo" in VmFlags); after fork the
 *     pages are Shared_Dirty in parent and child with Pss halved, a page the
 *     child writes is its own again, and once the child is gone the parent's
 *     pages are private again;
 *   - a file mapped read-only and read counts in Rss, not anonymous: clean
 *     once written back (Shared_Clean + Private_Clean), dirty on tmpfs, which
 *     never writes back (an initramfs root); a page written through a
 *     private file mapping becomes anonymous and Private_Dirty;
 *   - shared anonymous memory (shmem) counts as Pss_Shmem, not Anonymous, and
 *     in meminfo's Shmem;
 *   - smaps_rollup is the sum of smaps, under a header from the first
 *     region's start to the last one's end;
 *   - meminfo has Buffers, Cached, Dirty, Writeback, AnonPages, Mapped and
 *     Shmem in Linux's order, and AnonPages rises by about N pages when N
 *     anonymous pages are touched and falls back when they are unmapped;
 *   - vmstat has nr_anon_pages, nr_mapped, nr_file_pages, nr_dirty,
 *     nr_writeback, nr_shmem before the events pgpgin, pgpgout, pgfault,
 *     pgmajfault, and nr_anon_pages agrees with AnonPages.
 * Counts on the host move with every other process: the meminfo checks retry
 * a few times and accept a rise within a quarter of N.
 */
#include "ktest.h"
#include "procfs.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>

#define PAGE 4096UL
#define KB(pages) ((long long)(pages) * (long long)(PAGE / 1024))

/* The count lines of an smaps entry, in Linux's order. */
enum {
    F_SIZE, F_KERNEL_PAGE, F_MMU_PAGE, F_RSS, F_PSS, F_PSS_DIRTY, F_SHARED_CLEAN, F_SHARED_DIRTY,
    F_PRIVATE_CLEAN, F_PRIVATE_DIRTY, F_REFERENCED, F_ANONYMOUS, F_KSM, F_LAZYFREE, F_ANON_HUGE,
    F_SHMEM_PMD, F_FILE_PMD, F_SHARED_HUGETLB, F_PRIVATE_HUGETLB, F_SWAP, F_SWAP_PSS, F_LOCKED, NFIELDS
};
static const char *const smaps_fields[NFIELDS] = {
    "Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty",
    "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
    "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked",
};

/* The count lines of smaps_rollup: no sizes, and the Pss split after Pss_Dirty. */
enum {
    R_RSS, R_PSS, R_PSS_DIRTY, R_PSS_ANON, R_PSS_FILE, R_PSS_SHMEM, R_SHARED_CLEAN, R_SHARED_DIRTY,
    R_PRIVATE_CLEAN, R_PRIVATE_DIRTY, R_REFERENCED, R_ANONYMOUS, R_KSM, R_LAZYFREE, R_ANON_HUGE,
    R_SHMEM_PMD, R_FILE_PMD, R_SHARED_HUGETLB, R_PRIVATE_HUGETLB, R_SWAP, R_SWAP_PSS, R_LOCKED, RFIELDS
};
static const char *const rollup_fields[RFIELDS] = {
    "Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem", "Shared_Clean", "Shared_Dirty",
    "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
    "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked",
};

struct smaps_entry {
    struct map_line map;
    long long v[NFIELDS];
    char vmflags[160];
};

#define MAX_ENTRIES 4096
static struct smaps_entry entries[MAX_ENTRIES];
static char text[1 << 21];
static char maps_text[1 << 18];
static char rollup_text[4096];
static char why[256];

/* Takes the line at *cursor (NUL-terminating it) and moves past it; NULL at the end. */
static char *next_line(char **cursor)
{
    char *line = *cursor;
    if (!*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (!nl) {
        *cursor = line + strlen(line);
        return NULL;                       /* an unterminated last line is malformed */
    }
    *nl = '\0';
    *cursor = nl + 1;
    return line;
}

/* "Name:   value kB" for the expected `name`, " kB" ending in column 27 while
 * the value fits in 8 digits (Linux: SEQ_PUT_DEC). */
static bool parse_count(const char *line, const char *name, long long *value)
{
    size_t k = strlen(name);
    int used = 0;
    if (strncmp(line, name, k) != 0 || line[k] != ':' || sscanf(line + k + 1, " %lld kB%n", value, &used) != 1)
        return false;
    if (line[k + 1 + used] != '\0' || strcmp(line + strlen(line) - 3, " kB") != 0)
        return false;
    return *value >= 100000000 || strlen(line) == 27;
}

/* Parses smaps text strictly into `out`; returns the entry count, or -1 with `why`. */
static int parse_smaps(char *s, struct smaps_entry *out, int max)
{
    int n = 0;
    char *cursor = s, *line;
    while ((line = next_line(&cursor))) {
        if (n == max || !parse_map_line(line, &out[n].map)) {
            snprintf(why, sizeof why, "entry %d: bad maps line \"%.100s\"", n + 1, line);
            return -1;
        }
        for (int f = 0; f < NFIELDS; f++) {
            line = next_line(&cursor);
            if (!line || !parse_count(line, smaps_fields[f], &out[n].v[f])) {
                snprintf(why, sizeof why, "entry %d: want %s, got \"%.60s\"", n + 1, smaps_fields[f], line ? line : "(end)");
                return -1;
            }
        }
        line = next_line(&cursor);
        unsigned thp;
        if (!line || sscanf(line, "THPeligible: %u", &thp) != 1 || strlen(line) != 24) {
            snprintf(why, sizeof why, "entry %d: want THPeligible, got \"%.60s\"", n + 1, line ? line : "(end)");
            return -1;
        }
        line = next_line(&cursor);
        if (line && strncmp(line, "ProtectionKey:", 14) == 0)      /* Linux with memory protection keys */
            line = next_line(&cursor);
        if (!line || strncmp(line, "VmFlags: ", 9) != 0) {
            snprintf(why, sizeof why, "entry %d: want VmFlags, got \"%.60s\"", n + 1, line ? line : "(end)");
            return -1;
        }
        /* Two letters and a space per flag. */
        size_t len = strlen(line + 9);
        for (size_t i = 0; i < len; i += 3)
            if (len % 3 != 0 || line[9 + i + 2] != ' ') {
                snprintf(why, sizeof why, "entry %d: VmFlags not two letters each: \"%.60s\"", n + 1, line);
                return -1;
            }
        snprintf(out[n].vmflags, sizeof out[n].vmflags, "%s", line + 9);
        n++;
    }
    if (*cursor) {
        snprintf(why, sizeof why, "unterminated last line");
        return -1;
    }
    return n;
}

/* Reads and parses /proc/<pid>/smaps ("self" for 0); -1 with `why`. */
static int read_smaps(int pid)
{
    char path[64];
    if (pid) snprintf(path, sizeof path, "/proc/%d/smaps", pid);
    else snprintf(path, sizeof path, "/proc/self/smaps");
    long len = read_whole(path, text, sizeof text);
    if (len < 0) {
        snprintf(why, sizeof why, "cannot read %s: errno %d", path, errno);
        return -1;
    }
    if (len == (long)sizeof text - 1) {
        snprintf(why, sizeof why, "%s longer than %zu bytes", path, sizeof text);
        return -1;
    }
    return parse_smaps(text, entries, MAX_ENTRIES);
}

/* The entry holding `addr` in this process's smaps, or NULL with `why`. */
static const struct smaps_entry *entry_at(const void *addr)
{
    int n = read_smaps(0);
    for (int i = 0; i < n; i++)
        if (entries[i].map.start <= (uintptr_t)addr && (uintptr_t)addr < entries[i].map.end)
            return &entries[i];
    if (n >= 0)
        snprintf(why, sizeof why, "no entry holds %p", addr);
    return NULL;
}

/*
 * `pages` pages mapped with prot/flags (from fd at offset 0 unless anonymous)
 * between two PROT_NONE pages, so the region is a VMA of its own that merges
 * with nothing; the caller unmaps pages + 2 from the result less a page.
 */
static char *isolated(size_t pages, int prot, int flags, int fd)
{
    char *guard = mmap(NULL, (pages + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard == MAP_FAILED)
        return NULL;
    char *p = mmap(guard + PAGE, pages * PAGE, prot, flags | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        munmap(guard, (pages + 2) * PAGE);
        return NULL;
    }
    return p;
}

static void release(char *p, size_t pages) { munmap(p - PAGE, (pages + 2) * PAGE); }

/* ---- the layout ---------------------------------------------------------------- */

static void test_layout(void)
{
    /* maps first, into its own buffer: the regions cannot change in between
     * (no allocation runs between the two reads). */
    long mlen = read_whole("/proc/self/maps", maps_text, sizeof maps_text);
    int n = read_smaps(0);
    if (!ok(n > 0 && mlen > 0, "smaps parses: maps line, Linux's fields in order and columns, THPeligible, VmFlags",
            "%s", why))
        return;
    int lines = 0, same = 0;
    char *cursor = maps_text, *line;
    while ((line = next_line(&cursor))) {
        struct map_line m;
        if (lines < n && parse_map_line(line, &m) && m.start == entries[lines].map.start &&
            m.end == entries[lines].map.end && strcmp(m.perms, entries[lines].map.perms) == 0 &&
            m.inode == entries[lines].map.inode && strcmp(m.path, entries[lines].map.path) == 0)
            same++;
        lines++;
    }
    ok(lines == n && same == n, "smaps has maps's regions, in order", "maps %d lines, smaps %d entries, %d alike",
       lines, n, same);
    int bad = -1;
    for (int i = 0; i < n && bad < 0; i++) {
        const long long *v = entries[i].v;
        if (v[F_SIZE] != (long long)(entries[i].map.end - entries[i].map.start) / 1024 || v[F_KERNEL_PAGE] != 4 ||
            v[F_MMU_PAGE] != 4 || v[F_RSS] > v[F_SIZE] || v[F_PSS] > v[F_RSS] ||
            v[F_SHARED_CLEAN] + v[F_SHARED_DIRTY] + v[F_PRIVATE_CLEAN] + v[F_PRIVATE_DIRTY] != v[F_RSS] ||
            v[F_ANONYMOUS] > v[F_RSS] || v[F_PSS_DIRTY] > v[F_PSS])
            bad = i;
    }
    ok(bad < 0, "every entry: Size is the range, 4 kB pages, Rss = the four Shared/Private counts, Pss <= Rss",
       "entry %d (%lx-%lx)", bad, bad >= 0 ? (unsigned long)entries[bad].map.start : 0UL,
       bad >= 0 ? (unsigned long)entries[bad].map.end : 0UL);
}

/* Read in small pieces, smaps is the text of one whole read (the process
 * changes nothing in between: both buffers are written beforehand). On Keel
 * each piece past the first 16 KiB is printed anew from a window over the
 * text, skipping the regions before it. */
static void test_pieces(void)
{
    static char whole[1 << 20], pieces[1 << 20];
    memset(whole, 1, sizeof whole);
    memset(pieces, 1, sizeof pieces);
    long len = read_whole("/proc/self/smaps", whole, sizeof whole);
    int fd = open("/proc/self/smaps", O_RDONLY);
    long got = 0;
    ssize_t n = 0;
    while (fd >= 0 && got < (long)sizeof pieces - 1000 && (n = read(fd, pieces + got, 777)) > 0)
        got += n;
    if (fd >= 0) close(fd);
    pieces[got] = '\0';
    ok(len > 0 && n == 0 && got == len && memcmp(whole, pieces, (size_t)len) == 0,
       "smaps read 777 bytes at a time is the same text", "%ld bytes at once, %ld in pieces (last read %zd)",
       len, got, n);
}

/* ---- anonymous memory, fork ---------------------------------------------------- */

#define ANON_PAGES 16

static void test_anonymous(void)
{
    char *p = isolated(ANON_PAGES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (!ok(p != NULL, "mmap an isolated anonymous region", "errno %d", errno))
        return;
    const struct smaps_entry *e = entry_at(p);
    ok(e && e->v[F_RSS] == 0 && e->map.start == (uintptr_t)p && e->map.end == (uintptr_t)(p + ANON_PAGES * PAGE),
       "untouched: its own entry, Rss 0", "%s", e ? "counts or range differ" : why);
    for (int i = 0; i < ANON_PAGES / 2; i++)
        (void)*(volatile char *)(p + i * PAGE);
    e = entry_at(p);
    ok(e && e->v[F_RSS] == 0 && e->v[F_ANONYMOUS] == 0, "read, never written: the zero page, not in Rss",
       "Rss %lld, Anonymous %lld", e ? e->v[F_RSS] : -1, e ? e->v[F_ANONYMOUS] : -1);
    memset(p, 1, ANON_PAGES * PAGE);
    e = entry_at(p);
    const long long want = KB(ANON_PAGES);
    ok(e && e->v[F_RSS] == want && e->v[F_PSS] == want && e->v[F_PRIVATE_DIRTY] == want &&
       e->v[F_ANONYMOUS] == want && e->v[F_PSS_DIRTY] == want && e->v[F_SHARED_CLEAN] == 0 &&
       e->v[F_SHARED_DIRTY] == 0 && e->v[F_PRIVATE_CLEAN] == 0,
       "written: Rss = Pss = Pss_Dirty = Private_Dirty = Anonymous",
       "Rss %lld Pss %lld Pss_Dirty %lld Private_Dirty %lld Anonymous %lld, want %lld", e ? e->v[F_RSS] : -1,
       e ? e->v[F_PSS] : -1, e ? e->v[F_PSS_DIRTY] : -1, e ? e->v[F_PRIVATE_DIRTY] : -1, e ? e->v[F_ANONYMOUS] : -1,
       want);
    ok(e && e->v[F_REFERENCED] == want, "written: Referenced (the PTEs' accessed bits)", "Referenced %lld",
       e ? e->v[F_REFERENCED] : -1);
    ok(e && strncmp(e->vmflags, "rd wr mr mw me ", 15) == 0, "VmFlags of a private read-write region: rd wr mr mw me",
       "\"%s\"", e ? e->vmflags : why);
    ok(e && e->v[F_LOCKED] == 0, "not mlocked: Locked 0", "Locked %lld", e ? e->v[F_LOCKED] : -1);
    if (mlock(p, ANON_PAGES * PAGE) != 0) {
        skip("mlocked: Locked = Pss, VmFlags lo", errno == EPERM || errno == ENOMEM ? "mlock not allowed here" : "mlock failed");
    } else {
        e = entry_at(p);
        ok(e && e->v[F_LOCKED] == want && strstr(e->vmflags, "lo ") != NULL, "mlocked: Locked = Pss, VmFlags lo",
           "Locked %lld, VmFlags \"%s\"", e ? e->v[F_LOCKED] : -1, e ? e->vmflags : why);
        munlock(p, ANON_PAGES * PAGE);
    }
    release(p, ANON_PAGES);
}

/* What a child saw of the region: the counts of its entry (Size -1: none). */
static void child_report(const char *p, int up, int down, int write_pages)
{
    long long v[NFIELDS];
    memset(v, 0, sizeof v);
    for (int i = 0; i < write_pages; i++)
        ((volatile char *)p)[i * PAGE] = 2;
    const struct smaps_entry *e = entry_at(p);
    if (e) memcpy(v, e->v, sizeof v);
    else v[F_SIZE] = -1;
    char c;
    if (write(up, v, sizeof v) != (ssize_t)sizeof v || read(down, &c, 1) != 1)
        _exit(1);
    _exit(0);
}

/* Forks; the child writes `write_pages` pages and reports its entry, the
 * parent reads its own while the child still lives. */
static bool fork_and_look(char *p, int write_pages, long long *child, long long *parent)
{
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0)
        return false;
    pid_t pid = fork();
    if (pid == 0)
        child_report(p, up[1], down[0], write_pages);
    bool done = pid > 0 && read(up[0], child, NFIELDS * sizeof *child) == (ssize_t)(NFIELDS * sizeof *child);
    const struct smaps_entry *e = done ? entry_at(p) : NULL;
    if (e) memcpy(parent, e->v, NFIELDS * sizeof *parent);
    int status = 0;
    if (pid > 0 && (write(down[1], "x", 1) != 1 || waitpid(pid, &status, 0) != pid))
        done = false;
    close(up[0]); close(up[1]); close(down[0]); close(down[1]);
    return done && e && status == 0 && child[F_SIZE] >= 0;
}

static void test_fork(void)
{
    char *p = isolated(ANON_PAGES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (!ok(p != NULL, "mmap a region to fork with", "errno %d", errno))
        return;
    memset(p, 1, ANON_PAGES * PAGE);
    const long long all = KB(ANON_PAGES);
    long long c[NFIELDS], q[NFIELDS];
    if (ok(fork_and_look(p, 0, c, q), "fork, child and parent read their smaps", "errno %d", errno)) {
        ok(c[F_RSS] == all && c[F_SHARED_DIRTY] == all && c[F_PRIVATE_DIRTY] == 0 && c[F_PSS] == all / 2 &&
           c[F_PSS_DIRTY] == all / 2 && c[F_ANONYMOUS] == all,
           "after fork, the child: Shared_Dirty, Pss halved, still Anonymous",
           "Rss %lld Shared_Dirty %lld Private_Dirty %lld Pss %lld Pss_Dirty %lld Anonymous %lld",
           c[F_RSS], c[F_SHARED_DIRTY], c[F_PRIVATE_DIRTY], c[F_PSS], c[F_PSS_DIRTY], c[F_ANONYMOUS]);
        ok(q[F_RSS] == all && q[F_SHARED_DIRTY] == all && q[F_PRIVATE_DIRTY] == 0 && q[F_PSS] == all / 2,
           "after fork, the parent: Shared_Dirty, Pss halved", "Rss %lld Shared_Dirty %lld Private_Dirty %lld Pss %lld",
           q[F_RSS], q[F_SHARED_DIRTY], q[F_PRIVATE_DIRTY], q[F_PSS]);
    }
    const struct smaps_entry *e = entry_at(p);
    ok(e && e->v[F_PRIVATE_DIRTY] == all && e->v[F_SHARED_DIRTY] == 0 && e->v[F_PSS] == all,
       "the child gone: the parent's pages are private again", "Private_Dirty %lld Shared_Dirty %lld Pss %lld",
       e ? e->v[F_PRIVATE_DIRTY] : -1, e ? e->v[F_SHARED_DIRTY] : -1, e ? e->v[F_PSS] : -1);
    /* The child writes 4 pages: its copies are private, the other 12 shared. */
    const long long mine = KB(4), shared = KB(ANON_PAGES - 4);
    if (ok(fork_and_look(p, 4, c, q), "fork, the child writes 4 pages", "errno %d", errno)) {
        ok(c[F_PRIVATE_DIRTY] == mine && c[F_SHARED_DIRTY] == shared && c[F_PSS] == mine + shared / 2,
           "the child's written pages are its own, the rest shared",
           "Private_Dirty %lld Shared_Dirty %lld Pss %lld", c[F_PRIVATE_DIRTY], c[F_SHARED_DIRTY], c[F_PSS]);
        ok(q[F_PRIVATE_DIRTY] == mine && q[F_SHARED_DIRTY] == shared && q[F_PSS] == mine + shared / 2,
           "the parent's pages the child copied are its own again",
           "Private_Dirty %lld Shared_Dirty %lld Pss %lld", q[F_PRIVATE_DIRTY], q[F_SHARED_DIRTY], q[F_PSS]);
    }
    release(p, ANON_PAGES);
}

/* ---- files and shared memory --------------------------------------------------- */

/* Linux: TMPFS_MAGIC, RAMFS_MAGIC */
#define TMPFS_MAGIC 0x01021994
#define RAMFS_MAGIC 0x858458f6

static void test_file(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    struct statfs fs;
    if (!ok(fd >= 0 && fstat(fd, &st) == 0 && fstatfs(fd, &fs) == 0, "open this program's file", "errno %d", errno))
        return;
    /* A file on tmpfs or ramfs (an initramfs root) is never written back: its
     * pages stay dirty. Elsewhere fsync makes them clean (the file may have
     * been copied there a moment ago). Linux: shmem and ramfs folios are
     * marked dirty by write_end and only reclaim to swap would clean them. */
    bool stays_dirty = fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
    if (!stays_dirty)
        ok(fsync(fd) == 0, "fsync this program's file", "errno %d", errno);
    size_t pages = (size_t)st.st_size / PAGE;
    if (pages > 8) pages = 8;
    char *p = isolated(pages, PROT_READ, MAP_PRIVATE, fd);
    if (!ok(p != NULL && pages >= 2, "map it read-only", "errno %d, %zu pages", errno, pages)) {
        close(fd);
        return;
    }
    for (size_t i = 0; i < pages; i++)
        (void)*(volatile char *)(p + i * PAGE);
    const struct smaps_entry *e = entry_at(p);
    const long long all = KB(pages);
    ok(e && strstr(e->map.path, "test_smaps") && e->map.inode == st.st_ino, "the entry names the file and its inode",
       "\"%s\" inode %lu", e ? e->map.path : why, e ? e->map.inode : 0);
    long long clean = e ? e->v[F_SHARED_CLEAN] + e->v[F_PRIVATE_CLEAN] : -1;
    long long dirty = e ? e->v[F_SHARED_DIRTY] + e->v[F_PRIVATE_DIRTY] : -1;
    ok(e && e->v[F_RSS] == all && (stays_dirty ? dirty : clean) == all && e->v[F_ANONYMOUS] == 0 &&
       e->v[F_PSS] > 0 && e->v[F_PSS] <= all && e->v[F_PSS_DIRTY] == (stays_dirty ? e->v[F_PSS] : 0),
       stays_dirty ? "read through a private mapping: every page in Rss, not anonymous, dirty (tmpfs file)"
                   : "read through a private mapping: every page in Rss, not anonymous, clean (written back)",
       "Rss %lld clean %lld dirty %lld Anonymous %lld Pss %lld Pss_Dirty %lld, want Rss %lld", e ? e->v[F_RSS] : -1,
       clean, dirty, e ? e->v[F_ANONYMOUS] : -1, e ? e->v[F_PSS] : -1, e ? e->v[F_PSS_DIRTY] : -1, all);
    ok(e && strncmp(e->vmflags, "rd mr mw me ", 12) == 0, "VmFlags of a private read-only file mapping: rd mr mw me",
       "\"%s\"", e ? e->vmflags : why);
    release(p, pages);

    /* A private writable mapping: the written page becomes the process's own. */
    p = isolated(2, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
    if (ok(p != NULL, "map it private and writable", "errno %d", errno)) {
        (void)*(volatile char *)(p + PAGE);
        p[0] ^= 1;
        e = entry_at(p);
        clean = e ? e->v[F_SHARED_CLEAN] + e->v[F_PRIVATE_CLEAN] : -1;
        ok(e && e->v[F_RSS] == KB(2) && e->v[F_ANONYMOUS] == KB(1) &&
           e->v[F_SHARED_DIRTY] + e->v[F_PRIVATE_DIRTY] == (stays_dirty ? KB(2) : KB(1)) &&
           clean == (stays_dirty ? 0 : KB(1)),
           "a page written through MAP_PRIVATE is Anonymous and dirty; the one read is still the file's",
           "Rss %lld Anonymous %lld Private_Dirty %lld Shared_Dirty %lld clean %lld", e ? e->v[F_RSS] : -1,
           e ? e->v[F_ANONYMOUS] : -1, e ? e->v[F_PRIVATE_DIRTY] : -1, e ? e->v[F_SHARED_DIRTY] : -1, clean);
        release(p, 2);
    }
    close(fd);
}

static void test_shared_anonymous(void)
{
    char *p = isolated(4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    if (!ok(p != NULL, "mmap shared anonymous", "errno %d", errno))
        return;
    memset(p, 3, 4 * PAGE);
    const struct smaps_entry *e = entry_at(p);
    ok(e && e->v[F_RSS] == KB(4) && e->v[F_PRIVATE_DIRTY] == KB(4) && e->v[F_PSS] == KB(4) && e->v[F_ANONYMOUS] == 0,
       "shared anonymous memory written by one process: Private_Dirty, all its Pss, not Anonymous (shmem)",
       "Rss %lld Private_Dirty %lld Shared_Dirty %lld Pss %lld Anonymous %lld", e ? e->v[F_RSS] : -1,
       e ? e->v[F_PRIVATE_DIRTY] : -1, e ? e->v[F_SHARED_DIRTY] : -1, e ? e->v[F_PSS] : -1,
       e ? e->v[F_ANONYMOUS] : -1);
    ok(e && strncmp(e->vmflags, "rd wr sh mr mw me ms ", 21) == 0, "VmFlags of a shared region: rd wr sh mr mw me ms",
       "\"%s\"", e ? e->vmflags : why);
    release(p, 4);
}

/* ---- smaps_rollup --------------------------------------------------------------- */

/* Parses the rollup; false with `why`. */
static bool parse_rollup(char *s, struct map_line *header, long long *v)
{
    char *cursor = s, *line = next_line(&cursor);
    if (!line || !parse_map_line(line, header) || strcmp(header->perms, "---p") != 0 || header->offset != 0 ||
        header->inode != 0 || strcmp(header->path, "[rollup]") != 0) {
        snprintf(why, sizeof why, "bad header \"%.100s\"", line ? line : "(none)");
        return false;
    }
    for (int f = 0; f < RFIELDS; f++) {
        line = next_line(&cursor);
        if (!line || !parse_count(line, rollup_fields[f], &v[f])) {
            snprintf(why, sizeof why, "want %s, got \"%.60s\"", rollup_fields[f], line ? line : "(end)");
            return false;
        }
    }
    if (*cursor) {
        snprintf(why, sizeof why, "more after Locked: \"%.60s\"", cursor);
        return false;
    }
    return true;
}

static void test_rollup(void)
{
    /* The buffers are touched first, so reading cannot change Rss in between. */
    memset(rollup_text, 0, sizeof rollup_text);
    memset(text, 0, sizeof text);
    static char again[sizeof rollup_text];
    struct map_line header;
    long long r[RFIELDS];
    int n = -1;
    bool parsed = false;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (read_whole("/proc/self/smaps_rollup", rollup_text, sizeof rollup_text) < 0) {
            snprintf(why, sizeof why, "cannot read smaps_rollup: errno %d", errno);
            break;
        }
        n = read_smaps(0);
        if (read_whole("/proc/self/smaps_rollup", again, sizeof again) < 0)
            break;
        if (strcmp(again, rollup_text) == 0) {      /* nothing moved while smaps was read */
            parsed = parse_rollup(rollup_text, &header, r);
            break;
        }
    }
    if (!ok(parsed && n > 0, "smaps_rollup parses: [rollup] header, Linux's fields in order", "%s", why))
        return;
    long long sum[NFIELDS] = { 0 };
    uintptr_t last_end = 0;
    for (int i = 0; i < n; i++) {
        for (int f = 0; f < NFIELDS; f++)
            sum[f] += entries[i].v[f];
        if (entries[i].map.end <= 0x800000000000UL)     /* not Linux's [vsyscall], no VMA */
            last_end = entries[i].map.end;
    }
    ok(header.start == entries[0].map.start && header.end == last_end,
       "rollup header: from the first region's start to the last one's end", "%lx-%lx, regions %lx-%lx",
       (unsigned long)header.start, (unsigned long)header.end, (unsigned long)entries[0].map.start,
       (unsigned long)last_end);
    ok(r[R_RSS] == sum[F_RSS] && r[R_SHARED_CLEAN] == sum[F_SHARED_CLEAN] && r[R_SHARED_DIRTY] == sum[F_SHARED_DIRTY] &&
       r[R_PRIVATE_CLEAN] == sum[F_PRIVATE_CLEAN] && r[R_PRIVATE_DIRTY] == sum[F_PRIVATE_DIRTY] &&
       r[R_ANONYMOUS] == sum[F_ANONYMOUS] && r[R_REFERENCED] == sum[F_REFERENCED] && r[R_SWAP] == sum[F_SWAP],
       "rollup = the sum of smaps (Rss, Shared/Private Clean/Dirty, Referenced, Anonymous, Swap)",
       "Rss %lld/%lld Shared_Clean %lld/%lld Private_Dirty %lld/%lld Anonymous %lld/%lld", r[R_RSS], sum[F_RSS],
       r[R_SHARED_CLEAN], sum[F_SHARED_CLEAN], r[R_PRIVATE_DIRTY], sum[F_PRIVATE_DIRTY], r[R_ANONYMOUS],
       sum[F_ANONYMOUS]);
    /* Each smaps entry rounds its Pss down, the rollup only its total. */
    ok(r[R_PSS] >= sum[F_PSS] && r[R_PSS] <= sum[F_PSS] + n && r[R_PSS_DIRTY] >= sum[F_PSS_DIRTY] &&
       r[R_PSS_DIRTY] <= sum[F_PSS_DIRTY] + n, "rollup Pss, Pss_Dirty = the sums, less each entry's rounding",
       "Pss %lld, sum %lld; Pss_Dirty %lld, sum %lld; %d entries", r[R_PSS], sum[F_PSS], r[R_PSS_DIRTY],
       sum[F_PSS_DIRTY], n);
    long long split = r[R_PSS_ANON] + r[R_PSS_FILE] + r[R_PSS_SHMEM];
    ok(split <= r[R_PSS] && split + 2 >= r[R_PSS] && r[R_PSS_ANON] <= r[R_ANONYMOUS],
       "Pss_Anon + Pss_File + Pss_Shmem = Pss", "%lld + %lld + %lld vs %lld", r[R_PSS_ANON], r[R_PSS_FILE],
       r[R_PSS_SHMEM], r[R_PSS]);
}

/* ---- meminfo and vmstat ---------------------------------------------------------- */

static char meminfo_text[8192], vmstat_text[16384];

static long long meminfo(const char *key)
{
    if (read_whole("/proc/meminfo", meminfo_text, sizeof meminfo_text) < 0)
        return -1;
    return proc_counter(meminfo_text, key);
}

/* The line number of `key` (a line starting "key" then ':' or ' '), or -1. */
static int line_of(const char *s, const char *key)
{
    size_t k = strlen(key);
    int n = 0;
    for (const char *line = s; *line; n++) {
        if (strncmp(line, key, k) == 0 && (line[k] == ':' || line[k] == ' '))
            return n;
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return -1;
}

/* The names appear in `s` in this order; false with the first out of place in `why`. */
static bool in_order(const char *s, const char *const *names, int count)
{
    int last = -1;
    for (int i = 0; i < count; i++) {
        int at = line_of(s, names[i]);
        if (at <= last) {
            snprintf(why, sizeof why, "%s %s", names[i], at < 0 ? "missing" : "out of order");
            return false;
        }
        last = at;
    }
    return true;
}

/* Anonymous pages the AnonPages check touches (16 MiB). */
#define MEM_PAGES 4096L

static void test_meminfo(void)
{
    static const char *const names[] = {
        "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "SwapTotal", "SwapFree",
        "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem",
    };
    bool got = read_whole("/proc/meminfo", meminfo_text, sizeof meminfo_text) > 0;
    ok(got && in_order(meminfo_text, names, sizeof names / sizeof names[0]),
       "meminfo: Buffers, Cached, Dirty, Writeback, AnonPages, Mapped, Shmem in Linux's order", "%s",
       got ? why : "cannot read /proc/meminfo");
    long long total = proc_counter(meminfo_text, "MemTotal:"), avail = proc_counter(meminfo_text, "MemAvailable:");
    ok(avail >= 0 && avail <= total && proc_counter(meminfo_text, "Cached:") >= 0 &&
       proc_counter(meminfo_text, "Buffers:") >= 0, "MemAvailable within MemTotal; Cached, Buffers counted",
       "MemAvailable %lld MemTotal %lld", avail, total);

    const long long want = KB(MEM_PAGES);
    long long rose = 0, fell = 0;
    bool rise_ok = false, fall_ok = false;
    for (int attempt = 0; attempt < 5 && !(rise_ok && fall_ok); attempt++) {
        char *p = mmap(NULL, MEM_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        long long before = meminfo("AnonPages:");
        for (long i = 0; i < MEM_PAGES; i++)
            p[i * PAGE] = 1;
        long long during = meminfo("AnonPages:");
        munmap(p, MEM_PAGES * PAGE);
        long long after = meminfo("AnonPages:");
        rose = during - before;
        fell = during - after;
        rise_ok |= rose >= want * 3 / 4 && rose <= want * 5 / 4;
        fall_ok |= fell >= want * 3 / 4 && fell <= want * 5 / 4;
    }
    ok(rise_ok, "AnonPages rises by about N pages when N anonymous pages are touched", "rose %lld kB, want %lld",
       rose, want);
    ok(fall_ok, "AnonPages falls back when they are unmapped", "fell %lld kB, want %lld", fell, want);

    /* Shared anonymous memory is shmem: Shmem, and Cached and Mapped with it. */
    const long shm_pages = 1024;
    const long long shm = KB(shm_pages);
    long long d_shmem = 0, d_cached = 0, d_mapped = 0, d_anon = 0;
    bool shmem_ok = false;
    for (int attempt = 0; attempt < 5 && !shmem_ok; attempt++) {
        char *p = mmap(NULL, shm_pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        long long shmem0 = meminfo("Shmem:"), cached0 = proc_counter(meminfo_text, "Cached:");
        long long mapped0 = proc_counter(meminfo_text, "Mapped:"), anon0 = proc_counter(meminfo_text, "AnonPages:");
        memset(p, 5, shm_pages * PAGE);
        d_shmem = meminfo("Shmem:") - shmem0;
        d_cached = proc_counter(meminfo_text, "Cached:") - cached0;
        d_mapped = proc_counter(meminfo_text, "Mapped:") - mapped0;
        d_anon = proc_counter(meminfo_text, "AnonPages:") - anon0;
        munmap(p, shm_pages * PAGE);
        shmem_ok = d_shmem >= shm * 3 / 4 && d_shmem <= shm * 5 / 4 && d_cached >= shm * 3 / 4 &&
                   d_mapped >= shm * 3 / 4 && d_anon < shm / 4;
    }
    ok(shmem_ok, "N pages of shared anonymous memory: Shmem, Cached and Mapped rise by about N, AnonPages not",
       "Shmem +%lld Cached +%lld Mapped +%lld AnonPages +%lld kB, want %lld", d_shmem, d_cached, d_mapped, d_anon, shm);
}

static void test_vmstat(void)
{
    static const char *const names[] = {
        "nr_free_pages", "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_shmem",
        "pgpgin", "pgpgout", "pgfault", "pgmajfault",
    };
    bool got = read_whole("/proc/vmstat", vmstat_text, sizeof vmstat_text) > 0;
    ok(got && in_order(vmstat_text, names, sizeof names / sizeof names[0]),
       "vmstat: nr_anon_pages, nr_mapped, nr_file_pages, nr_dirty, nr_writeback, nr_shmem, then pgpgin, pgpgout, "
       "pgfault, pgmajfault, in Linux's order", "%s", got ? why : "cannot read /proc/vmstat");
    /* The same counters as meminfo's, in pages. */
    bool agree = false;
    long long pages = 0, kb = 0;
    for (int attempt = 0; attempt < 5 && !agree; attempt++) {
        kb = meminfo("AnonPages:");
        if (read_whole("/proc/vmstat", vmstat_text, sizeof vmstat_text) < 0)
            break;
        pages = proc_counter(vmstat_text, "nr_anon_pages");
        long long diff = KB(pages) - kb;
        agree = pages >= 0 && diff >= -1024 && diff <= 1024;
    }
    ok(agree, "nr_anon_pages is AnonPages in pages", "nr_anon_pages %lld, AnonPages %lld kB", pages, kb);
}

/* ---- what a read of smaps costs ---------------------------------------------------- */

static void note_smaps_time(void)
{
    /* 512 regions of one written page each, alternately writable and read-only. */
    const int regions = 512;
    char *p = mmap(NULL, regions * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    for (int i = 0; i < regions; i++) {
        p[i * PAGE] = 1;
        if (i % 2)
            mprotect(p + i * PAGE, PAGE, PROT_READ);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = read_smaps(0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ok(n >= regions, "smaps of a process with many regions", "%d entries: %s", n, why);
    note("one read of /proc/self/smaps with %d entries: %.2f ms", n,
         (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    munmap(p, regions * PAGE);
}

int main(void)
{
    test_layout();
    test_pieces();
    test_anonymous();
    test_fork();
    test_file();
    test_shared_anonymous();
    test_rollup();
    test_meminfo();
    test_vmstat();
    note_smaps_time();
    return ktest_done();
}
