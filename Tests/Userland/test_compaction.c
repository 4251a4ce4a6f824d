/*
 * test_compaction: memory compaction through /proc/sys/vm/compact_memory.
 *
 *   - compact_memory is write-only (mode 0200, EACCES for a read even as
 *     root), takes an integer and compacts only for 1: 0, 2 or text are
 *     EINVAL, a bad buffer EFAULT (Linux: sysctl_compaction_handler());
 *   - a fragmented working set survives compaction: a region filled with a
 *     pattern, shared with a forked child, every other page dropped with
 *     MADV_DONTNEED in both; after `echo 1 > compact_memory` every surviving
 *     page reads back the same in the parent and in the child (migration
 *     must rewrite the PTEs of both processes), and in the parent a thread
 *     that kept reading and storing to some of them during compaction finds
 *     every store it made (a fault on a page being moved waits; no store lands
 *     in the frame left behind);
 *   - a file's pages (written, mapped shared, every fourth stored to through
 *     the mapping) read back the same through the mapping after compaction,
 *     and from the file after fsync and drop_caches: migrated page-cache pages
 *     keep their place in the file and their dirty state;
 *   - /proc/vmstat's compact_migrate_scanned and compact_isolated grow.
 *   On Keel also (the host's other processes make these uncertain there):
 *     pgmigrate_success grows, some of the region's pages moved to another
 *     frame (/proc/self/pagemap), and /proc/buddyinfo shows more free memory
 *     in blocks of order 4 and above than before.
 * Where the write is refused (a container: EACCES, EROFS, EPERM) only what
 * holds there is checked: the contents, and that nothing moved the counters
 * on our behalf is not claimed.
 *
 * Usage: test_compaction [fill=PERCENT] [dir=DIR] (the working set's share of
 * free memory, default 25; the file's directory, default /tmp). /proc/buddyinfo is printed before and after, as
 * "# before: ..." and "# after: ..." lines, for Tests/Boot's compaction test.
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "pagemap.h"
#include "procfs.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L
#define MIB (1L << 20)
#define SYSCTL "/proc/sys/vm/compact_memory"

/* The word at `word` of page `page` of the region. */
static uint64_t pattern(long page, long word)
{
    return ((uint64_t)page * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)word << 32) ^ 0xc0ffee;
}

static void fill(char *region, long pages)
{
    for (long p = 0; p < pages; p++) {
        uint64_t *w = (uint64_t *)(region + p * PAGE);
        for (long i = 0; i < PAGE / 8; i++)
            w[i] = pattern(p, i);
    }
}

/* The toucher thread's work: it stores round numbers into the last word of
 * the first kept pages while compaction moves them. `last[p / 2]` is the
 * round it last stored in page p (0: never). */
static struct {
    char *region;
    long pages;                 /* the kept pages below this are touched */
    uint64_t *last;
    volatile int stop;
    long wrong;                 /* first words it read back wrong */
    uint64_t rounds;
} toucher;

static void *touch(void *unused)
{
    (void)unused;
    uint64_t round = 0;
    while (!toucher.stop) {
        round++;
        for (long p = 0; p < toucher.pages && !toucher.stop; p += 2) {
            volatile uint64_t *w = (volatile uint64_t *)(toucher.region + p * PAGE);
            if (w[0] != pattern(p, 0))
                toucher.wrong++;
            w[PAGE / 8 - 1] = pattern(p, PAGE / 8 - 1) ^ round;
            toucher.last[p / 2] = round;
        }
    }
    toucher.rounds = round;
    return NULL;
}

/* What word `i` of kept page `p` must hold in the process the toucher ran in
 * (`touched`), or in one it never ran in. */
static uint64_t expected(long p, long i, bool touched)
{
    if (touched && i == PAGE / 8 - 1 && p < toucher.pages && toucher.last[p / 2])
        return pattern(p, i) ^ toucher.last[p / 2];
    return pattern(p, i);
}

/* Pages of the even (kept) half that read back wrong; the first is in *first. */
static long bad_pages(const char *region, long pages, bool touched, long *first)
{
    long bad = 0;
    *first = -1;
    for (long p = 0; p < pages; p += 2) {
        const uint64_t *w = (const uint64_t *)(region + p * PAGE);
        for (long i = 0; i < PAGE / 8; i++) {
            if (w[i] != expected(p, i, touched)) {
                if (*first < 0)
                    *first = p;
                bad++;
                break;
            }
        }
    }
    return bad;
}

/* Drops every odd page of the region. */
static int drop_odd_pages(char *region, long pages)
{
    for (long p = 1; p < pages; p += 2)
        if (madvise(region + p * PAGE, PAGE, MADV_DONTNEED) != 0)
            return -1;
    return 0;
}

/* Free pages in blocks of order `min_order` and above, over all zones of
 * /proc/buddyinfo (pages, not blocks: two blocks merging into one count the
 * same), or -1. */
static long buddy_pages(int min_order)
{
    static char text[4096];
    if (read_whole("/proc/buddyinfo", text, sizeof text) < 0)
        return -1;
    long total = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *p = strstr(line, "zone");
        if (!p)
            return -1;
        p += 4;
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;                                    /* the zone's name */
        for (int order = 0; order <= 10; order++) {
            char *end;
            long n = strtol(p, &end, 10);
            if (end == p)
                return -1;
            if (order >= min_order)
                total += n << order;
            p = end;
        }
    }
    return total;
}

/* Writes `text` to compact_memory; the write's result, errno kept. */
static long write_sysctl(const void *text, size_t len)
{
    int fd = open(SYSCTL, O_WRONLY);
    if (fd < 0)
        return -1;
    long n = write(fd, text, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n;
}

/* The file's pattern: a different one from the anonymous region's. */
static uint64_t file_pattern(long page, long word)
{
    return pattern(page, word) ^ 0x5a5a5a5a00000000ULL;
}

#define FILE_PAGES 1024L

/* A file of FILE_PAGES pages in `dir`, written, synced, mapped shared and
 * read through the mapping (page-cache pages, mapped); every fourth page is
 * then stored to through the mapping (dirty). Returns the mapping or NULL. */
static char *map_file(const char *dir, char *path, size_t size, int *fd_out)
{
    snprintf(path, size, "%s/test_compaction.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    static uint64_t page[PAGE / 8];
    for (long p = 0; p < FILE_PAGES; p++) {
        for (long i = 0; i < PAGE / 8; i++)
            page[i] = file_pattern(p, i);
        if (write(fd, page, PAGE) != PAGE)
            return NULL;
    }
    if (fsync(fd) != 0)
        return NULL;
    char *map = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return NULL;
    volatile uint64_t sum = 0;
    for (long p = 0; p < FILE_PAGES; p++)
        sum += *(uint64_t *)(map + p * PAGE);
    for (long p = 0; p < FILE_PAGES; p += 4)
        *(uint64_t *)(map + p * PAGE) = ~file_pattern(p, 0);
    *fd_out = fd;
    return map;
}

/* The word the file should hold at `word` of page `p`. */
static uint64_t file_expected(long p, long word)
{
    return p % 4 == 0 && word == 0 ? ~file_pattern(p, 0) : file_pattern(p, word);
}

/* Pages of the file that read back wrong through `map`, or with pread if map is NULL. */
static long bad_file_pages(const char *map, int fd, long *first)
{
    static uint64_t page[PAGE / 8];
    long bad = 0;
    *first = -1;
    for (long p = 0; p < FILE_PAGES; p++) {
        const uint64_t *w = (const uint64_t *)(map + p * PAGE);
        if (!map) {
            if (pread(fd, page, PAGE, p * PAGE) != PAGE)
                return -1;
            w = page;
        }
        for (long i = 0; i < PAGE / 8; i++) {
            if (w[i] != file_expected(p, i)) {
                if (*first < 0)
                    *first = p;
                bad++;
                break;
            }
        }
    }
    return bad;
}

/* Prints /proc/buddyinfo as notes, each line after `label`. */
static void print_buddyinfo(const char *label)
{
    static char text[4096];
    if (read_whole("/proc/buddyinfo", text, sizeof text) < 0)
        return;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        note("%s %s", label, line);
}

int main(int argc, char **argv)
{
    /* fill=PERCENT: the working set's share of free memory (default 25);
     * dir=DIR: where the file goes (default /tmp). */
    long percent = 25;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "fill=", 5) == 0)
            percent = strtol(argv[i] + 5, NULL, 10);
        else if (strncmp(argv[i], "dir=", 4) == 0)
            dir = argv[i] + 4;
    }

    struct stat st;
    ok(stat(SYSCTL, &st) == 0 && (st.st_mode & 07777) == 0200 && S_ISREG(st.st_mode),
       "compact_memory is a write-only file", "errno %d, mode %o", errno, st.st_mode);
    ok_errno(open(SYSCTL, O_RDONLY), EACCES, "compact_memory cannot be opened for reading");

    int fd = open(SYSCTL, O_WRONLY);
    bool writable = fd >= 0;
    if (fd >= 0) {
        close(fd);
    } else {
        ok(errno == EACCES || errno == EROFS || errno == EPERM, "compact_memory refuses only for want of permission",
           "errno %d", errno);
        note("compact_memory is not writable here (errno %d): checking contents only", errno);
    }
    if (writable) {
        ok_errno(write_sysctl("2", 1), EINVAL, "writing 2 is EINVAL");
        ok_errno(write_sysctl("0\n", 2), EINVAL, "writing 0 is EINVAL");
        ok_errno(write_sysctl("one", 3), EINVAL, "writing text is EINVAL");
        ok_errno(write_sysctl((const void *)8, 2), EFAULT, "a bad buffer is EFAULT");
    }

    if (!dir) {
        mkdir("/tmp", 01777);   /* Keel's initramfs root has no /tmp; Linux has one (EEXIST) */
        dir = "/tmp";
    }

    /* A share of free memory (a quarter unless told), at most 64 MiB, in one anonymous region. */
    long long free_kib = mem_free_kib();
    long bytes = free_kib > 0 ? (long)(free_kib * 1024 / 100 * percent) : 16 * MIB;
    if (bytes > 64 * MIB)
        bytes = 64 * MIB;
    long pages = bytes / PAGE & ~1L;
    char *region = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(region != MAP_FAILED, "map the working set", "errno %d", errno))
        return ktest_done();
    fill(region, pages);
    note("%ld pages (%ld MiB), every other one dropped", pages, pages * PAGE / MIB);

    /* A file's pages in the page cache, mapped, some dirty: made after the
     * region, so that on Keel (whose allocator hands out high frames first)
     * they sit low, where the migrate scanner passes. */
    char path[256];
    int file_fd = -1;
    char *file_map = map_file(dir, path, sizeof path, &file_fd);
    ok(file_map != NULL, "a file written, mapped shared and partly stored to", "%s: errno %d", path, errno);
    uint64_t file_pfn[FILE_PAGES / 8];
    for (long i = 0; file_map && i < FILE_PAGES / 8; i++) {
        uint64_t e;
        file_pfn[i] = pm_entry(0, (uintptr_t)(file_map + 8 * i * PAGE), &e) && (e & PM_PRESENT) ? e & PM_PFN_MASK : 0;
    }

    /* A child shares the pages (copy-on-write), drops the same half, and
     * checks its view after the parent compacted. */
    int ready[2], go[2];
    if (!ok(pipe(ready) == 0 && pipe(go) == 0, "pipes", "errno %d", errno))
        return ktest_done();
    pid_t child = fork();
    if (child == 0) {
        char c = drop_odd_pages(region, pages) == 0 ? 'r' : 'x';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(3);
        long first;
        _exit(bad_pages(region, pages, false, &first) == 0 ? 0 : 1);
    }
    if (!ok(child > 0, "fork", "errno %d", errno))
        return ktest_done();
    char c = 0;
    ok(read(ready[0], &c, 1) == 1 && c == 'r', "the child dropped its odd pages", "got '%c'", c);
    ok(drop_odd_pages(region, pages) == 0, "MADV_DONTNEED every other page", "errno %d", errno);

    /* Where the kept pages are now (Keel shows frame numbers to root; a
     * container's host may not). */
    long sample = pages / 2 < 4096 ? pages / 2 : 4096;
    uint64_t *before_pfn = calloc((size_t)sample, sizeof *before_pfn);
    for (long i = 0; before_pfn && i < sample; i++) {
        uint64_t e;
        if (pm_entry(0, (uintptr_t)(region + 2 * i * PAGE), &e) && (e & PM_PRESENT))
            before_pfn[i] = e & PM_PFN_MASK;
    }

    long long scanned = vmstat_counter("compact_migrate_scanned");
    long long isolated = vmstat_counter("compact_isolated");
    long long migrated = vmstat_counter("pgmigrate_success");
    long long migrate_failed = vmstat_counter("pgmigrate_fail");
    long high = buddy_pages(4);
    ok(scanned >= 0 && isolated >= 0 && migrated >= 0, "/proc/vmstat has compact_* and pgmigrate_success",
       "%lld %lld %lld", scanned, isolated, migrated);
    ok(high >= 0, "/proc/buddyinfo parses", "got %ld", high);

    /* A thread keeps reading and storing to the first eighth of the kept
     * pages meanwhile: its faults on pages being moved must wait, and no
     * store may land in a frame being left behind. */
    toucher.region = region;
    toucher.pages = pages / 8;
    toucher.last = calloc((size_t)(pages / 16 + 1), sizeof *toucher.last);
    pthread_t thread;
    bool touching = toucher.last && pthread_create(&thread, NULL, touch, NULL) == 0;
    ok(touching, "start a thread touching pages during compaction", "errno %d", errno);
    while (touching && toucher.rounds == 0 && toucher.last[0] == 0)
        sched_yield();

    print_buddyinfo("before:");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long written = writable ? write_sysctl("1\n", 2) : -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_buddyinfo("after:");
    if (writable)
        note("compact_memory took %ld ms", (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (touching) {
        toucher.stop = 1;
        pthread_join(thread, NULL);
        note("the toucher made %llu rounds", (unsigned long long)toucher.rounds);
        ok(toucher.wrong == 0, "the toucher always read its pages right", "%ld wrong reads", toucher.wrong);
    }
    if (writable)
        ok(written == 2, "writing 1 compacts and takes both bytes", "returned %ld, errno %d", written, errno);
    bool compacted = written == 2;

    long first;
    long bad = bad_pages(region, pages, true, &first);
    ok(bad == 0, "every kept page reads back its pattern and the toucher's last stores in the parent", "%ld bad pages, first %ld", bad, first);
    ok(write(go[1], "g", 1) == 1, "wake the child", "errno %d", errno);
    int status = 0;
    ok(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "every kept page reads back its pattern in the child", "status 0x%x", status);

    if (file_map) {
        bad = bad_file_pages(file_map, file_fd, &first);
        ok(bad == 0, "every page of the file reads back through its mapping", "%ld bad, first %ld", bad, first);
        long moved = 0;
        for (long i = 0; i < FILE_PAGES / 8; i++) {
            uint64_t e;
            if (file_pfn[i] && pm_entry(0, (uintptr_t)(file_map + 8 * i * PAGE), &e) && (e & PM_PRESENT) &&
                (e & PM_PFN_MASK) != file_pfn[i])
                moved++;
        }
        note("file pages moved: %ld of %ld sampled", moved, FILE_PAGES / 8);
        /* The stores through the mapping must reach the file: the pages
         * kept their dirty state wherever they went. */
        ok(munmap(file_map, FILE_PAGES * PAGE) == 0 && fsync(file_fd) == 0, "unmap and fsync the file", "errno %d", errno);
        int drop = open("/proc/sys/vm/drop_caches", O_WRONLY);
        if (drop >= 0) {
            ok(write(drop, "1", 1) == 1, "drop the clean page cache", "errno %d", errno);
            close(drop);
        }
        bad = bad_file_pages(NULL, file_fd, &first);
        ok(bad == 0, "the file reads back with every store made through the mapping", "%ld bad, first %ld", bad, first);
        close(file_fd);
        unlink(path);
    }

    if (compacted) {
        long long scanned_after = vmstat_counter("compact_migrate_scanned");
        long long isolated_after = vmstat_counter("compact_isolated");
        long long migrated_after = vmstat_counter("pgmigrate_success");
        long long migrate_failed_after = vmstat_counter("pgmigrate_fail");
        long high_after = buddy_pages(4);
        note("compact_migrate_scanned +%lld, compact_isolated +%lld, pgmigrate_success +%lld, pgmigrate_fail +%lld, "
             "free pages in blocks of order >= 4: %ld -> %ld", scanned_after - scanned, isolated_after - isolated,
             migrated_after - migrated, migrate_failed_after - migrate_failed, high, high_after);
        ok(scanned_after > scanned, "compact_migrate_scanned grew", "%lld -> %lld", scanned, scanned_after);
        ok(isolated_after > isolated, "compact_isolated grew", "%lld -> %lld", isolated, isolated_after);
        if (on_keel()) {
            ok(migrated_after > migrated, "pgmigrate_success grew", "%lld -> %lld", migrated, migrated_after);
            ok(high_after > high, "more free pages in blocks of order 4 and above", "%ld -> %ld", high, high_after);
            long moved = 0, known = 0;
            for (long i = 0; before_pfn && i < sample; i++) {
                uint64_t e;
                if (!before_pfn[i] || !pm_entry(0, (uintptr_t)(region + 2 * i * PAGE), &e))
                    continue;
                known++;
                if ((e & PM_PRESENT) && (e & PM_PFN_MASK) != before_pfn[i])
                    moved++;
            }
            ok(moved > 0, "some kept pages moved to another frame", "%ld of %ld sampled", moved, known);
            bad = bad_pages(region, pages, true, &first);
            ok(bad == 0, "the moved pages still read back their pattern", "%ld bad, first %ld", bad, first);
        } else {
            skip("pgmigrate_success, buddyinfo and frame numbers", "other processes share the host");
        }
    }
    free(before_pfn);
    free(toucher.last);
    munmap(region, pages * PAGE);
    return ktest_done();
}
