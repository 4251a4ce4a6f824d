/*
 * test_fork: fork with copy-on-write (Linux: kernel_clone() -> copy_mm() ->
 * dup_mmap(), and do_wp_page() when either side first writes).
 *
 * After fork every private page is shared read-only by parent and child;
 * whichever writes first gets its own copy, so neither ever sees the other's
 * writes. That is checked for each kind of private memory (.data, .bss,
 * malloc, the brk heap, the stack, an anonymous mmap, a page only ever read
 * before fork) in both directions, for 32 MiB at once, and for the kernel
 * writing into a shared page on the process's behalf (read() into a COW
 * buffer, Linux: a fault inside copy_to_user resolved by handle_mm_fault).
 * MAP_SHARED memory is the opposite: one page seen by both.
 *
 * Children never print; they report through exit codes and pipes, and exit
 * with _exit so nothing buffered is flushed twice.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1UL << 20)
#define SPAN (3 * PAGE) /* every private region spans three pages */

static unsigned char data_region[SPAN] = { 1 }; /* initialised: lands in .data */
static unsigned char bss_region[SPAN];

/* A byte that differs per page, per position and per writer (`seed`), so a
 * page copied from the wrong place or a stale page shows. */
static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)(seed * 37 + i / PAGE * 11 + i);
}

static void fill(unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = pattern(i, seed);
}

static bool holds(const unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(i, seed))
            return false;
    return true;
}

static bool all_bytes(const unsigned char *p, size_t len, unsigned char v)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* One-byte messages between parent and child. */
static void tell(int fd)
{
    char c = 1;
    if (write(fd, &c, 1) != 1)
        _exit(120);
}

static bool hear(int fd)
{
    char c;
    return read(fd, &c, 1) == 1;
}

/* Reaps `pid`; returns its exit code, or -1 (it was killed or wait failed). */
static int exit_code(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* ---- private copies, both directions ------------------------------------ */

enum { DATA, BSS, MALLOC, BRK, STACK, MMAP, REGIONS };
static const char *const region_name[REGIONS] = { ".data", ".bss", "malloc", "brk heap", "stack",
                                                  "anonymous mmap" };

/* What the child found, sent to the parent through a pipe. */
struct child_view {
    bool inherited[REGIONS]; /* saw the parent's pre-fork contents */
    bool kept[REGIONS];      /* its own writes survived the parent's */
};

static void test_private_copies(void)
{
    unsigned char stack_region[SPAN];
    unsigned char *region[REGIONS] = { data_region, bss_region, malloc(SPAN), NULL, stack_region,
                                       NULL };
    uintptr_t brk0 = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t base = (brk0 + PAGE - 1) & ~(PAGE - 1);
    if ((uintptr_t)syscall(SYS_brk, base + SPAN) == base + SPAN)
        region[BRK] = (unsigned char *)base;
    void *m = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    region[MMAP] = m == MAP_FAILED ? NULL : m;
    int missing = 0;
    while (missing < REGIONS && region[missing] != NULL)
        missing++;
    if (!ok(missing == REGIONS, "set up the six private regions", "no %s: errno %d",
            missing < REGIONS ? region_name[missing] : "", errno))
        return;

    for (int r = 0; r < REGIONS; r++)
        fill(region[r], SPAN, 1);
    int down[2], up[2], report[2];
    if (!ok(pipe(down) == 0 && pipe(up) == 0 && pipe(report) == 0, "pipes for the private-copy test",
            "errno %d", errno))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        struct child_view v;
        for (int r = 0; r < REGIONS; r++) {
            v.inherited[r] = holds(region[r], SPAN, 1);
            fill(region[r], SPAN, 2);
        }
        tell(up[1]);
        if (!hear(down[0]))
            _exit(121);
        for (int r = 0; r < REGIONS; r++)
            v.kept[r] = holds(region[r], SPAN, 2);
        _exit(write(report[1], &v, sizeof v) == sizeof v ? 0 : 122);
    }
    if (!ok(pid > 0, "fork", "errno %d", errno))
        return;
    ok(hear(up[0]), "the child wrote its copies", "no word from the child");
    char name[128];
    for (int r = 0; r < REGIONS; r++) {
        snprintf(name, sizeof name, "%s: the child's writes do not reach the parent", region_name[r]);
        ok(holds(region[r], SPAN, 1), name, "the parent's copy changed");
        fill(region[r], SPAN, 3);
    }
    tell(down[1]);
    struct child_view v;
    memset(&v, 0, sizeof v);
    ssize_t n = read(report[0], &v, sizeof v);
    int code = exit_code(pid);
    ok(n == sizeof v && code == 0, "the child reported back", "read %zd, exit code %d", n, code);
    for (int r = 0; r < REGIONS; r++) {
        snprintf(name, sizeof name, "%s: the child starts with the parent's contents", region_name[r]);
        ok(v.inherited[r], name, "the child saw other bytes");
        snprintf(name, sizeof name, "%s: the parent's writes do not reach the child", region_name[r]);
        ok(v.kept[r], name, "the child's copy changed");
        snprintf(name, sizeof name, "%s: the parent keeps its own later writes", region_name[r]);
        ok(holds(region[r], SPAN, 3), name, "lost a write");
    }
    close(down[0]); close(down[1]); close(up[0]); close(up[1]); close(report[0]); close(report[1]);
    free(region[MALLOC]);
    munmap(region[MMAP], SPAN);
    syscall(SYS_brk, brk0);
}

/* A page only read before fork is backed by the shared zero page on Linux;
 * the first write on either side must still give that side a private page. */
static void test_zero_page(void)
{
    unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "map a page to read before fork", "errno %d", errno))
        return;
    ok(all_bytes(p, PAGE, 0), "a fresh page reads zero", "nonzero byte");
    pid_t pid = fork();
    if (pid == 0) {
        memset(p, 0x6b, PAGE);
        _exit(all_bytes(p, PAGE, 0x6b) ? 0 : 1);
    }
    int code = exit_code(pid);
    ok(code == 0, "the child writes a page that was only read before fork", "exit code %d", code);
    ok(all_bytes(p, PAGE, 0), "the parent's read-only-before-fork page is still zero", "changed");
    memset(p, 0x2c, PAGE);
    ok(all_bytes(p, PAGE, 0x2c), "the parent can write it afterwards", "lost a write");
    munmap(p, PAGE);
}

/* ---- 32 MiB ---------------------------------------------------------------- */

static void test_big(void)
{
    const size_t size = 32 * MIB;
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "map 32 MiB", "errno %d", errno))
        return;
    fill(p, size, 4);

    pid_t pid = fork();
    if (pid == 0) {
        if (!holds(p, size, 4))
            _exit(1);
        memset(p, 0x5a, size);
        _exit(all_bytes(p, size, 0x5a) ? 0 : 2);
    }
    int code = exit_code(pid);
    ok(code == 0, "a child sees and rewrites all 32 MiB", "exit code %d (1: bad inherited copy)", code);
    ok(holds(p, size, 4), "the parent's 32 MiB are unchanged", "a byte changed");

    int go[2];
    if (!ok(pipe(go) == 0, "pipe", "errno %d", errno))
        return;
    pid = fork();
    if (pid == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 0) /* EOF: the parent has rewritten its copy */
            _exit(3);
        _exit(holds(p, size, 4) ? 0 : 1);
    }
    close(go[0]);
    memset(p, 0xa5, size);
    close(go[1]);
    code = exit_code(pid);
    ok(code == 0, "32 MiB rewritten by the parent: the child's copy is unchanged", "exit code %d", code);
    ok(all_bytes(p, size, 0xa5), "the parent's rewrite of 32 MiB stuck", "lost a write");
    munmap(p, size);
}

/* ---- many children, grandchildren ------------------------------------------ */

static void test_sequential(void)
{
    int bad = -1, got = 0;
    pid_t me = getpid();
    for (int i = 0; i < 50 && bad < 0; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(getppid() == me ? 100 + i : 1);
        got = pid > 0 && pid != me ? exit_code(pid) : -2;
        if (got != 100 + i)
            bad = i;
    }
    ok(bad < 0, "50 sequential children, each exit code seen", "child %d: exit code %d", bad, got);
}

/* Forks a chain `depth` processes deep; each adds one to the exit code of the
 * process below it, the last exits 10, so the top sees 10 + depth. A process
 * whose getppid() is not the process that forked it exits 200. */
static int chain(int depth)
{
    if (depth == 0)
        return 10;
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == 0)
        _exit(getppid() != me ? 200 : chain(depth - 1));
    if (pid < 0)
        return 201;
    int code = exit_code(pid);
    return code < 0 || code >= 200 ? (code < 0 ? 202 : code) : code + 1;
}

static void test_grandchildren(void)
{
    int code = chain(1);
    ok(code == 11, "a child's exit code reaches its parent", "%d", code);
    code = chain(2);
    ok(code == 12, "a grandchild's exit code propagates through its parent", "%d", code);
    code = chain(6);
    ok(code == 16, "a chain of 6 generations propagates exit codes", "%d (200+: error)", code);
}

/* ---- the kernel writing into a copy-on-write page ---------------------------- */

/*
 * `buf` (two pages, filled with seed 5 and shared COW after fork) receives 4000
 * bytes of 'R' at offset PAGE - 2000 through read() from a pipe, crossing the
 * page boundary. `reader_is_child` picks the side that reads; the other side
 * must still see seed 5 everywhere.
 */
static void cow_read(unsigned char *buf, bool reader_is_child, const char *what)
{
    enum { LEN = 4000, AT = PAGE - 2000 };
    static unsigned char src[LEN];
    memset(src, 'R', LEN);
    fill(buf, 2 * PAGE, 5);
    int data[2], done[2];
    char name[160];
    if (pipe(data) != 0 || pipe(done) != 0 || write(data[1], src, LEN) != LEN) {
        snprintf(name, sizeof name, "%s: set up a pipe holding 4000 bytes", what);
        ok(false, name, "errno %d", errno);
        return;
    }

    pid_t pid = fork();
    if (pid == 0) {
        int code;
        if (reader_is_child) {
            ssize_t n = read(data[0], buf + AT, LEN);
            code = n != LEN ? 1 : !all_bytes(buf + AT, LEN, 'R') ? 2
                 : !holds(buf, AT, 5) || buf[AT + LEN] != pattern(AT + LEN, 5) ? 3 : 0;
            tell(done[1]);
        } else {
            code = hear(done[0]) && holds(buf, 2 * PAGE, 5) ? 0 : 4;
        }
        _exit(code);
    }
    if (reader_is_child) {
        int code = exit_code(pid);
        snprintf(name, sizeof name, "%s: the child read() into its COW copy", what);
        ok(code == 0, name, "exit code %d (1 short read, 2 data, 3 neighbours)", code);
        snprintf(name, sizeof name, "%s: the parent's copy kept the old bytes", what);
        ok(holds(buf, 2 * PAGE, 5), name, "the kernel's write reached the parent");
    } else {
        ssize_t n = read(data[0], buf + AT, LEN);
        snprintf(name, sizeof name, "%s: the parent read() into its COW copy", what);
        ok(n == LEN && all_bytes(buf + AT, LEN, 'R') && holds(buf, AT, 5), name, "read %zd", n);
        tell(done[1]);
        int code = exit_code(pid);
        snprintf(name, sizeof name, "%s: the child's copy kept the old bytes", what);
        ok(code == 0, name, "exit code %d", code);
    }
    close(data[0]); close(data[1]); close(done[0]); close(done[1]);
}

static unsigned char cow_global[2 * PAGE] __attribute__((aligned(4096)));

static void test_kernel_writes_cow(void)
{
    unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(m != MAP_FAILED, "map 2 pages for read() into COW", "errno %d", errno))
        return;
    cow_read(m, false, "mmap");
    cow_read(m, true, "mmap");
    cow_read(cow_global, false, ".bss");
    cow_read(cow_global, true, ".bss");
    munmap(m, 2 * PAGE);
}

/* ---- MAP_SHARED ---------------------------------------------------------------- */

static void test_shared(void)
{
    /* Pages 0 and 1 are touched before fork, 2 and 3 are not: a shared page
     * first faulted in after fork must still be the same page for both. */
    unsigned char *s = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int down[2], up[2];
    if (!ok(s != MAP_FAILED && pipe(down) == 0 && pipe(up) == 0, "shared anonymous mmap and pipes",
            "errno %d", errno))
        return;
    memset(s, 0x11, 2 * PAGE);
    pid_t pid = fork();
    if (pid == 0) {
        memset(s, 0xc0, PAGE);
        memset(s + 2 * PAGE, 0xc2, PAGE);
        tell(up[1]);
        if (!hear(down[0]))
            _exit(1);
        _exit(all_bytes(s + PAGE, PAGE, 0x91) ? all_bytes(s + 3 * PAGE, PAGE, 0x93) ? 0 : 3 : 2);
    }
    ok(hear(up[0]), "the child wrote the shared pages", "no word from the child");
    ok(all_bytes(s, PAGE, 0xc0), "MAP_SHARED: the parent sees the child's write", "old bytes");
    ok(all_bytes(s + 2 * PAGE, PAGE, 0xc2),
       "MAP_SHARED: a page first touched after fork is shared too (child to parent)", "not seen");
    memset(s + PAGE, 0x91, PAGE);
    memset(s + 3 * PAGE, 0x93, PAGE);
    tell(down[1]);
    int code = exit_code(pid);
    ok(code == 0, "MAP_SHARED: the child sees the parent's writes", "exit code %d (2: page touched "
       "before fork, 3: page first touched after fork)", code);
    ok(all_bytes(s, PAGE, 0xc0) && all_bytes(s + 2 * PAGE, PAGE, 0xc2),
       "MAP_SHARED: the child's writes outlive the child", "lost");
    close(down[0]); close(down[1]); close(up[0]); close(up[1]);
    munmap(s, 4 * PAGE);
}

/* ---- vfork, getpid/getppid ------------------------------------------------------ */

static void test_vfork(void)
{
    pid_t pid = vfork();
    if (pid == 0)
        _exit(33);
    ok(pid > 0, "vfork", "errno %d", errno);
    int code = exit_code(pid);
    ok(code == 33, "a vfork child's _exit code reaches the parent", "%d", code);
}

static void test_ids(void)
{
    int p[2];
    if (!ok(pipe(p) == 0, "pipe", "errno %d", errno))
        return;
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        pid_t mine = getpid();
        int code = write(p[1], &mine, sizeof mine) != sizeof mine ? 1 : getppid() != me ? 2 : 0;
        _exit(code);
    }
    pid_t reported = 0;
    ssize_t n = read(p[0], &reported, sizeof reported);
    int code = exit_code(pid);
    ok(code != 2, "getppid() in the child is the parent's pid", "exit code %d", code);
    ok(n == sizeof reported && reported == pid, "fork returns the child's getpid() to the parent",
       "fork gave %d, the child says %d", pid, reported);
    ok(pid != me && getpid() == me, "the child has a new pid; the parent keeps its own",
       "parent %d child %d", me, pid);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    test_private_copies();
    test_zero_page();
    test_big();
    test_sequential();
    test_grandchildren();
    test_kernel_writes_cow();
    test_shared();
    test_vfork();
    test_ids();
    return ktest_done();
}
