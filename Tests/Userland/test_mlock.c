/*
 * test_mlock: locking memory, mlock(2), mlock2(2), munlock(2), mlockall(2),
 * munlockall(2) and MAP_LOCKED (Linux: mm/mlock.c, mm/gup.c __mm_populate).
 * Run as root, as `make test` does on the host and Keel always is.
 *
 *   - mlock faults every page of the range in (pagemap's present bit) and
 *     counts it in /proc/self/status VmLck; the range's VMAs are split at
 *     its edges (/proc/self/maps) and munlock merges them back, leaving the
 *     pages present; the start is rounded down and the length up; locking
 *     twice counts once;
 *   - errors: a hole in the range is ENOMEM for mlock and munlock, a length
 *     whose end wraps EINVAL, unknown mlock2 flags EINVAL, PROT_NONE pages
 *     ENOMEM (they cannot be faulted in) though the range stays locked;
 *   - mlock2(MLOCK_ONFAULT) locks without faulting in;
 *   - msync(MS_INVALIDATE) of locked pages is EBUSY, madvise(MADV_DONTNEED)
 *     EINVAL; mprotect and munmap split a locked range and VmLck follows;
 *     mremap growing a locked mapping faults the new pages in;
 *   - mlockall: bad flags EINVAL; MCL_CURRENT locks and faults in every
 *     mapping; MCL_FUTURE locks (and faults in) later mmaps and brk,
 *     MCL_ONFAULT later ones without faulting; munlockall undoes both;
 *     MAP_LOCKED locks one mapping;
 *   - root (CAP_IPC_LOCK) may lock more than RLIMIT_MEMLOCK, even with the
 *     limit set to 0;
 *   - a fork child inherits no lock and no MCL_FUTURE; execve drops both.
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "pagemap.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef SYS_mlock2
#define SYS_mlock2 325
#endif
#ifndef MAP_LOCKED
#define MAP_LOCKED 0x2000
#endif

/* The raw call: musl may not know mlock2. */
static int mlock2_(const void *addr, size_t len, unsigned flags)
{
    return (int)syscall(SYS_mlock2, addr, len, flags);
}

/* A "Field:   N kB" line of /proc/<pid>/status (0: self), in kB; -1 if missing. */
static long status_kb(int pid, const char *field)
{
    char path[64], buf[4096];
    if (pid) snprintf(path, sizeof path, "/proc/%d/status", pid);
    else snprintf(path, sizeof path, "/proc/self/status");
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    size_t len = strlen(field);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') return strtol(line + len + 1, NULL, 10);
    }
    return -1;
}

static long vmlck(void) { return status_kb(0, "VmLck"); }

/* How many of the `pages` pages from `p` are present (pagemap bit 63); -1 if pagemap fails. */
static int present_pages(const void *p, int pages)
{
    int present = 0;
    for (int i = 0; i < pages; i++) {
        uint64_t entry;
        if (!pm_entry(0, (uintptr_t)p + i * PAGE, &entry)) return -1;
        if (entry & PM_PRESENT) present++;
    }
    return present;
}

/* Lines of /proc/self/maps overlapping [p, p + len): the VMAs there. */
static int vmas_in(const void *p, long len)
{
    char buf[16384];
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0) return -1;
    size_t used = 0;
    ssize_t n;
    while (used < sizeof buf - 1 && (n = read(fd, buf + used, sizeof buf - 1 - used)) > 0) used += n;
    close(fd);
    buf[used] = 0;
    uintptr_t lo = (uintptr_t)p, hi = lo + len;
    int count = 0;
    for (char *line = buf; *line; ) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start < hi && end > lo) count++;
        char *next = strchr(line, '\n');
        if (!next) break;
        line = next + 1;
    }
    return count;
}

static char *map(long pages, int prot, int flags)
{
    char *p = mmap(NULL, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---- mlock, munlock ---- */

static void test_mlock(void)
{
    long base = vmlck();
    ok(base >= 0, "/proc/self/status has VmLck", "missing");
    char *p = map(8, PROT_READ | PROT_WRITE, 0);
    if (!ok(p != NULL, "an 8-page anonymous mapping", "errno %d", errno)) return;
    ok(present_pages(p, 8) == 0, "untouched, none of its pages is present", "%d present", present_pages(p, 8));

    ok(mlock(p + PAGE, 4 * PAGE) == 0, "mlock pages 1-4", "errno %d (%s)", errno, strerror(errno));
    ok(present_pages(p + PAGE, 4) == 4, "... faults all four in", "%d present", present_pages(p + PAGE, 4));
    ok(present_pages(p, 1) == 0 && present_pages(p + 5 * PAGE, 3) == 0, "... and no page outside the range",
       "%d and %d present", present_pages(p, 1), present_pages(p + 5 * PAGE, 3));
    ok(vmlck() == base + 16, "VmLck grows by 16 kB", "VmLck %ld kB, was %ld", vmlck(), base);
    ok(vmas_in(p, 8 * PAGE) == 3, "the mapping is split at both edges of the locked range", "%d VMAs",
       vmas_in(p, 8 * PAGE));
    p[PAGE] = 'a';
    ok(p[PAGE] == 'a', "locked pages are ordinary memory", "read back %d", p[PAGE]);

    ok(mlock(p + PAGE, 4 * PAGE) == 0 && vmlck() == base + 16, "locking the same pages again counts them once",
       "errno %d VmLck %ld", errno, vmlck());
    ok(mlock(p, 0) == 0 && munlock(p, 0) == 0 && vmlck() == base + 16, "mlock and munlock of length 0 do nothing",
       "errno %d", errno);
    ok(mlock(p, SIZE_MAX) == 0 && vmlck() == base + 16, "a length that page-aligns to 0 locks nothing",
       "errno %d VmLck %ld", errno, vmlck());

    ok(munlock(p + PAGE, 4 * PAGE) == 0, "munlock them", "errno %d", errno);
    ok(vmlck() == base, "VmLck is back", "VmLck %ld kB, was %ld", vmlck(), base);
    ok(vmas_in(p, 8 * PAGE) == 1, "the pieces merge back into one VMA", "%d VMAs", vmas_in(p, 8 * PAGE));
    ok(present_pages(p + PAGE, 4) == 4 && p[PAGE] == 'a', "munlock leaves the pages and their contents",
       "%d present", present_pages(p + PAGE, 4));

    ok(mlock(p + 6 * PAGE + 100, 10) == 0 && vmlck() == base + 4 && present_pages(p + 6 * PAGE, 1) == 1,
       "mlock of 10 bytes inside page 6 locks that whole page", "errno %d VmLck %ld", errno, vmlck());
    ok(munlock(p, 8 * PAGE) == 0 && vmlck() == base, "munlock of the whole mapping unlocks it",
       "errno %d VmLck %ld", errno, vmlck());
    munmap(p, 8 * PAGE);

    /* Errors. */
    char *q = map(3, PROT_READ | PROT_WRITE, 0);
    if (ok(q != NULL && munmap(q + PAGE, PAGE) == 0, "a mapping with a hole in the middle", "errno %d", errno)) {
        ok_errno(mlock(q, 3 * PAGE), ENOMEM, "mlock over the hole is ENOMEM");
        ok_errno(munlock(q, 3 * PAGE), ENOMEM, "munlock over the hole is ENOMEM");
        ok_errno(mlock(q + PAGE, PAGE), ENOMEM, "mlock of the hole alone is ENOMEM");
        /* (Linux has locked the page before the hole by then; Keel has changed nothing.) */
        ok(munlock(q, PAGE) == 0 && munlock(q + 2 * PAGE, PAGE) == 0 && vmlck() == base,
           "munlock of the pieces: VmLck is back", "errno %d VmLck %ld kB, was %ld", errno, vmlck(), base);
        munmap(q, 3 * PAGE);
    }
    char *r = map(1, PROT_READ | PROT_WRITE, 0);
    if (r) {
        ok_errno(mlock(r, SIZE_MAX - 2 * PAGE), EINVAL, "mlock whose end wraps around is EINVAL");
        ok_errno(mlock2_(r, PAGE, 2), EINVAL, "mlock2 with an unknown flag is EINVAL");
        ok_errno(mlock2_(r, PAGE, ~0u), EINVAL, "mlock2 with every flag is EINVAL");
        munmap(r, PAGE);
    }

    /* PROT_NONE pages cannot be faulted in: ENOMEM, but the lock stays. */
    char *n = map(2, PROT_NONE, 0);
    if (ok(n != NULL, "a PROT_NONE mapping", "errno %d", errno)) {
        ok_errno(mlock(n, 2 * PAGE), ENOMEM, "mlock of PROT_NONE pages is ENOMEM");
        ok(vmlck() == base + 8, "... and still locks them", "VmLck %ld kB, was %ld", vmlck(), base);
        ok(munlock(n, 2 * PAGE) == 0 && vmlck() == base, "munlock unlocks them", "errno %d", errno);
        ok(mlock2_(n, 2 * PAGE, MLOCK_ONFAULT) == 0, "mlock2(MLOCK_ONFAULT) of PROT_NONE pages is fine",
           "errno %d", errno);
        munmap(n, 2 * PAGE);
        ok(vmlck() == base, "munmap of locked pages takes them off VmLck", "VmLck %ld kB, was %ld", vmlck(), base);
    }
}

/* ---- mlock2(MLOCK_ONFAULT) ---- */

static void test_onfault(void)
{
    long base = vmlck();
    char *p = map(4, PROT_READ | PROT_WRITE, 0);
    if (!ok(p != NULL, "a 4-page mapping for MLOCK_ONFAULT", "errno %d", errno)) return;
    ok(mlock2_(p, 4 * PAGE, MLOCK_ONFAULT) == 0, "mlock2(MLOCK_ONFAULT)", "errno %d (%s)", errno, strerror(errno));
    ok(vmlck() == base + 16, "counts the pages in VmLck", "VmLck %ld kB, was %ld", vmlck(), base);
    ok(present_pages(p, 4) == 0, "... without faulting them in", "%d present", present_pages(p, 4));
    p[2 * PAGE] = 1;
    ok(present_pages(p, 4) == 1, "a touch faults one in", "%d present", present_pages(p, 4));
    ok(mlock(p, 4 * PAGE) == 0 && present_pages(p, 4) == 4 && vmlck() == base + 16,
       "mlock of the same range then faults them all in", "errno %d, %d present", errno, present_pages(p, 4));
    munmap(p, 4 * PAGE);
}

/* ---- what a lock refuses, and how mprotect, munmap and mremap treat it ---- */

static void test_locked_ranges(void)
{
    long base = vmlck();
    char *p = map(6, PROT_READ | PROT_WRITE, 0);
    if (!ok(p != NULL && mlock(p, 6 * PAGE) == 0, "a locked 6-page mapping", "errno %d", errno)) return;
    memset(p, 'x', 6 * PAGE);
    ok_errno(msync(p, PAGE, MS_INVALIDATE), EBUSY, "msync(MS_INVALIDATE) of locked pages is EBUSY");
    ok(msync(p, PAGE, MS_SYNC) == 0, "msync(MS_SYNC) of them is fine", "errno %d", errno);
    ok_errno(madvise(p, PAGE, MADV_DONTNEED), EINVAL, "madvise(MADV_DONTNEED) of locked pages is EINVAL");
    ok(p[0] == 'x', "... and the page keeps its contents", "'%c'", p[0]);

    ok(mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ) == 0, "mprotect the middle of a locked range", "errno %d", errno);
    ok(vmas_in(p, 6 * PAGE) == 3 && vmlck() == base + 24, "it splits, and every piece stays locked",
       "%d VMAs, VmLck %ld kB (was %ld)", vmas_in(p, 6 * PAGE), vmlck(), base);
    ok(mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE) == 0 && vmas_in(p, 6 * PAGE) == 1,
       "mprotect back merges it again", "%d VMAs", vmas_in(p, 6 * PAGE));
    ok(munmap(p + PAGE, PAGE) == 0 && vmlck() == base + 20 && vmas_in(p, 6 * PAGE) == 2,
       "munmap of a locked page splits the range and leaves VmLck 4 kB smaller",
       "VmLck %ld kB (was %ld), %d VMAs", vmlck(), base, vmas_in(p, 6 * PAGE));
    ok(munlock(p + 2 * PAGE, 2 * PAGE) == 0 && vmlck() == base + 12 && vmas_in(p, 6 * PAGE) == 3,
       "munlock of part of the rest splits it again", "VmLck %ld kB, %d VMAs", vmlck(), vmas_in(p, 6 * PAGE));
    munmap(p, 6 * PAGE);
    ok(vmlck() == base, "munmap of it all: VmLck is back", "VmLck %ld kB, was %ld", vmlck(), base);

    /* mremap: a locked mapping that grows gets its new pages at once. */
    char *m = map(2, PROT_READ | PROT_WRITE, 0);
    if (ok(m != NULL && mlock(m, 2 * PAGE) == 0, "a locked 2-page mapping", "errno %d", errno)) {
        char *g = mremap(m, 2 * PAGE, 5 * PAGE, MREMAP_MAYMOVE);
        if (ok(g != MAP_FAILED, "mremap it to 5 pages", "errno %d", errno)) {
            ok(vmlck() == base + 20, "VmLck counts the grown mapping", "VmLck %ld kB, was %ld", vmlck(), base);
            ok(present_pages(g, 5) == 5, "the new pages are faulted in", "%d of 5 present", present_pages(g, 5));
            munmap(g, 5 * PAGE);
        }
    }

    /* MAP_LOCKED */
    char *l = map(3, PROT_READ | PROT_WRITE, MAP_LOCKED);
    if (ok(l != NULL, "mmap with MAP_LOCKED", "errno %d", errno)) {
        ok(vmlck() == base + 12 && present_pages(l, 3) == 3, "is locked and faulted in",
           "VmLck %ld kB (was %ld), %d present", vmlck(), base, present_pages(l, 3));
        munmap(l, 3 * PAGE);
    }
}

/* ---- RLIMIT_MEMLOCK ---- */

static void test_rlimit(void)
{
    struct rlimit old;
    if (!ok(getrlimit(RLIMIT_MEMLOCK, &old) == 0, "getrlimit(RLIMIT_MEMLOCK)", "errno %d", errno)) return;
    note("RLIMIT_MEMLOCK %llu / %llu", (unsigned long long)old.rlim_cur, (unsigned long long)old.rlim_max);
    long base = vmlck();
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur <= 64 << 20) {
        long pages = (long)(old.rlim_cur / PAGE) + 2;
        char *p = map(pages, PROT_READ | PROT_WRITE, 0);
        if (ok(p != NULL, "a mapping 2 pages larger than RLIMIT_MEMLOCK", "errno %d", errno)) {
            ok(mlock(p, pages * PAGE) == 0 && vmlck() == base + pages * 4,
               "root (CAP_IPC_LOCK) may lock past RLIMIT_MEMLOCK", "errno %d (%s), VmLck %ld", errno, strerror(errno),
               vmlck());
            munmap(p, pages * PAGE);
        }
    } else {
        skip("root (CAP_IPC_LOCK) may lock past RLIMIT_MEMLOCK", "the limit is unlimited or large here");
    }
    struct rlimit zero = { 0, old.rlim_max };
    if (ok(setrlimit(RLIMIT_MEMLOCK, &zero) == 0, "setrlimit(RLIMIT_MEMLOCK, 0)", "errno %d", errno)) {
        char *p = map(1, PROT_READ | PROT_WRITE, 0);
        ok(p && mlock(p, PAGE) == 0, "with the limit at 0, root still locks", "errno %d (%s)", errno, strerror(errno));
        if (p) munmap(p, PAGE);
        setrlimit(RLIMIT_MEMLOCK, &old);
    }
}

/* ---- mlockall, munlockall ---- */

static void test_mlockall(void)
{
    ok_errno(mlockall(0), EINVAL, "mlockall(0) is EINVAL");
    ok_errno(mlockall(MCL_ONFAULT), EINVAL, "mlockall(MCL_ONFAULT) alone is EINVAL");
    ok_errno(mlockall(MCL_CURRENT | 8), EINVAL, "mlockall with an unknown flag is EINVAL");

    long base = vmlck();
    char *early = map(4, PROT_READ | PROT_WRITE, 0);
    if (!ok(early != NULL, "a mapping made before mlockall", "errno %d", errno)) return;

    ok(mlockall(MCL_FUTURE) == 0, "mlockall(MCL_FUTURE)", "errno %d (%s)", errno, strerror(errno));
    ok(vmlck() == base && present_pages(early, 4) == 0, "locks nothing mapped already",
       "VmLck %ld kB (was %ld), %d present", vmlck(), base, present_pages(early, 4));
    char *later = map(4, PROT_READ | PROT_WRITE, 0);
    if (ok(later != NULL, "mmap after mlockall(MCL_FUTURE)", "errno %d", errno)) {
        ok(vmlck() == base + 16 && present_pages(later, 4) == 4, "the new mapping is locked and faulted in",
           "VmLck %ld kB (was %ld), %d present", vmlck(), base, present_pages(later, 4));
        munmap(later, 4 * PAGE);
    }
    /* brk: the heap's new pages are locked and faulted in. No malloc may run between the two brk calls. */
    uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t want = ((cur + PAGE - 1) & ~(PAGE - 1)) + 2 * PAGE;
    uintptr_t got = (uintptr_t)syscall(SYS_brk, want);
    int heap_present = present_pages((void *)(want - 2 * PAGE), 2);
    long heap_locked = vmlck();
    syscall(SYS_brk, cur);
    ok(got == want && heap_present == 2 && heap_locked >= base + 8, "brk growth under MCL_FUTURE is locked and faulted in",
       "brk %#lx (asked %#lx), %d present, VmLck %ld (was %ld)", (unsigned long)got, (unsigned long)want,
       heap_present, heap_locked, base);

    ok(mlockall(MCL_FUTURE | MCL_ONFAULT) == 0, "mlockall(MCL_FUTURE | MCL_ONFAULT)", "errno %d", errno);
    later = map(4, PROT_READ | PROT_WRITE, 0);
    if (ok(later != NULL, "mmap after it", "errno %d", errno)) {
        ok(vmlck() == base + 16 && present_pages(later, 4) == 0, "the new mapping is locked, not faulted in",
           "VmLck %ld kB (was %ld), %d present", vmlck(), base, present_pages(later, 4));
        munmap(later, 4 * PAGE);
    }

    ok(munlockall() == 0, "munlockall", "errno %d", errno);
    later = map(4, PROT_READ | PROT_WRITE, 0);
    if (ok(later != NULL, "mmap after munlockall", "errno %d", errno)) {
        ok(vmlck() == base && present_pages(later, 4) == 0, "is neither locked nor faulted in",
           "VmLck %ld kB (was %ld), %d present", vmlck(), base, present_pages(later, 4));
        munmap(later, 4 * PAGE);
    }

    char *none = map(2, PROT_NONE, 0);
    ok(mlockall(MCL_CURRENT) == 0, "mlockall(MCL_CURRENT), with a PROT_NONE mapping among the rest",
       "errno %d (%s)", errno, strerror(errno));
    ok(present_pages(early, 4) == 4, "faults the earlier mapping in", "%d of 4 present", present_pages(early, 4));
    long size = status_kb(0, "VmSize"), locked = vmlck();
    /* Linux never locks its special mappings ([vvar], [vdso]: VM_SPECIAL); Keel has none. */
    ok(locked > 0 && locked <= size && size - locked <= 256, "VmLck is all of VmSize but the special mappings",
       "VmLck %ld kB, VmSize %ld kB", locked, size);
    char *after = map(1, PROT_READ | PROT_WRITE, 0);
    ok(after && vmlck() == locked, "MCL_CURRENT alone does not lock later mappings", "VmLck %ld kB, was %ld",
       vmlck(), locked);
    if (after) munmap(after, PAGE);
    ok(munlockall() == 0 && vmlck() == 0, "munlockall: VmLck 0", "errno %d VmLck %ld", errno, vmlck());
    if (none) munmap(none, 2 * PAGE);
    munmap(early, 4 * PAGE);
}

/* ---- fork and execve ---- */

static void test_fork_exec(const char *self)
{
    char *p = map(4, PROT_READ | PROT_WRITE, 0);
    if (!ok(p != NULL && mlock(p, 4 * PAGE) == 0 && mlockall(MCL_FUTURE) == 0,
            "a locked mapping, and mlockall(MCL_FUTURE)", "errno %d", errno)) return;
    long parent = vmlck();
    int fds[2];
    if (!ok(pipe(fds) == 0, "pipe", "errno %d", errno)) return;
    pid_t child = fork();
    if (child == 0) {
        /* Report: VmLck at start, VmLck after a new mmap, and whether the locked pages are still there. */
        long report[3] = { vmlck(), -1, p[0] == 0 };
        char *q = map(2, PROT_READ | PROT_WRITE, 0);
        report[1] = q ? vmlck() : -2;
        ssize_t w = write(fds[1], report, sizeof report);
        _exit(w == sizeof report ? 0 : 1);
    }
    long report[3] = { -1, -1, -1 };
    ssize_t n = child > 0 ? read(fds[0], report, sizeof report) : -1;
    int status = 0;
    if (child > 0) waitpid(child, &status, 0);
    close(fds[0]);
    close(fds[1]);
    if (ok(n == sizeof report && WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child reports",
           "read %zd, status %#x", n, status)) {
        ok(report[0] == 0, "the child has no locked memory (VmLck 0)", "VmLck %ld kB", report[0]);
        ok(report[1] == 0, "nor MCL_FUTURE: its new mapping is not locked", "VmLck %ld kB", report[1]);
        ok(report[2] == 1, "the child still sees the pages", "%ld", report[2]);
    }
    ok(vmlck() == parent, "the parent keeps its locks", "VmLck %ld kB, was %ld", vmlck(), parent);

    child = fork();
    if (child == 0) {
        execl(self, self, "--after-exec", (char *)NULL);
        _exit(3);
    }
    status = 0;
    if (child > 0) waitpid(child, &status, 0);
    ok(child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "after execve: VmLck 0, and a new mapping is not locked", "status %#x", status);
    munlockall();
    munmap(p, 4 * PAGE);
}

/* The image execve'd by a child of test_fork_exec, which had a lock and MCL_FUTURE. */
static int after_exec(void)
{
    if (vmlck() != 0) return 1;
    char *q = map(2, PROT_READ | PROT_WRITE, 0);
    if (!q || vmlck() != 0 || present_pages(q, 2) != 0) return 2;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--after-exec") == 0) return after_exec();
    test_mlock();
    test_onfault();
    test_locked_ranges();
    test_rlimit();
    test_mlockall();
    test_fork_exec("/proc/self/exe");
    return ktest_done();
}
