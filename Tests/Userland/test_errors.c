/*
 * test_errors: the system-call conventions (docs/ARCHITECTURE.md, "A system call").
 *
 * The kernel returns -errno in rax (libc turns that into -1 and errno); an
 * unknown number is ENOSYS; bad descriptors, missing files, bad user pointers
 * and short buffers fail with Linux's errno; and the `syscall` instruction
 * preserves every register but rax, rcx and r11, including the vector state.
 */
#include "keel.h"
#include "ktest.h"

#include <fcntl.h>
#include <fenv.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/*
 * Issues system call `nr` with rbx, rdx, rsi, rdi, r8, r9, r10 and r12-r15
 * holding known values and returns which of them changed (0: none, else the
 * register's position in the list below, counting from 1); the raw rax result
 * goes to *result.
 */
static long syscall_changed_register(long nr, long *result)
{
    long bad, ret;
    __asm__ volatile(
        "movabs $0x1111111111111111, %%rbx\n\t"
        "movabs $0x2222222222222222, %%rdx\n\t"
        "movabs $0x3333333333333333, %%rsi\n\t"
        "movabs $0x4444444444444444, %%rdi\n\t"
        "movabs $0x5555555555555555, %%r8\n\t"
        "movabs $0x6666666666666666, %%r9\n\t"
        "movabs $0x7777777777777777, %%r10\n\t"
        "movabs $0x8888888888888888, %%r12\n\t"
        "movabs $0x9999999999999999, %%r13\n\t"
        "movabs $0xaaaaaaaaaaaaaaaa, %%r14\n\t"
        "movabs $0xbbbbbbbbbbbbbbbb, %%r15\n\t"
        "syscall\n\t"
        "mov %%rax, %%rcx\n\t"
#define CHECK(n, value, reg) \
        "mov $" #n ", %%eax\n\t" \
        "movabs $" #value ", %%r11\n\t" \
        "cmp %%r11, %%" #reg "\n\t" \
        "jne 1f\n\t"
        CHECK(1, 0x1111111111111111, rbx)
        CHECK(2, 0x2222222222222222, rdx)
        CHECK(3, 0x3333333333333333, rsi)
        CHECK(4, 0x4444444444444444, rdi)
        CHECK(5, 0x5555555555555555, r8)
        CHECK(6, 0x6666666666666666, r9)
        CHECK(7, 0x7777777777777777, r10)
        CHECK(8, 0x8888888888888888, r12)
        CHECK(9, 0x9999999999999999, r13)
        CHECK(10, 0xaaaaaaaaaaaaaaaa, r14)
        CHECK(11, 0xbbbbbbbbbbbbbbbb, r15)
#undef CHECK
        "xor %%eax, %%eax\n\t"
        "1:\n\t"
        : "=a"(bad), "=c"(ret)
        : "a"(nr)
        : "rbx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
          "memory", "cc");
    *result = ret;
    return bad;
}

/* Issues system call `nr` with xmm0-xmm15 loaded from `in`; stores them to `out`. */
static long syscall_with_xmm(long nr, const unsigned char in[256], unsigned char out[256])
{
    __asm__ volatile(
#define LOAD(n) "movdqu " #n "*16(%[in]), %%xmm" #n "\n\t"
#define STORE(n) "movdqu %%xmm" #n ", " #n "*16(%[out])\n\t"
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
        LOAD(8) LOAD(9) LOAD(10) LOAD(11) LOAD(12) LOAD(13) LOAD(14) LOAD(15)
        "syscall\n\t"
        STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
        STORE(8) STORE(9) STORE(10) STORE(11) STORE(12) STORE(13) STORE(14) STORE(15)
#undef LOAD
#undef STORE
        : "+a"(nr)
        : [in] "r"(in), [out] "r"(out)
        : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    return nr;
}

static void test_abi(void)
{
    long raw;
    long bad = syscall_changed_register(SYS_getpid, &raw);
    ok(bad == 0, "getpid preserves every register but rax, rcx, r11", "register #%ld changed", bad);
    ok(raw == getpid(), "raw getpid result in rax", "rax %ld, getpid %d", raw, getpid());
    bad = syscall_changed_register(999, &raw);
    ok(bad == 0, "an unknown call preserves the registers too", "register #%ld changed", bad);
    ok(raw == -ENOSYS, "unknown call: rax = -ENOSYS", "rax %ld", raw);

    unsigned char in[256], out[256];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)(i * 7 + 3);
    raw = syscall_with_xmm(SYS_getpid, in, out);
    ok(raw == getpid() && memcmp(in, out, sizeof in) == 0, "getpid preserves xmm0-xmm15",
       "vector registers changed");
}

static void test_enosys(void)
{
    long r = syscall(999);
    ok_errno(r, ENOSYS, "syscall 999: ENOSYS");
    r = syscall(100000);
    ok_errno(r, ENOSYS, "syscall 100000: ENOSYS");
    if (on_keel()) {
        skip("Keel-only calls fail ENOSYS on Linux", "on Keel; the scheduling tests use them");
    } else {
        int w = sched_getweight(0);
        ok_errno(w, ENOSYS, "sched_getweight on Linux: ENOSYS");
        w = sched_setweight(0, 5);
        ok_errno(w, ENOSYS, "sched_setweight on Linux: ENOSYS");
    }
}

static void test_files(void)
{
    int fd = open("/no/such/file", O_RDONLY);
    ok_errno(fd, ENOENT, "open of a missing file: ENOENT");
    fd = open("", O_RDONLY);
    ok_errno(fd, ENOENT, "open of the empty path: ENOENT");
    fd = open((const char *)1, O_RDONLY);
    ok_errno(fd, EFAULT, "open of a bad path pointer: EFAULT");

    char c;
    ssize_t n = read(999, &c, 1);
    ok_errno(n, EBADF, "read on an unused fd: EBADF");
    n = read(-1, &c, 1);
    ok_errno(n, EBADF, "read on fd -1: EBADF");
    n = write(999, "x", 1);
    ok_errno(n, EBADF, "write on an unused fd: EBADF");
    int rc = close(-1);
    ok_errno(rc, EBADF, "close(-1): EBADF");

    fd = open("/proc/self/maps", O_RDONLY);
    ok(fd >= 0 && close(fd) == 0, "open and close /proc/self/maps", "fd %d errno %d", fd, errno);
    rc = close(fd);
    ok_errno(rc, EBADF, "closing it again: EBADF");
    n = write(1, (void *)1, 10); /* stdout must not be /dev/null, which reads nothing */
    ok_errno(n, EFAULT, "write from a bad pointer: EFAULT");
}

static void test_getcwd(void)
{
    char small[1];
    long r = syscall(SYS_getcwd, small, sizeof small);
    ok_errno(r, ERANGE, "getcwd system call with size 1: ERANGE");
    char *p = getcwd(small, sizeof small);
    ok(p == NULL && errno == ERANGE, "getcwd(buf, 1): ERANGE", "returned %p errno %d", (void *)p, errno);
    r = syscall(SYS_getcwd, (void *)1, 4096);
    ok_errno(r, EFAULT, "getcwd into a bad pointer: EFAULT");
    char buf[4096];
    r = syscall(SYS_getcwd, buf, sizeof buf);
    ok(r > 0 && buf[0] == '/' && (size_t)r == strlen(buf) + 1,
       "getcwd system call returns the length with the NUL", "returned %ld for \"%s\"", r, buf);
}

static void test_uname(void)
{
    struct utsname u;
    if (!ok(uname(&u) == 0, "uname", "errno %d", errno))
        return;
    ok(strcmp(u.sysname, "Linux") == 0 || strcmp(u.sysname, "Keel") == 0, "uname sysname",
       "\"%s\"", u.sysname);
    ok(strcmp(u.machine, "x86_64") == 0, "uname machine is x86_64", "\"%s\"", u.machine);
    ok(u.release[0] != '\0' && u.version[0] != '\0', "uname release and version are set",
       "release \"%s\" version \"%s\"", u.release, u.version);
    note("uname: %s %s %s %s %s", u.sysname, u.nodename, u.release, u.version, u.machine);
    long r = syscall(SYS_uname, (void *)1);
    ok_errno(r, EFAULT, "uname into a bad pointer: EFAULT");
    ok(getpid() > 0 && getpid() == getpid(), "getpid is positive and stable", "%d", getpid());
}

/* The FPU state survives being switched out: a child computes with a different
 * rounding mode while this process sleeps and yields, and afterwards this
 * process's MXCSR rounding mode and x87 results are still its own. */
static void test_fpu_across_switches(void)
{
    pid_t child = fork();
    if (child == 0) {
        fesetround(FE_UPWARD);
        volatile double x = 1.0;
        volatile long double y = 1.0L;
        for (;;) {
            x = x * 1.0000001 + 1e-9;
            y = y * 1.0000001L + 1e-9L;
        }
    }
    fesetround(FE_TOWARDZERO);
    volatile double a = 1.0, b = 3.0;
    double third = a / b;
    volatile long double big = 1.0L;
    for (int i = 0; i < 50; i++) {
        struct timespec t = { 0, 2000000 };
        nanosleep(&t, NULL);
        sched_yield();
        big = big * 1.5L;
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ok(fegetround() == FE_TOWARDZERO, "MXCSR rounding mode survives sleeps and switches", "mode %d", fegetround());
    ok(a / b == third, "SSE results unchanged after switches", "%a vs %a", a / b, third);
    long double want = 1.0L;
    for (int i = 0; i < 50; i++) want = want * 1.5L;
    ok(big == want, "x87 (long double) state survives switches", "%Lg vs %Lg", (long double)big, want);
    fesetround(FE_TONEAREST);
}

/* Two calls glibc-built programs make: time() and prctl(PR_SET_NAME). */
static void test_time_and_name(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long stored = 0;
    long t = syscall(SYS_time, &stored);
    ok(t >= now.tv_sec && t <= now.tv_sec + 2 && stored == t, "time() agrees with CLOCK_REALTIME",
       "time %ld stored %ld realtime %ld", t, stored, (long)now.tv_sec);
    char name[16] = { 0 };
    ok(prctl(PR_SET_NAME, "renamed-task", 0, 0, 0) == 0 && prctl(PR_GET_NAME, name, 0, 0, 0) == 0 &&
           strcmp(name, "renamed-task") == 0,
       "prctl PR_SET_NAME / PR_GET_NAME round trip", "got \"%s\"", name);
    ok_errno(prctl(0x7fff, 0, 0, 0, 0), EINVAL, "prctl with an unknown option: EINVAL");
}

int main(void)
{
    test_fpu_across_switches();
    test_time_and_name();
    test_abi();
    test_enosys();
    test_files();
    test_getcwd();
    test_uname();
    return ktest_done();
}
