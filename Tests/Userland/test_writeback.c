/*
 * test_writeback: getting dirty data to the disk, and the knobs for it.
 *
 *   - /proc/sys/vm's write-back files (dirty_expire_centisecs,
 *     dirty_writeback_centisecs, dirty_ratio, dirty_background_ratio,
 *     dirty_bytes, dirty_background_bytes) and drop_caches, read and written
 *     as Linux's proc_dointvec does: the number and a newline at offset 0,
 *     nothing after; a write takes one number (white space around it, decimal,
 *     octal or hex), EINVAL for anything else or out of range, ignores writes
 *     past offset 0; a ratio and its byte form exclude each other;
 *     drop_caches is write-only, even for root, and takes 1 to 4;
 *   - fsync, fdatasync, syncfs and sync; msync with MS_SYNC, MS_ASYNC and
 *     MS_INVALIDATE, EINVAL for both MS_SYNC and MS_ASYNC or a bad address,
 *     ENOMEM for an unmapped range, EBUSY for MS_INVALIDATE of locked pages;
 *   - /proc/meminfo's Dirty grows with write() and stores through a shared
 *     mapping, and shrinks again with fsync and msync(MS_SYNC) (on a disk
 *     file system: tmpfs pages are never Dirty);
 *   - drop_caches 1, 2 and 3 lose no data: clean pages are read again,
 *     dirty ones stay.
 *
 * Usage: test_writeback [DIR] (default /tmp). The tunables are set back to
 * what they were before the program ends, on Linux too.
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define PAGE 4096L
#define MIB (1L << 20)
#define TMPFS_MAGIC 0x01021994
#define VM "/proc/sys/vm/"

static const char *dir = "/tmp";

/* The path of `name` in the directory under test (two kept at once). */
static const char *path_in_dir(const char *name)
{
    static char bufs[2][320];
    static int next;
    char *b = bufs[next++ % 2];
    snprintf(b, sizeof bufs[0], "%s/keel-writeback-%d-%s", dir, (int)getpid(), name);
    return b;
}

/* ---- /proc/sys/vm ---- */

/* The file's whole text, NUL-terminated, or "" with errno set. */
static const char *sysctl_text(const char *name)
{
    static char b[64];
    char path[128];
    snprintf(path, sizeof path, VM "%s", name);
    b[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return b;
    ssize_t n = read(fd, b, sizeof b - 1);
    b[n > 0 ? n : 0] = 0;
    close(fd);
    return b;
}

static long long sysctl_value(const char *name) { return strtoll(sysctl_text(name), NULL, 10); }

/* Writes `len` bytes of `text` to a fresh open of the file: what write() returned. */
static ssize_t sysctl_write_n(const char *name, const char *text, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, VM "%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n;
}

static ssize_t sysctl_write(const char *name, const char *text) { return sysctl_write_n(name, text, strlen(text)); }

static const char *const tunables[] = {
    "dirty_background_bytes", "dirty_background_ratio", "dirty_bytes", "dirty_expire_centisecs",
    "dirty_ratio", "dirty_writeback_centisecs",
};
#define NTUNABLES (sizeof tunables / sizeof tunables[0])
static char saved[NTUNABLES][32];
static bool have_saved;

static void save_tunables(void)
{
    for (size_t i = 0; i < NTUNABLES; i++)
        snprintf(saved[i], sizeof saved[i], "%s", sysctl_text(tunables[i]));
    have_saved = true;
}

/* Puts every tunable back: a limit as the form (ratio or bytes) it had. */
static void restore_tunables(void)
{
    if (!have_saved)
        return;
    sysctl_write("dirty_expire_centisecs", saved[3]);
    sysctl_write("dirty_writeback_centisecs", saved[5]);
    if (atoll(saved[2]) != 0)
        sysctl_write("dirty_bytes", saved[2]);
    else
        sysctl_write("dirty_ratio", saved[4]);
    if (atoll(saved[0]) != 0)
        sysctl_write("dirty_background_bytes", saved[0]);
    else
        sysctl_write("dirty_background_ratio", saved[1]);
}

static bool is_number_line(const char *s)
{
    if (*s == '-')
        s++;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    return strcmp(s, "\n") == 0;
}

static void test_sysctl_files(void)
{
    struct stat st;
    ok(stat("/proc/sys/vm", &st) == 0 && S_ISDIR(st.st_mode), "/proc/sys/vm is a directory", "errno %d", errno);
    const char *names[] = { "dirty_background_bytes", "dirty_background_ratio", "dirty_bytes",
                            "dirty_expire_centisecs", "dirty_ratio", "dirty_writeback_centisecs", "drop_caches" };
    int listed = 0;
    DIR *d = opendir("/proc/sys/vm");
    for (struct dirent *e; d && (e = readdir(d));)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(e->d_name, names[i]) == 0)
                listed++;
    if (d)
        closedir(d);
    ok(listed == 7, "/proc/sys/vm lists the write-back files and drop_caches", "%d of 7", listed);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[128], name[200];
        snprintf(path, sizeof path, VM "%s", names[i]);
        unsigned want = i == 6 ? 0200 : 0644;
        snprintf(name, sizeof name, "%s is a regular file, mode %o, size 0", path, want);
        ok(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == want && st.st_size == 0, name,
           "mode %o size %ld (errno %d)", (unsigned)st.st_mode, (long)st.st_size, errno);
    }
    bool numbers = true;
    for (size_t i = 0; i < NTUNABLES; i++)
        numbers = numbers && is_number_line(sysctl_text(tunables[i]));
    ok(numbers, "each tunable reads as a number and a newline", "e.g. %s: \"%s\"", tunables[0],
       sysctl_text(tunables[0]));
    if (on_keel()) {
        ok(sysctl_value("dirty_expire_centisecs") == 3000 && sysctl_value("dirty_writeback_centisecs") == 500 &&
           sysctl_value("dirty_ratio") == 20 && sysctl_value("dirty_background_ratio") == 10 &&
           sysctl_value("dirty_bytes") == 0 && sysctl_value("dirty_background_bytes") == 0,
           "Linux's defaults: 3000, 500, 20, 10, 0, 0", "%lld %lld %lld %lld %lld %lld",
           sysctl_value("dirty_expire_centisecs"), sysctl_value("dirty_writeback_centisecs"),
           sysctl_value("dirty_ratio"), sysctl_value("dirty_background_ratio"), sysctl_value("dirty_bytes"),
           sysctl_value("dirty_background_bytes"));
    } else {
        note("this system's values: expire %lld, writeback %lld, ratio %lld, background ratio %lld",
             sysctl_value("dirty_expire_centisecs"), sysctl_value("dirty_writeback_centisecs"),
             sysctl_value("dirty_ratio"), sysctl_value("dirty_background_ratio"));
    }
}

static void test_sysctl_reads(void)
{
    int fd = open(VM "dirty_expire_centisecs", O_RDONLY);
    if (!ok(fd >= 0, "open dirty_expire_centisecs for reading", "errno %d", errno))
        return;
    char b[64];
    const char *whole = sysctl_text("dirty_expire_centisecs");
    ssize_t n1 = read(fd, b, 1);
    char first = b[0];
    ssize_t n2 = read(fd, b, sizeof b);
    ok(n1 == 1 && first == whole[0] && n2 == 0, "a 1-byte read gets the first digit, the next read end of file",
       "read %zd ('%c') then %zd", n1, first, n2);
    ok(pread(fd, b, sizeof b, 1) == 0, "a read at offset 1 is end of file", "it read bytes");
    ssize_t n = pread(fd, b, sizeof b, 0);
    ok(n == (ssize_t)strlen(whole) && memcmp(b, whole, n) == 0, "a read at offset 0 gets it all again", "%zd", n);
    close(fd);
}

/* Writes `text` to dirty_expire_centisecs: the call's result and errno, and
 * the value after. */
static void expect_write(const char *text, size_t len, ssize_t want, int want_errno, long long want_value,
                         const char *what)
{
    sysctl_write("dirty_expire_centisecs", "1234");
    errno = 0;
    ssize_t n = sysctl_write_n("dirty_expire_centisecs", text, len);
    int e = errno;
    long long v = sysctl_value("dirty_expire_centisecs");
    ok(n == want && (want >= 0 || e == want_errno) && v == want_value, what,
       "write returned %zd errno %d (%s), value %lld; want %zd %s, value %lld", n, e, strerror(e), v, want,
       want < 0 ? strerror(want_errno) : "", want_value);
}
#define EXPECT_WRITE(text, want, err, value, what) expect_write(text, sizeof text - 1, want, err, value, what)

static void test_sysctl_writes(void)
{
    EXPECT_WRITE("1500", 4, 0, 1500, "a number without a newline is taken");
    EXPECT_WRITE("1600\n", 5, 0, 1600, "a number and a newline");
    EXPECT_WRITE("  \t1700", 7, 0, 1700, "leading white space is skipped");
    EXPECT_WRITE("1800 1900", 5, 0, 1800, "a second number is left over: the write takes the bytes before it");
    EXPECT_WRITE("0x10", 4, 0, 16, "hex (0x)");
    EXPECT_WRITE("010", 3, 0, 8, "octal (a leading 0)");
    EXPECT_WRITE("-1", -1, EINVAL, 1234, "dirty_expire_centisecs: a negative number is EINVAL");
    EXPECT_WRITE("abc", -1, EINVAL, 1234, "garbage is EINVAL");
    EXPECT_WRITE("12abc", -1, EINVAL, 1234, "a number with garbage after it is EINVAL");
    EXPECT_WRITE("+5", -1, EINVAL, 1234, "a '+' is EINVAL");
    EXPECT_WRITE("   \n", -1, EINVAL, 1234, "only white space is EINVAL");
    EXPECT_WRITE("08", -1, EINVAL, 1234, "a bad octal digit is EINVAL");
    EXPECT_WRITE("99999999999", -1, EINVAL, 1234, "a number past INT_MAX is EINVAL");
    EXPECT_WRITE("", 0, 0, 1234, "an empty write writes nothing and succeeds");

    /* Partial writes: only a write at offset 0 counts (sysctl_writes_strict). */
    sysctl_write("dirty_expire_centisecs", "1234");
    int fd = open(VM "dirty_expire_centisecs", O_WRONLY);
    ssize_t a = write(fd, "12", 2), b = write(fd, "34", 2);
    ok(a == 2 && b == 2 && sysctl_value("dirty_expire_centisecs") == 12,
       "a second write at offset 2 succeeds and changes nothing", "%zd %zd, value %lld", a, b,
       sysctl_value("dirty_expire_centisecs"));
    ssize_t c = pwrite(fd, "999", 3, 1);
    ok(c == 3 && sysctl_value("dirty_expire_centisecs") == 12, "pwrite at offset 1 succeeds and changes nothing",
       "%zd, value %lld", c, sysctl_value("dirty_expire_centisecs"));
    close(fd);

    ok(sysctl_write("dirty_writeback_centisecs", "-1") == 2 && strcmp(sysctl_text("dirty_writeback_centisecs"), "-1\n") == 0,
       "dirty_writeback_centisecs takes a negative number (a plain proc_dointvec)", "reads %s",
       sysctl_text("dirty_writeback_centisecs"));
    ok(sysctl_write("dirty_writeback_centisecs", "2147483648") == -1 && errno == EINVAL,
       "dirty_writeback_centisecs: INT_MAX + 1 is EINVAL", "errno %d", errno);
    sysctl_write("dirty_writeback_centisecs", saved[5]);

    ok(sysctl_write("dirty_ratio", "101") == -1 && errno == EINVAL, "dirty_ratio 101 is EINVAL (0..100)", "errno %d",
       errno);
    ok(sysctl_write("dirty_ratio", "-1") == -1 && errno == EINVAL, "dirty_ratio -1 is EINVAL", "errno %d", errno);
    ok(sysctl_write("dirty_background_ratio", "101") == -1 && errno == EINVAL, "dirty_background_ratio 101 is EINVAL",
       "errno %d", errno);
    ok(sysctl_write("dirty_ratio", "100") == 3 && sysctl_value("dirty_ratio") == 100, "dirty_ratio 100 is taken",
       "reads %lld", sysctl_value("dirty_ratio"));
    ok(sysctl_write("dirty_ratio", "20") == 2, "dirty_ratio 20", "errno %d", errno);

    /* A limit is a ratio or a byte count, not both. */
    ok(sysctl_write("dirty_bytes", "4096") == -1 && errno == EINVAL, "dirty_bytes below two pages is EINVAL",
       "errno %d", errno);
    ok(sysctl_write("dirty_bytes", "0") == -1 && errno == EINVAL, "dirty_bytes 0 is EINVAL (write dirty_ratio instead)",
       "errno %d", errno);
    ok(sysctl_write("dirty_bytes", "-1") == -1 && errno == EINVAL, "dirty_bytes -1 is EINVAL (unsigned long)", "errno %d",
       errno);
    ok(sysctl_write("dirty_bytes", "67108864") == 8 && sysctl_value("dirty_bytes") == 67108864 &&
       sysctl_value("dirty_ratio") == 0, "writing dirty_bytes sets dirty_ratio to 0", "bytes %lld ratio %lld",
       sysctl_value("dirty_bytes"), sysctl_value("dirty_ratio"));
    ok(sysctl_write("dirty_ratio", "0") == 1 && sysctl_value("dirty_bytes") == 67108864,
       "writing dirty_ratio the value it has (0) leaves dirty_bytes", "bytes %lld", sysctl_value("dirty_bytes"));
    ok(sysctl_write("dirty_ratio", "20") == 2 && sysctl_value("dirty_bytes") == 0 && sysctl_value("dirty_ratio") == 20,
       "writing dirty_ratio sets dirty_bytes to 0", "bytes %lld ratio %lld", sysctl_value("dirty_bytes"),
       sysctl_value("dirty_ratio"));
    ok(sysctl_write("dirty_background_bytes", "0") == -1 && errno == EINVAL, "dirty_background_bytes 0 is EINVAL",
       "errno %d", errno);
    ok(sysctl_write("dirty_background_bytes", "1000000000000000") == -1 && errno == ERANGE,
       "dirty_background_bytes beyond the dirtyable memory is ERANGE", "errno %d (%s)", errno, strerror(errno));
    ok(sysctl_write("dirty_background_bytes", "4194304") == 7 && sysctl_value("dirty_background_bytes") == 4194304 &&
       sysctl_value("dirty_background_ratio") == 0, "writing dirty_background_bytes sets dirty_background_ratio to 0",
       "bytes %lld ratio %lld", sysctl_value("dirty_background_bytes"), sysctl_value("dirty_background_ratio"));
    ok(sysctl_write("dirty_background_ratio", "0") == 1 && sysctl_value("dirty_background_bytes") == 0,
       "writing dirty_background_ratio, even 0, sets dirty_background_bytes to 0", "bytes %lld",
       sysctl_value("dirty_background_bytes"));
    restore_tunables();
    bool back = true;
    for (size_t i = 0; i < NTUNABLES; i++)
        back = back && strcmp(sysctl_text(tunables[i]), saved[i]) == 0;
    ok(back, "every tunable is back to its value", "e.g. dirty_ratio %s", sysctl_text("dirty_ratio"));
}

static void test_drop_caches_file(void)
{
    int fd = open(VM "drop_caches", O_RDONLY);
    ok(fd == -1 && errno == EACCES, "drop_caches cannot be opened for reading, even by root (EACCES)", "fd %d errno %d",
       fd, errno);
    if (fd >= 0)
        close(fd);
    fd = open(VM "drop_caches", O_RDWR);
    ok(fd == -1 && errno == EACCES, "... nor for reading and writing", "fd %d errno %d", fd, errno);
    if (fd >= 0)
        close(fd);
    ok(sysctl_write("drop_caches", "0") == -1 && errno == EINVAL, "drop_caches 0 is EINVAL", "errno %d", errno);
    ok(sysctl_write("drop_caches", "-1") == -1 && errno == EINVAL, "drop_caches -1 is EINVAL", "errno %d", errno);
    ok(sysctl_write("drop_caches", "100") == -1 && errno == EINVAL, "drop_caches 100 is EINVAL", "errno %d", errno);
    if (on_keel())
        ok(sysctl_write("drop_caches", "5") == -1 && errno == EINVAL, "drop_caches 5 is EINVAL (1..4)", "errno %d",
           errno);
    else
        skip("drop_caches 5 is EINVAL (1..4)", "upstream Linux's range; some vendor kernels take more bits");
    long long slab = vmstat_counter("drop_slab"), pagecache = vmstat_counter("drop_pagecache");
    ok(sysctl_write("drop_caches", "2\n") == 2 && vmstat_counter("drop_slab") > slab,
       "drop_caches 2 drops the slab caches (vmstat drop_slab counts it)", "drop_slab %lld -> %lld", slab,
       vmstat_counter("drop_slab"));
    ok(sysctl_write("drop_caches", "1") == 1 && vmstat_counter("drop_pagecache") > pagecache,
       "drop_caches 1 drops the page cache (vmstat drop_pagecache counts it)", "drop_pagecache %lld -> %lld",
       pagecache, vmstat_counter("drop_pagecache"));
}

/* ---- sync calls ---- */

static void fill_pattern(unsigned char *b, long len, long offset, int seed)
{
    for (long i = 0; i < len; i++)
        b[i] = (unsigned char)((offset + i) * 7 + seed + (offset + i) / 4093);
}

static bool file_matches(const char *path, long size, int seed)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    static unsigned char got[64 * 1024], want[64 * 1024];
    bool same = true;
    for (long off = 0; off < size && same; off += sizeof got) {
        long n = size - off < (long)sizeof got ? size - off : (long)sizeof got;
        fill_pattern(want, n, off, seed);
        same = pread(fd, got, n, off) == n && memcmp(got, want, n) == 0;
    }
    char extra;
    same = same && pread(fd, &extra, 1, size) == 0;
    close(fd);
    return same;
}

static bool write_pattern(int fd, long size, int seed)
{
    static unsigned char b[64 * 1024];
    for (long off = 0; off < size; off += sizeof b) {
        long n = size - off < (long)sizeof b ? size - off : (long)sizeof b;
        fill_pattern(b, n, off, seed);
        if (pwrite(fd, b, n, off) != n)
            return false;
    }
    return true;
}

static void test_sync_calls(void)
{
    const char *path = path_in_dir("sync");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (!ok(fd >= 0, "create a file", "errno %d (%s)", errno, strerror(errno)))
        return;
    ok(write_pattern(fd, 3 * PAGE + 5, 1), "write 3 pages and 5 bytes", "errno %d", errno);
    ok(fsync(fd) == 0, "fsync", "errno %d", errno);
    ok(fdatasync(fd) == 0, "fdatasync", "errno %d", errno);
    ok(syncfs(fd) == 0, "syncfs", "errno %d", errno);
    sync();
    ok(file_matches(path, 3 * PAGE + 5, 1), "the file reads back after the sync calls", "wrong bytes");
    int ro = open(path, O_RDONLY);
    ok(fsync(ro) == 0, "fsync of a file open read-only", "errno %d", errno);
    close(ro);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    ok(fsync(dfd) == 0, "fsync of a directory", "errno %d", errno);
    close(dfd);
    int p[2];
    if (pipe(p) == 0) {
        ok_errno(fsync(p[0]), EINVAL, "fsync of a pipe is EINVAL");
        ok_errno(fdatasync(p[1]), EINVAL, "fdatasync of a pipe is EINVAL");
        close(p[0]);
        close(p[1]);
    }
    ok_errno(fsync(-1), EBADF, "fsync(-1) is EBADF");
    ok_errno(syncfs(-1), EBADF, "syncfs(-1) is EBADF");
    close(fd);
    unlink(path);
}

static void test_msync(void)
{
    const char *path = path_in_dir("msync");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (!ok(fd >= 0 && ftruncate(fd, 4 * PAGE) == 0, "create a 4-page file", "errno %d", errno))
        return;
    unsigned char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    bool writable = ok(m != MAP_FAILED, "mmap it MAP_SHARED, writable", "errno %d (%s)", errno, strerror(errno));
    if (!writable) {
        /* The flag checks need only a mapping. */
        m = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
        if (!ok(m != MAP_FAILED, "mmap it MAP_SHARED, read-only", "errno %d", errno)) {
            close(fd);
            return;
        }
    }
    if (writable) {
        fill_pattern(m, 4 * PAGE, 0, 2);
        ok(msync(m, 4 * PAGE, MS_SYNC) == 0, "msync MS_SYNC after storing through the mapping", "errno %d", errno);
        ok(file_matches(path, 4 * PAGE, 2), "read() shows what was stored", "wrong bytes");
    }
    ok(msync(m, 4 * PAGE, MS_ASYNC) == 0, "msync MS_ASYNC", "errno %d", errno);
    ok(msync(m, 4 * PAGE, MS_INVALIDATE) == 0, "msync MS_INVALIDATE", "errno %d", errno);
    ok(msync(m, 4 * PAGE, MS_SYNC | MS_INVALIDATE) == 0, "msync MS_SYNC | MS_INVALIDATE", "errno %d", errno);
    ok(msync(m + PAGE, 100, MS_SYNC) == 0, "msync of part of a page (the length is rounded up)", "errno %d", errno);
    ok(msync(m, 0, MS_SYNC) == 0, "msync of length 0", "errno %d", errno);
    ok_errno(msync(m, 4 * PAGE, MS_SYNC | MS_ASYNC), EINVAL, "msync MS_SYNC | MS_ASYNC is EINVAL");
    ok_errno(msync(m, 4 * PAGE, 8), EINVAL, "msync with an unknown flag is EINVAL");
    ok_errno(msync(m + 1, PAGE, MS_SYNC), EINVAL, "msync of an unaligned address is EINVAL");
    ok(pwrite(fd, "fresh", 5, 2 * PAGE) == 5 && msync(m, 4 * PAGE, MS_INVALIDATE) == 0 &&
       memcmp(m + 2 * PAGE, "fresh", 5) == 0, "after write() and MS_INVALIDATE the mapping shows the file",
       "mapping shows %.5s", (char *)m + 2 * PAGE);

    /* A hole in the middle: the range is not all mapped. */
    unsigned char *r = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ok(r != MAP_FAILED && munmap(r + PAGE, PAGE) == 0, "an anonymous mapping with a hole", "errno %d", errno)) {
        ok(msync(r, PAGE, MS_SYNC) == 0, "msync of anonymous memory", "errno %d", errno);
        ok_errno(msync(r, 3 * PAGE, MS_SYNC), ENOMEM, "msync over an unmapped page is ENOMEM");
        ok_errno(msync(r + PAGE, PAGE, MS_ASYNC), ENOMEM, "msync MS_ASYNC of an unmapped page is ENOMEM");
        munmap(r, 3 * PAGE);
    }

    /* MS_INVALIDATE of locked pages is EBUSY; MS_SYNC of them is fine. */
    if (ok(mlock(m, PAGE) == 0, "mlock a page of the mapping", "errno %d (%s)", errno, strerror(errno))) {
        ok_errno(msync(m, 2 * PAGE, MS_INVALIDATE), EBUSY, "msync MS_INVALIDATE of a locked page is EBUSY");
        ok(msync(m, 2 * PAGE, MS_SYNC) == 0, "msync MS_SYNC of a locked page is not", "errno %d", errno);
        ok(munlock(m, PAGE) == 0 && msync(m, 2 * PAGE, MS_INVALIDATE) == 0, "after munlock MS_INVALIDATE works",
           "errno %d", errno);
    }
    munmap(m, 4 * PAGE);
    close(fd);
    unlink(path);
}

/* ---- Dirty in /proc/meminfo ---- */

/* Dirty rises by at least half of `bytes` after `dirty` and falls by as much
 * after `clean`. Other programs dirty pages too: three tries. */
static void expect_dirty_cycle(const char *path, long bytes, bool through_mapping, const char *rises,
                               const char *falls)
{
    long before = -1, dirtied = -1, cleaned = -1;
    bool rose = false, fell = false;
    for (int attempt = 0; attempt < 3 && !(rose && fell); attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ftruncate(fd, bytes) != 0 || fsync(fd) != 0)
            break;
        before = meminfo_kib("Dirty");
        unsigned char *m = NULL;
        if (through_mapping) {
            m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED) {
                close(fd);
                break;
            }
            fill_pattern(m, bytes, 0, 3);
        } else if (!write_pattern(fd, bytes, 3)) {
            close(fd);
            break;
        }
        dirtied = meminfo_kib("Dirty");
        int r = through_mapping ? msync(m, bytes, MS_SYNC) : fsync(fd);
        cleaned = meminfo_kib("Dirty");
        rose = dirtied - before >= bytes / 2048;
        fell = r == 0 && dirtied - cleaned >= bytes / 2048;
        if (m)
            munmap(m, bytes);
        close(fd);
    }
    ok(rose, rises, "Dirty %ld kB before, %ld kB after dirtying %ld kB", before, dirtied, bytes / 1024);
    ok(fell, falls, "Dirty %ld kB, then %ld kB", dirtied, cleaned);
    ok(file_matches(path, bytes, 3), through_mapping ? "the stored bytes are in the file" : "the written bytes are in the file",
       "wrong bytes");
    unlink(path);
}

static void test_dirty_accounting(bool tmpfs)
{
    if (tmpfs) {
        skip("write() makes pages Dirty; fsync cleans them", "tmpfs pages are never Dirty: pass a disk directory");
        return;
    }
    expect_dirty_cycle(path_in_dir("dirty-write"), 8 * MIB, false,
                       "/proc/meminfo Dirty grows by what write() dirtied",
                       "... and falls by as much after fsync");
    expect_dirty_cycle(path_in_dir("dirty-mmap"), 8 * MIB, true,
                       "/proc/meminfo Dirty grows by what stores through MAP_SHARED dirtied",
                       "... and falls by as much after msync(MS_SYNC)");
}

/* ---- drop_caches loses nothing ---- */

static void test_drop_keeps_data(void)
{
    const char *clean = path_in_dir("clean"), *dirty = path_in_dir("dirty");
    int fd = open(clean, O_RDWR | O_CREAT | O_TRUNC, 0644);
    bool made = fd >= 0 && write_pattern(fd, 300 * 1024 + 77, 4) && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok(made, "write and fsync a file of 300 KiB and 77 bytes", "errno %d", errno);
    ok(sysctl_write("drop_caches", "1") == 1 && file_matches(clean, 300 * 1024 + 77, 4),
       "after drop_caches 1 the file reads back the same", "errno %d or wrong bytes", errno);
    fd = open(dirty, O_RDWR | O_CREAT | O_TRUNC, 0644);
    made = fd >= 0 && write_pattern(fd, 200 * 1024 + 3, 5);
    if (fd >= 0)
        close(fd);
    ok(made, "write a file of 200 KiB and 3 bytes, not synced", "errno %d", errno);
    ok(sysctl_write("drop_caches", "3") == 1 && file_matches(dirty, 200 * 1024 + 3, 5),
       "after drop_caches 3 the unsynced file reads back the same", "errno %d or wrong bytes", errno);
    struct stat st = { 0 };
    ssize_t n = sysctl_write("drop_caches", "2");
    int found = stat(dirty, &st);
    ok(n == 1 && found == 0 && st.st_size == 200 * 1024 + 3 && file_matches(clean, 300 * 1024 + 77, 4),
       "after drop_caches 2 both files are found by name and read the same", "write %zd, stat %d, size %ld", n,
       found, (long)st.st_size);
    unlink(clean);
    unlink(dirty);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        dir = argv[1];
    else if (mkdir("/tmp", 01777) != 0 && errno != EEXIST)
        note("no /tmp: errno %d", errno);
    struct statfs sf;
    bool tmpfs = statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
    note("files in %s%s", dir, tmpfs ? " (tmpfs)" : "");
    save_tunables();
    atexit(restore_tunables);
    test_sysctl_files();
    test_sysctl_reads();
    test_sysctl_writes();
    test_drop_caches_file();
    test_sync_calls();
    test_msync();
    test_dirty_accounting(tmpfs);
    test_drop_keeps_data();
    restore_tunables();
    return ktest_done();
}
