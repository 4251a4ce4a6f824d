/*
 * test_hostile: what a hostile or careless program may do to the kernel, and
 * what Linux answers. Each check is an attack that once worked on Keel (kernel
 * memory written from ring 3, a one-call panic, a lost wake-up, a signal that
 * killed init) or a corner of Linux's semantics Keel got wrong. The kernel must
 * refuse or survive every one, with Linux's result:
 *   - user pointers the kernel stores and uses later (set_tid_address,
 *     CLONE_CHILD_SETTID, CLONE_PARENT_SETTID) may name kernel memory: refused,
 *     the kernel keeps running;
 *   - a TLS base outside user space (CLONE_SETTLS): EPERM, as arch_prctl gives;
 *   - buffers that run into an unmapped page: a short count, never EFAULT after
 *     some bytes moved, never a crash (pipe write, writev, getrandom with SIZE_MAX);
 *   - futex and gettimeofday on bad pointers: EFAULT; waitpid(INT_MIN): ESRCH;
 *   - wait4 from a thread that is not the group leader is woken by a child's exit;
 *   - vfork: the child runs in the parent's memory while the parent waits;
 *   - mmap of a file at offset 2^64 - 4096: EOVERFLOW; a futex in a file
 *     mapping at offset 2^50: 0 or EFAULT;
 *   - the user's MXCSR is the user's: the kernel's own floating point leaves it alone,
 *     and two processes switching on one CPU keep their own x87, MXCSR and XMM state;
 *   - execve with 2.7 MB of arguments: E2BIG, the caller carries on;
 *   - on Keel only (it would harm the host): kill(1, ...) from another process
 *     leaves init (this program) running, and a fork bomb ends in EAGAIN/ENOMEM
 *     with the system going on.
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "ktime.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
/* <linux/futex.h> is not in musl's headers: Linux's numbers. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

/* A kernel address that exists on this platform: Keel's image (README "Memory
 * layout") or Linux's text mapping. */
static uintptr_t kernel_address(void)
{
    return on_keel() ? 0x7f8000100000UL : 0xffffffff81000000UL;
}

/* The kernel still works: a fork, an exit and a wait come back right. */
static bool kernel_alive(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(42);
    int status = -1;
    return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 42;
}

/* Two pages, the second unmapped: a buffer at its end runs into the hole. */
static unsigned char *page_before_hole(void)
{
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    munmap(p + PAGE, PAGE);
    memset(p, 'x', PAGE);
    return p;
}

static void test_stored_user_pointers(void)
{
    uintptr_t k = kernel_address();
    pid_t child = fork();
    if (child == 0) {
        syscall(SYS_set_tid_address, k);
        _exit(0);                       /* the kernel would clear the word at k here */
    }
    int status = -1;
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "set_tid_address(kernel address), then exit",
       "status %#x", status);
    ok(kernel_alive(), "the kernel is intact after it", "fork/exit/wait failed");

    long pid = syscall(SYS_clone, CLONE_CHILD_SETTID | SIGCHLD, 0, 0, k, 0);
    if (pid == 0)
        _exit(0);
    ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status),
       "clone(CLONE_CHILD_SETTID, ctid = kernel address) runs the child", "pid %ld errno %d", pid, errno);
    pid = syscall(SYS_clone, CLONE_PARENT_SETTID | SIGCHLD, 0, k, 0, 0);
    if (pid == 0)
        _exit(0);
    ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status),
       "clone(CLONE_PARENT_SETTID, ptid = kernel address): the failed store is ignored", "pid %ld errno %d",
       pid, errno);
    ok(kernel_alive(), "the kernel is intact after both", "fork/exit/wait failed");

    pid = syscall(SYS_clone, CLONE_SETTLS | SIGCHLD, 0, 0, 0, 0x800000000000UL);
    if (pid == 0)
        _exit(0);
    ok_errno(pid, EPERM, "clone(CLONE_SETTLS) with a non-canonical TLS: EPERM");
}

static void test_short_counts(void)
{
    unsigned char *p = page_before_hole();
    if (!ok(p != NULL, "a page before a hole", "errno %d", errno))
        return;
    int fds[2];
    if (pipe(fds) != 0)
        return;
    /* Linux copies a pipe write a page at a time and reports the pages that
     * made it; this buffer's first page is whole, so both kernels agree on 4096. */
    unsigned char *q = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(q + 2 * PAGE, PAGE);
    memset(q, 'y', 2 * PAGE);
    ssize_t n = write(fds[1], q + PAGE, 3 * PAGE);
    ok(n == (ssize_t)PAGE, "pipe write running into an unmapped page: the short count 4096", "returned %zd errno %d",
       n, errno);
    static char sink[2 * PAGE];
    ok(read(fds[0], sink, sizeof sink) == (ssize_t)PAGE, "and exactly those bytes are in the pipe", "wrong count");
    munmap(q, 2 * PAGE);
    n = write(fds[1], p + PAGE, 10);
    ok_errno(n, EFAULT, "pipe write from the unmapped page itself: EFAULT");

    close(fds[0]);
    close(fds[1]);
    if (pipe(fds) != 0)
        return;
    struct iovec iov[2] = { { p, PAGE }, { p + PAGE, 64 } };
    n = writev(fds[1], iov, 2);
    ok(n == (ssize_t)PAGE, "writev whose second piece is unmapped: the first piece's 4096", "returned %zd errno %d",
       n, errno);
    close(fds[0]);
    close(fds[1]);

    /* Low in memory, so that the 2 GiB getrandom is cut to (INT_MAX) lies in
     * user space on both kernels (Keel's ends at 0x7f0000000000). */
    unsigned char *low = mmap((void *)0x200000000UL, PAGE, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    n = syscall(SYS_getrandom, low, (size_t)-1, 0);
    ok(n == (ssize_t)PAGE, "getrandom(buf, SIZE_MAX) into one mapped page: 4096", "returned %zd errno %d", n, errno);
    munmap(low, PAGE);
    n = syscall(SYS_getrandom, p + PAGE - 10, 100, 0);
    ok(n == 10, "getrandom running into an unmapped page: the short count 10", "returned %zd errno %d", n, errno);
    munmap(p, PAGE);
}

static void test_bad_pointers(void)
{
    uintptr_t k = kernel_address();
    long rc = syscall(SYS_futex, k, FUTEX_WAKE, 1, 0, 0, 0);
    ok_errno(rc, EFAULT, "futex(kernel address, FUTEX_WAKE): EFAULT");
    rc = syscall(SYS_futex, k, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
    ok_errno(rc, EFAULT, "futex(kernel address, FUTEX_WAIT): EFAULT");
    rc = syscall(SYS_futex, 0x1001, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
    ok_errno(rc, EINVAL, "futex on a misaligned word: EINVAL");
    rc = syscall(SYS_gettimeofday, 1, 0);
    ok_errno(rc, EFAULT, "gettimeofday(bad pointer): EFAULT");
    rc = syscall(SYS_gettimeofday, 0, k);
    ok_errno(rc, EFAULT, "gettimeofday(NULL, kernel address): EFAULT");
    rc = syscall(SYS_wait4, INT_MIN, 0, 0, 0);
    ok_errno(rc, ESRCH, "waitpid(INT_MIN): ESRCH");
}

static pid_t waited_child;
static pid_t waited_result;
static void *waiter(void *arg)
{
    (void)arg;
    int status;
    waited_result = waitpid(waited_child, &status, 0);
    return NULL;
}

static void test_wait_from_thread(void)
{
    waited_child = fork();
    if (waited_child == 0) {
        sleep_ms(100);
        _exit(0);
    }
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    int rc = pthread_timedjoin_np(thread, NULL, &deadline);
    ok(rc == 0 && waited_result == waited_child, "wait4 in a thread that is not the leader is woken by the exit",
       "join %d, waitpid returned %d", rc, (int)waited_result);
}

static volatile int borrowed;

static void test_vfork(void)
{
    borrowed = 1;
    pid_t child = vfork();
    if (child == 0) {
        sleep_ms(100);                  /* the parent must still be waiting... */
        borrowed = 2;                   /* ...and see this store: the same memory */
        _exit(0);
    }
    ok(borrowed == 2, "vfork: the parent waits for the child and sees its store", "borrowed %d", borrowed);
    int status = -1;
    ok(waitpid(child, &status, 0) == child && WIFEXITED(status), "the vfork child is reaped", "status %#x", status);
}

/* A futex in a file mapping at a far offset (2^50), and mmap at 2^64 - 4096,
 * past any off_t: EOVERFLOW, as Linux's file_mmap_ok() says (Keel used to map it). */
static void test_futex_far_offset(const char *self)
{
    int fd = open(self, O_RDONLY);
    unsigned long offsets[] = { 1UL << 50, ~0UL << 12 };
    for (int i = 0; i < 2; i++) {
        long r = fd < 0 ? -1 : syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_SHARED, fd, offsets[i]);
        if (i == 1) {
            ok(r == -1 && errno == EOVERFLOW, "mmap of a file at offset 2^64 - 4096 fails EOVERFLOW",
               "returned %#lx, errno %d", (unsigned long)r, errno);
            if (r != -1)
                munmap((void *)r, 4096);
            continue;
        }
        if (r == -1) {
            ok(0, "map a file at offset 2^50", "errno %d", errno);
            continue;
        }
        errno = 0;
        long woke = syscall(SYS_futex, (void *)r, 1 /* FUTEX_WAKE, shared */, 1, NULL, NULL, 0);
        ok(woke == 0 || (woke == -1 && errno == EFAULT),
           "FUTEX_WAKE on a shared file mapping at a far offset: 0 or EFAULT, and the caller lives on",
           "offset %#lx: returned %ld, errno %d", offsets[i], woke, errno);
        munmap((void *)r, 4096);
    }
    if (fd >= 0)
        close(fd);
}

static void test_mxcsr(void)
{
    unsigned want = 0x0000, got;        /* every SIMD exception unmasked */
    __asm__ volatile("ldmxcsr %0" ::"m"(want));
    for (int i = 0; i < 50; i++) {
        pid_t child = fork();
        if (child == 0)
            _exit(0);
        waitpid(child, NULL, 0);
    }
    sleep_ms(20);
    __asm__ volatile("stmxcsr %0" : "=m"(got));
    unsigned normal = 0x1f80;
    __asm__ volatile("ldmxcsr %0" ::"m"(normal));
    ok(got == want, "MXCSR (all exceptions unmasked) survives 50 forks and a sleep untouched", "MXCSR %#x", got);
}

/* Sets this process's FPU state to `seed`'s, then checks it `rounds` times
 * around a pipe ping-pong with a process holding another: every switch between
 * them must save and load x87, MXCSR and XMM. Returns the first bad round, or 0. */
static int fpu_ping_pong(int in, int out, unsigned seed, int rounds, bool starts)
{
    unsigned mxcsr = seed & 1 ? 0x9fc0 : 0x3f80, got;
    unsigned short fcw = seed & 1 ? 0x007f : 0x0e7f, got_fcw;
    unsigned long long x = 0x0101010101010101ULL * seed, got_x;
    __asm__ volatile("ldmxcsr %0\n\tfldcw %1\n\tmovq %2, %%xmm7" ::"m"(mxcsr), "m"(fcw), "r"(x) : "xmm7");
    char c = 'x';
    for (int i = 1; i <= rounds; i++) {
        if ((starts && write(out, &c, 1) != 1) || read(in, &c, 1) != 1 || (!starts && write(out, &c, 1) != 1))
            return -i;
        __asm__ volatile("stmxcsr %0\n\tfnstcw %1\n\tmovq %%xmm7, %2" : "=m"(got), "=m"(got_fcw), "=r"(got_x));
        if (got != mxcsr || got_fcw != fcw || got_x != x)
            return i;
    }
    unsigned normal = 0x1f80;
    unsigned short normal_fcw = 0x037f;
    __asm__ volatile("ldmxcsr %0\n\tfldcw %1" ::"m"(normal), "m"(normal_fcw));
    return 0;
}

static void test_fpu_between_processes(void)
{
    int to_child[2], to_parent[2];
    if (pipe(to_child) != 0 || pipe(to_parent) != 0)
        return;
    pid_t child = fork();
    if (child == 0)
        _exit(fpu_ping_pong(to_child[0], to_parent[1], 0x5a, 300, false) == 0 ? 0 : 1);
    int bad = fpu_ping_pong(to_parent[0], to_child[1], 0xa5, 300, true);
    int status = -1;
    waitpid(child, &status, 0);
    ok(bad == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "two processes ping-ponging 300 times each keep their own x87 control word, MXCSR and XMM7",
       "parent's first bad round %d, child status %#x", bad, status);
    close(to_child[0]); close(to_child[1]); close(to_parent[0]); close(to_parent[1]);
}

static void test_huge_argv(const char *self)
{
    /* Linux's limit is a quarter of the stack limit: pin it to 8 MiB's 2 MiB. */
    struct rlimit stack = { 8 << 20, 8 << 20 };
    setrlimit(RLIMIT_STACK, &stack);
    enum { N = 300000 };
    char **argv = calloc(N + 1, sizeof *argv);
    if (!argv)
        return;
    argv[0] = (char *)self;
    for (int i = 1; i < N; i++)
        argv[i] = "";
    pid_t child = fork();
    if (child == 0) {
        execv(self, argv);
        _exit(errno == E2BIG ? 7 : 8);
    }
    int status = -1;
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 7, "execve with 300,000 arguments (2.7 MB): E2BIG",
       "status %#x", status);
    free(argv);
}

static void test_init_is_unkillable(void)
{
    if (!on_keel()) {
        skip("kill(1, SIGKILL) from a child leaves init running", "this program is not init on Linux");
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        kill(1, SIGKILL);
        kill(1, SIGTERM);
        _exit(0);
    }
    int status = -1;
    waitpid(child, &status, 0);
    sleep_ms(20);
    ok(getpid() == 1 && WIFEXITED(status), "kill(1, SIGKILL) and kill(1, SIGTERM) from a child leave init running",
       "status %#x", status);
}

static void test_fork_bomb(void)
{
    if (!on_keel()) {
        skip("a fork bomb ends in EAGAIN or ENOMEM", "root ignores RLIMIT_NPROC: the host would suffer");
        return;
    }
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return;
    pid_t bomber = fork();
    if (bomber == 0) {
        int made = 0, why = 0;
        for (; made < 100000; made++) {
            pid_t p = fork();
            if (p == 0) {
                char c;
                close(pipefd[1]);
                (void)read(pipefd[0], &c, 1);   /* wait until the bomber closes the pipe */
                _exit(0);
            }
            if (p < 0) {
                why = errno;
                break;
            }
        }
        close(pipefd[1]);
        while (wait(NULL) > 0) {
        }
        _exit(why == EAGAIN || why == ENOMEM ? 0 : 1);
    }
    close(pipefd[0]);
    close(pipefd[1]);
    int status = -1;
    waitpid(bomber, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a fork bomb ends in EAGAIN or ENOMEM", "status %#x", status);
    ok(kernel_alive(), "and the system goes on", "fork/exit/wait failed");
}

int main(int argc, char **argv)
{
    (void)argc;
    test_stored_user_pointers();
    test_short_counts();
    test_bad_pointers();
    test_wait_from_thread();
    test_vfork();
    test_futex_far_offset(argv[0]);
    test_mxcsr();
    test_fpu_between_processes();
    test_huge_argv(argv[0]);
    test_init_is_unkillable();
    test_fork_bomb();
    return ktest_done();
}
