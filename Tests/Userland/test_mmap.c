/*
 * test_mmap: anonymous memory mappings (Linux: do_mmap(), do_vmi_munmap(),
 * mprotect_fixup(), mremap, madvise) and the kernel's user-copy checks.
 *
 * Where a test needs to know its neighbours it first reserves a PROT_NONE
 * range and maps inside it with MAP_FIXED, so no other mapping can sit (or
 * merge) next to the pages under test. Faults are not provoked here (that
 * needs signals, a later issue); unmapped ranges are seen through
 * /proc/self/maps and through the errors of calls made on them.
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "procfs.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1UL << 20)

static struct map_line maps[MAX_MAP_LINES];
static int nmaps;
static char maps_why[256];

static bool load_maps(void)
{
    nmaps = read_maps(maps, MAX_MAP_LINES, maps_why, sizeof maps_why);
    return ok(nmaps > 0, "read /proc/self/maps", "%s", maps_why);
}

/* A PROT_NONE range of `pages` pages to map inside with MAP_FIXED. */
static unsigned char *reserve(size_t pages)
{
    void *p = mmap(NULL, pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static unsigned char *map_fixed(void *at, size_t pages, int prot)
{
    void *p = mmap(at, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static bool all_bytes(const unsigned char *p, size_t len, unsigned char v)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

static void test_anonymous(void)
{
    unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "private anonymous mmap", "errno %d (%s)", errno, strerror(errno)))
        return;
    ok((uintptr_t)p % PAGE == 0, "mmap returns a page-aligned address", "%p", (void *)p);
    ok(all_bytes(p, 4 * PAGE, 0), "private anonymous pages are zero-filled", "nonzero byte");
    memset(p, 0x3c, 4 * PAGE);
    ok(all_bytes(p, 4 * PAGE, 0x3c), "private anonymous pages are writable", "lost a write");
    ok(munmap(p, 4 * PAGE) == 0, "munmap", "errno %d", errno);

    unsigned char *s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!ok(s != MAP_FAILED, "shared anonymous mmap", "errno %d (%s)", errno, strerror(errno)))
        return;
    ok(all_bytes(s, 2 * PAGE, 0), "shared anonymous pages are zero-filled", "nonzero byte");
    memset(s, 0x77, 2 * PAGE);
    ok(all_bytes(s, 2 * PAGE, 0x77), "shared anonymous pages are writable", "lost a write");
    if (load_maps()) {
        const struct map_line *m = find_map(maps, nmaps, (uintptr_t)s);
        ok(m && strcmp(m->perms, "rw-s") == 0, "shared mapping shows rw-s in maps", "perms %s",
           m ? m->perms : "(no line)");
    }
    ok(munmap(s, 2 * PAGE) == 0, "munmap shared", "errno %d", errno);
}

static void test_fixed(void)
{
    unsigned char *r = reserve(5);
    unsigned char *p = r ? map_fixed(r + PAGE, 3, PROT_READ | PROT_WRITE) : NULL;
    if (!ok(p == r + PAGE, "MAP_FIXED inside a reservation", "errno %d", errno))
        return;
    memset(p, 0xee, 3 * PAGE);
    unsigned char *q = map_fixed(p + PAGE, 1, PROT_READ | PROT_WRITE);
    ok(q == p + PAGE, "MAP_FIXED over a mapping returns the address", "%p, want %p", (void *)q,
       (void *)(p + PAGE));
    ok(all_bytes(p + PAGE, PAGE, 0), "MAP_FIXED replaced the page with a zero page", "old data");
    ok(all_bytes(p, PAGE, 0xee) && all_bytes(p + 2 * PAGE, PAGE, 0xee),
       "MAP_FIXED left the neighbours alone", "neighbour changed");

    errno = 0;
    void *n = mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ok(n == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE on a mapped range: EEXIST",
       "returned %p errno %d", n, errno);
    ok(all_bytes(p, PAGE, 0xee), "failed MAP_FIXED_NOREPLACE changed nothing", "page changed");
    ok(munmap(r, 5 * PAGE) == 0, "munmap the reservation", "errno %d", errno);
    n = mmap(r, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ok(n == r, "MAP_FIXED_NOREPLACE on a free range", "returned %p, want %p errno %d", n,
       (void *)r, errno);
    munmap(r, PAGE);

    void *h = mmap(r + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ok(h == r + 2 * PAGE, "a free hint address is honoured", "got %p, hint %p", h,
       (void *)(r + 2 * PAGE));
    munmap(h, PAGE);
}

static void test_munmap_split(void)
{
    unsigned char *r = reserve(5);
    unsigned char *p = r ? map_fixed(r + PAGE, 3, PROT_READ | PROT_WRITE) : NULL;
    if (!ok(p != NULL, "map 3 pages to split", "errno %d", errno))
        return;
    memset(p, 0x11, 3 * PAGE);
    ok(munmap(p + PAGE, PAGE) == 0, "munmap the middle page", "errno %d", errno);
    ok(all_bytes(p, PAGE, 0x11) && all_bytes(p + 2 * PAGE, PAGE, 0x11),
       "pages around the hole keep their data", "data lost");
    if (load_maps()) {
        const struct map_line *lo = find_map(maps, nmaps, (uintptr_t)p);
        const struct map_line *hi = find_map(maps, nmaps, (uintptr_t)(p + 2 * PAGE));
        ok(lo && lo->end == (uintptr_t)(p + PAGE) && strcmp(lo->perms, "rw-p") == 0,
           "maps: the lower piece ends at the hole", "line %lx-%lx %s",
           lo ? (unsigned long)lo->start : 0, lo ? (unsigned long)lo->end : 0, lo ? lo->perms : "");
        ok(hi && hi->start == (uintptr_t)(p + 2 * PAGE) && hi->end == (uintptr_t)(p + 3 * PAGE),
           "maps: the upper piece starts after the hole", "line %lx-%lx",
           hi ? (unsigned long)hi->start : 0, hi ? (unsigned long)hi->end : 0);
        ok(find_map(maps, nmaps, (uintptr_t)(p + PAGE)) == NULL, "maps: the hole is unmapped",
           "a line covers the hole");
    }
    int rc = mprotect(p + PAGE, PAGE, PROT_READ);
    ok_errno(rc, ENOMEM, "mprotect on an unmapped page: ENOMEM");
    rc = mprotect(p, 3 * PAGE, PROT_READ);
    ok_errno(rc, ENOMEM, "mprotect over a hole: ENOMEM");
    rc = msync(p + PAGE, PAGE, MS_ASYNC);
    ok_errno(rc, ENOMEM, "msync on an unmapped page: ENOMEM");
    ok(munmap(p + PAGE, PAGE) == 0, "munmap of a hole succeeds", "errno %d", errno);
    munmap(r, 5 * PAGE);
}

static void test_invalid(void)
{
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "map 2 pages for error tests", "errno %d", errno))
        return;
    int rc = munmap(p + 1, PAGE);
    ok_errno(rc, EINVAL, "munmap of an unaligned address: EINVAL");
    rc = munmap(p, 0);
    ok_errno(rc, EINVAL, "munmap of length 0: EINVAL");
    /* Raw: musl's mprotect() rounds the address down to a page itself. */
    long lrc = syscall(SYS_mprotect, p + 1, PAGE, PROT_READ);
    ok_errno(lrc, EINVAL, "mprotect of an unaligned address: EINVAL");

    errno = 0;
    void *m = mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0);
    ok(m == MAP_FAILED && errno == EINVAL, "mmap neither private nor shared: EINVAL",
       "returned %p errno %d", m, errno);
    errno = 0;
    m = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ok(m == MAP_FAILED && errno == EINVAL, "mmap of length 0: EINVAL", "returned %p errno %d", m, errno);
    errno = 0;
    m = mmap(p + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    ok(m == MAP_FAILED && errno == EINVAL, "MAP_FIXED at an unaligned address: EINVAL",
       "returned %p errno %d", m, errno);
    errno = 0;
    m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 0);
    ok(m == MAP_FAILED && errno == EBADF, "file mapping of fd -1: EBADF", "returned %p errno %d",
       m, errno);
    munmap(p, 2 * PAGE);
}

static void test_mremap(void)
{
    unsigned char *r = reserve(4);
    unsigned char *p = r ? map_fixed(r, 2, PROT_READ | PROT_WRITE) : NULL;
    if (!ok(p != NULL, "map 2 pages to grow", "errno %d", errno))
        return;
    memset(p, 0x42, 2 * PAGE);

    errno = 0;
    void *q = mremap(p, 2 * PAGE, 8 * PAGE, 0);
    ok(q == MAP_FAILED && errno == ENOMEM, "mremap grow blocked, no MAYMOVE: ENOMEM",
       "returned %p errno %d", q, errno);
    q = mremap(p, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    if (ok(q != MAP_FAILED && q != p, "mremap grow blocked, MAYMOVE: moves", "returned %p errno %d",
           q, errno)) {
        unsigned char *n = q;
        ok(all_bytes(n, 2 * PAGE, 0x42), "moved mapping keeps its contents", "data lost");
        ok(all_bytes(n + 2 * PAGE, 6 * PAGE, 0), "grown part is zero-filled", "nonzero byte");
        int rc = mprotect(p, 2 * PAGE, PROT_READ);
        ok_errno(rc, ENOMEM, "old range is unmapped after the move");
        munmap(n, 8 * PAGE);
    }
    munmap(r, 4 * PAGE);

    r = reserve(6);
    p = r ? map_fixed(r, 2, PROT_READ | PROT_WRITE) : NULL;
    if (!ok(p != NULL && munmap(r + 2 * PAGE, 4 * PAGE) == 0, "map 2 pages with room after",
            "errno %d", errno))
        return;
    memset(p, 0x24, 2 * PAGE);
    q = mremap(p, 2 * PAGE, 6 * PAGE, 0);
    ok(q == p, "mremap grows in place into free space", "returned %p, want %p errno %d", q,
       (void *)p, errno);
    if (q == p) {
        ok(all_bytes(p, 2 * PAGE, 0x24) && all_bytes(p + 2 * PAGE, 4 * PAGE, 0),
           "in-place growth keeps data, zero-fills the rest", "bad contents");
        q = mremap(p, 6 * PAGE, PAGE, 0);
        ok(q == p && all_bytes(p, PAGE, 0x24), "mremap shrink keeps the start", "returned %p", q);
        int rc = mprotect(p + PAGE, PAGE, PROT_READ);
        ok_errno(rc, ENOMEM, "shrunk tail is unmapped");
    }
    munmap(p, 6 * PAGE);
}

static void test_madvise(void)
{
    unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "map 4 pages for madvise", "errno %d", errno))
        return;
    memset(p, 0x99, 4 * PAGE);
    ok(madvise(p + PAGE, 2 * PAGE, MADV_DONTNEED) == 0, "madvise(MADV_DONTNEED)", "errno %d", errno);
    ok(all_bytes(p + PAGE, 2 * PAGE, 0), "MADV_DONTNEED pages read back zero", "old data");
    ok(all_bytes(p, PAGE, 0x99) && all_bytes(p + 3 * PAGE, PAGE, 0x99),
       "MADV_DONTNEED left the other pages alone", "neighbour changed");
    memset(p + PAGE, 0x5, PAGE);
    ok(all_bytes(p + PAGE, PAGE, 0x5), "MADV_DONTNEED pages stay usable", "lost a write");
    munmap(p, 4 * PAGE);
}

/* Stdout must be a real sink (console, pipe, file): /dev/null never reads the
 * buffer, so writes from bad pointers succeed there. */
static void test_efault(void)
{
    ssize_t n = write(1, (void *)1, 10);
    ok_errno(n, EFAULT, "write from address 1: EFAULT");
    int fd = open("/proc/self/maps", O_RDONLY);
    n = read(fd, (void *)0xffff800000000000UL, 10);
    ok_errno(n, EFAULT, "read into a kernel address: EFAULT");
    close(fd);

    unsigned char *r = reserve(1);
    n = write(1, r, 10);
    ok_errno(n, EFAULT, "write from a PROT_NONE page: EFAULT");
    unsigned char *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fd = open("/proc/self/maps", O_RDONLY);
    n = read(fd, ro, 10);
    ok_errno(n, EFAULT, "read into a read-only page: EFAULT");
    ok(all_bytes(ro, PAGE, 0), "the read-only page is still zero", "page changed");
    close(fd);
    munmap(r, PAGE);
    munmap(ro, PAGE);
}

/* Lengths and addresses that overflow when rounded or added: Linux's errno for
 * each, computed in its order of checks (and never a crash). Raw system calls:
 * musl's wrappers check some lengths themselves. */
static void test_overflowing_arguments(void)
{
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "map 2 pages for overflow tests", "errno %d", errno))
        return;
    long rc = syscall(SYS_mremap, p, (size_t)-1, PAGE, 0, 0);
    ok_errno(rc, EINVAL, "mremap(p, SIZE_MAX, 4096, 0): the old length rounds to 0, private: EINVAL");
    rc = syscall(SYS_mremap, p, PAGE, (size_t)-1, MREMAP_MAYMOVE, 0);
    ok_errno(rc, EINVAL, "mremap to a new length that rounds to 0: EINVAL");
    rc = syscall(SYS_mremap, p, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, 0);
    ok_errno(rc, EFAULT, "mremap of an old range longer than its mapping: EFAULT");
    rc = syscall(SYS_madvise, 0xfffffffffffff000UL, PAGE, MADV_NORMAL);
    ok_errno(rc, EINVAL, "madvise(0xfffffffffffff000, 4096): the end wraps: EINVAL");
    rc = syscall(SYS_madvise, p, (size_t)-100, MADV_NORMAL);
    ok_errno(rc, EINVAL, "madvise with a length that rounds to 0: EINVAL");
    rc = syscall(SYS_msync, 0xfffffffffffff000UL, PAGE, MS_ASYNC);
    ok_errno(rc, ENOMEM, "msync(0xfffffffffffff000, 4096, MS_ASYNC): the end wraps: ENOMEM");
    rc = syscall(SYS_msync, p, (size_t)-1, MS_ASYNC);
    ok(rc == 0, "msync with a length that rounds to 0 does nothing", "returned %ld errno %d", rc, errno);
    rc = syscall(SYS_mmap, 0, (size_t)-100, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ok_errno(rc, ENOMEM, "mmap of a length that rounds past 2^64: ENOMEM");
    rc = syscall(SYS_mmap, 0, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ok_errno(rc, ENOMEM, "mmap of 2^62 bytes: ENOMEM");
    rc = syscall(SYS_mprotect, p, (size_t)-100, PROT_READ);
    ok_errno(rc, ENOMEM, "mprotect with a length that rounds to 0: ENOMEM");
    rc = syscall(SYS_munmap, p, (size_t)-1);
    ok_errno(rc, EINVAL, "munmap(p, SIZE_MAX): EINVAL");
    ok(p[0] == 0 && p[PAGE] == 0, "the mapping is intact after the bad calls", "changed");
    munmap(p, 2 * PAGE);
}

static sigjmp_buf segv_jump;
static void on_segv(int sig) { (void)sig; siglongjmp(segv_jump, 1); }

/* Reads one byte; true if the read raised SIGSEGV instead. */
static bool read_faults(const volatile unsigned char *p)
{
    struct sigaction sa = { .sa_handler = on_segv }, old;
    sigaction(SIGSEGV, &sa, &old);
    volatile bool faulted = true;     /* kept across siglongjmp */
    if (sigsetjmp(segv_jump, 1) == 0) {
        (void)*p;
        faulted = false;
    }
    sigaction(SIGSEGV, &old, NULL);
    return faulted;
}

/* A page written, then made PROT_NONE: nothing may read it any more, not the
 * process, not a forked child, not the kernel on its behalf; the contents come
 * back with PROT_READ. */
static void test_prot_none_after_touch(void)
{
    unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "map a page for PROT_NONE", "errno %d", errno))
        return;
    memset(p, 0x5a, PAGE);
    ok(mprotect(p, PAGE, PROT_NONE) == 0, "mprotect(PROT_NONE) of a touched page", "errno %d", errno);
    ok(read_faults(p), "reading a touched PROT_NONE page raises SIGSEGV", "the read succeeded");
    int fds[2];
    if (pipe(fds) == 0) {
        ssize_t n = write(fds[1], p, 16);
        ok_errno(n, EFAULT, "write() from a touched PROT_NONE page: EFAULT");
        close(fds[0]);
        close(fds[1]);
    }
    pid_t child = fork();
    if (child == 0)
        _exit(read_faults(p) ? 0 : 1);
    int status = -1;
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child cannot read it either", "status %#x", status);
    ok(mprotect(p, PAGE, PROT_READ) == 0, "mprotect(PROT_READ) again", "errno %d", errno);
    ok(all_bytes(p, PAGE, 0x5a), "the contents are back", "page changed");
    munmap(p, PAGE);
}

static void test_sparse(void)
{
    const size_t size = 1UL << 30, stride = 64 * MIB;
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!ok(p != MAP_FAILED, "sparse 1 GiB MAP_NORESERVE mapping", "errno %d (%s)", errno,
            strerror(errno)))
        return;
    for (size_t off = 0; off < size; off += stride)
        p[off + off / stride] = (unsigned char)(off / stride + 1);
    bool good = true;
    for (size_t off = 0; off < size; off += stride)
        good &= p[off + off / stride] == (unsigned char)(off / stride + 1) && p[off + stride - 1] == 0;
    ok(good, "one byte every 64 MiB keeps its value, the rest reads zero", "bad value");
    ok(munmap(p, size) == 0, "munmap 1 GiB", "errno %d", errno);
}

int main(void)
{
    test_anonymous();
    test_fixed();
    test_munmap_split();
    test_invalid();
    test_mremap();
    test_madvise();
    test_efault();
    test_overflowing_arguments();
    test_prot_none_after_touch();
    test_sparse();
    return ktest_done();
}
