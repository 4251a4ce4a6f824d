/*
 * test_glibc_calls: the system calls Debian's own glibc programs (dash,
 * coreutils, stress-ng) make that Keel's other tests do not: sigaltstack and
 * SA_ONSTACK (stress-ng catches its stack overflows there), alarm, sysinfo,
 * getcpu, mlock/munlock, capget/capset, prctl's parent-death signal and
 * no_new_privs, vhangup, fadvise64, and /sys/devices/system/cpu, where
 * programs count CPUs. Each as Linux does it: the same binary runs on the host.
 */
#include "ktest.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* <linux/capability.h>, which musl-gcc's headers lack. */
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
struct __user_cap_header_struct { uint32_t version; int pid; };
struct __user_cap_data_struct { uint32_t effective, permitted, inheritable; };

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

/* ---- sigaltstack ---- */

static char *alt_base;
static size_t alt_size = 64 * 1024;
static volatile uintptr_t handler_sp;
static volatile int handler_flags;
static volatile int handler_change_errno;
static volatile bool handler_tries_change;

static void on_usr1(int sig)
{
    (void)sig;
    int local;
    handler_sp = (uintptr_t)&local;
    stack_t now;
    sigaltstack(NULL, &now);
    handler_flags = now.ss_flags;
    if (handler_tries_change) {
        stack_t other = { .ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0 };
        handler_change_errno = sigaltstack(&other, NULL) == 0 ? 0 : errno;
    }
}

static bool on_alt(uintptr_t sp) { return sp > (uintptr_t)alt_base && sp <= (uintptr_t)alt_base + alt_size; }

static void test_sigaltstack(void)
{
    alt_base = malloc(alt_size);
    stack_t old;
    ok(sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE, "no alternate stack at first",
       "flags %d", old.ss_flags);
    stack_t small = { .ss_sp = alt_base, .ss_size = MINSIGSTKSZ - 1, .ss_flags = 0 };
    ok_errno(sigaltstack(&small, NULL), ENOMEM, "a stack under MINSIGSTKSZ: ENOMEM");
    stack_t bad = { .ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 4 };
    ok_errno(sigaltstack(&bad, NULL), EINVAL, "unknown ss_flags: EINVAL");
    stack_t ss = { .ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0 };
    ok(sigaltstack(&ss, &old) == 0 && old.ss_flags == SS_DISABLE, "install one", "errno %d", errno);
    ok(sigaltstack(NULL, &old) == 0 && old.ss_sp == alt_base && old.ss_size == alt_size && old.ss_flags == 0,
       "it reads back, not in use", "sp %p size %zu flags %d", old.ss_sp, old.ss_size, old.ss_flags);

    struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    handler_tries_change = true;
    raise(SIGUSR1);
    handler_tries_change = false;
    ok(on_alt(handler_sp), "an SA_ONSTACK handler runs on it", "handler sp %#lx, stack %p+%zu",
       (unsigned long)handler_sp, alt_base, alt_size);
    ok(handler_flags == SS_ONSTACK, "inside, it reports SS_ONSTACK", "flags %d", handler_flags);
    ok(handler_change_errno == EPERM, "inside, it cannot be changed: EPERM", "errno %d", handler_change_errno);

    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    ok(!on_alt(handler_sp), "a handler without SA_ONSTACK stays on the thread's stack", "sp %#lx",
       (unsigned long)handler_sp);

    /* SS_AUTODISARM: disarmed while the handler runs, back after it returns. */
    ss.ss_flags = SS_AUTODISARM;
    ok(sigaltstack(&ss, NULL) == 0, "install with SS_AUTODISARM", "errno %d", errno);
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    ok(on_alt(handler_sp) && handler_flags == SS_DISABLE, "SS_AUTODISARM: on it, and disarmed inside",
       "on it %d, flags %#x", on_alt(handler_sp), handler_flags);
    ok(sigaltstack(NULL, &old) == 0 && old.ss_flags == (int)SS_AUTODISARM && old.ss_sp == alt_base,
       "SS_AUTODISARM: rearmed by sigreturn", "flags %#x", old.ss_flags);

    /* fork keeps it. */
    pid_t pid = fork();
    if (pid == 0) {
        stack_t c;
        _exit(sigaltstack(NULL, &c) == 0 && c.ss_sp == alt_base ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child has the same stack", "status %#x", status);
    stack_t off = { .ss_flags = SS_DISABLE };
    ok(sigaltstack(&off, NULL) == 0 && sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE,
       "SS_DISABLE removes it", "flags %d", old.ss_flags);
}

/* A stack overflow's SIGSEGV can only be handled on an alternate stack. */
static sigjmp_buf overflow_jump;
static volatile uintptr_t overflow_handler_sp;

static void on_segv(int sig)
{
    (void)sig;
    int local;
    overflow_handler_sp = (uintptr_t)&local;
    siglongjmp(overflow_jump, 1);
}

static int recurse(volatile char *previous, long depth)
{
    volatile char frame[4096];
    frame[0] = previous ? previous[0] + 1 : 0;
    return depth == 0 ? 0 : recurse(frame, depth - 1) + frame[0];
}

static void test_stack_overflow(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        stack_t ss = { .ss_sp = malloc(alt_size), .ss_size = alt_size };
        alt_base = ss.ss_sp;
        sigaltstack(&ss, NULL);
        struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_ONSTACK | SA_NODEFER };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        for (int round = 0; round < 2; round++) {
            if (sigsetjmp(overflow_jump, 1) == 0) {
                recurse(NULL, 1L << 30);     /* far past RLIMIT_STACK */
                _exit(2);
            }
            if (!on_alt(overflow_handler_sp)) _exit(3);
        }
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a stack overflow's SIGSEGV is handled on the alternate stack, twice", "status %#x", status);
}

/* ---- alarm ---- */

static volatile int alarm_code;

static void on_alarm(int sig, siginfo_t *info, void *context)
{
    (void)sig; (void)context;
    alarm_code = info->si_code;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_alarm(void)
{
    ok(alarm(0) == 0, "alarm(0) with none armed returns 0", "no");
    ok(alarm(5) == 0, "alarm(5) returns 0", "no");
    unsigned left = alarm(7);
    ok(left == 5 || left == 4, "alarm(7) returns what was left of 5 s, rounded", "returned %u", left);
    pid_t pid = fork();
    if (pid == 0) _exit(alarm(0));
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child has no alarm", "status %#x", status);
    left = alarm(0);
    ok(left == 7 || left == 6, "alarm(0) cancels and returns the time left", "returned %u", left);

    struct sigaction sa = { .sa_sigaction = on_alarm, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    double start = now_seconds();
    alarm(1);
    while (alarm_code == 0 && now_seconds() - start < 5) {
        struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
        nanosleep(&tick, NULL);                      /* the signal ends it early */
    }
    double took = now_seconds() - start;
    ok(alarm_code == SI_KERNEL, "SIGALRM comes, from the kernel (SI_KERNEL)", "si_code %d", alarm_code);
    ok(took >= 0.9 && took < 3, "after about a second", "%.2f s", took);
    ok(alarm(0) == 0, "an alarm that fired is gone", "no");

    /* setitimer(ITIMER_REAL) with an interval: SIGALRM again and again. */
    struct itimerval every = { .it_interval = { 0, 200000 }, .it_value = { 0, 200000 } }, got;
    alarm_code = 0;
    ok(setitimer(ITIMER_REAL, &every, NULL) == 0, "setitimer ITIMER_REAL every 0.2 s", "errno %d", errno);
    ok(getitimer(ITIMER_REAL, &got) == 0 && got.it_interval.tv_usec == 200000 && got.it_value.tv_sec == 0 &&
       got.it_value.tv_usec > 0 && got.it_value.tv_usec <= 200000, "getitimer reads it back", "interval %ld value %ld",
       (long)got.it_interval.tv_usec, (long)got.it_value.tv_usec);
    int fired = 0;
    start = now_seconds();
    while (fired < 3 && now_seconds() - start < 5) {
        struct timespec tick = { .tv_nsec = 20 * 1000 * 1000 };
        nanosleep(&tick, NULL);
        if (alarm_code) { fired++; alarm_code = 0; }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    ok(setitimer(ITIMER_REAL, &off, &got) == 0 && got.it_interval.tv_usec == 200000, "setitimer returns the old timer",
       "errno %d", errno);
    ok(fired == 3, "the interval fires three times", "%d times in %.2f s", fired, now_seconds() - start);
    struct itimerval bad = { .it_value = { 0, 1000000 } };
    ok_errno(setitimer(ITIMER_REAL, &bad, NULL), EINVAL, "tv_usec of a million: EINVAL");
}

/* ---- sysinfo, getcpu, /sys/devices/system/cpu ---- */

static void test_sysinfo_getcpu(void)
{
    struct sysinfo si;
    memset(&si, 0xff, sizeof si);
    ok(sysinfo(&si) == 0, "sysinfo", "errno %d", errno);
    ok(si.mem_unit >= 1 && si.totalram > 0 && si.freeram <= si.totalram && si.freeram > 0,
       "memory totals", "unit %u total %lu free %lu", si.mem_unit, si.totalram, si.freeram);
    ok(si.uptime > 0 && si.procs >= 1, "uptime and tasks", "uptime %ld procs %u", si.uptime, si.procs);
    ok(si.totalswap == 0 || si.freeswap <= si.totalswap, "swap", "%lu of %lu", si.freeswap, si.totalswap);
    ok(si.loads[0] < (1000UL << 16), "a load average", "%lu", si.loads[0]);
    ok_errno(syscall(SYS_sysinfo, (void *)8), EFAULT, "sysinfo to a bad pointer: EFAULT");

    int fd = open("/sys/devices/system/cpu/online", O_RDONLY);
    char text[64] = "";
    ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
    if (fd >= 0) close(fd);
    int first = -1, last = -1;
    int fields = n > 0 ? sscanf(text, "%d-%d", &first, &last) : 0;
    if (fields == 1) last = first;
    ok(fields >= 1 && first == 0 && last >= 0, "/sys/devices/system/cpu/online lists the CPUs", "%s", text);
    unsigned cpu = 999, node = 999;
    ok(syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && (int)cpu <= last && node == 0, "getcpu: a CPU online, node 0",
       "cpu %u node %u, last online %d", cpu, node, last);
    ok(syscall(SYS_getcpu, NULL, NULL, NULL) == 0, "getcpu with NULL pointers", "errno %d", errno);
}

/* ---- mlock ---- */

static bool present(void *page)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    uint64_t entry = 0;
    bool read_ok = fd >= 0 && pread(fd, &entry, 8, (uintptr_t)page / 4096 * 8) == 8;
    if (fd >= 0) close(fd);
    return read_ok && (entry >> 63) & 1;
}

static void test_mlock(void)
{
    size_t len = 16 * 4096;
    char *p = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + len, 4096);
    ok(!present(p + 4096), "a new mapping's pages are not present", "no");
    ok(mlock(p + 100, len - 100) == 0, "mlock of an unaligned range", "errno %d", errno);
    bool all = true;
    for (size_t i = 0; i < len; i += 4096) all = all && present(p + i);
    ok(all, "mlock faults every page in", "no");
    ok(p[5 * 4096] == 0, "locked pages read as zeros", "no");
    ok_errno(mlock(p, len + 4096), ENOMEM, "mlock past the mapping: ENOMEM");
    ok(munlock(p, len) == 0, "munlock", "errno %d", errno);
    ok(mlock(p, 0) == 0 && munlock(p, 0) == 0, "a zero length is 0", "errno %d", errno);
    ok_errno(munlock(p + len, 4096), ENOMEM, "munlock of an unmapped page: ENOMEM");
    munmap(p, len);
}

/* ---- madvise (what stress-ng's vm and mmap stressors give) ---- */

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#define MADV_PAGEOUT 21
#endif
#define MADV_DONTNEED_LOCKED_ 24

static void test_madvise(void)
{
    size_t len = 8 * 4096;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ok(madvise(p, len, MADV_POPULATE_WRITE) == 0 && present(p) && present(p + len - 1),
       "MADV_POPULATE_WRITE faults the pages in", "errno %d", errno);
    p[0] = 42;
    ok(madvise(p, len, MADV_FREE) == 0, "MADV_FREE of private anonymous memory", "errno %d", errno);
    p[4096] = 7;
    ok(p[4096] == 7, "a page written after MADV_FREE keeps what was written", "%d", p[4096]);
    ok(madvise(p, len, MADV_COLD) == 0 && madvise(p, len, MADV_PAGEOUT) == 0 && madvise(p, len, MADV_WILLNEED) == 0,
       "reclaim and access hints", "errno %d", errno);
    ok(madvise(p, 4096, MADV_DONTFORK) == 0, "MADV_DONTFORK", "errno %d", errno);
    pid_t pid = fork();
    if (pid == 0) {
        /* The first page is not in the child: touching it is SIGSEGV. */
        signal(SIGSEGV, SIG_DFL);
        volatile char c = p[4096];
        (void)c;
        c = p[0];
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "the child has no MADV_DONTFORK page",
       "status %#x", status);
    ok(madvise(p, 4096, MADV_DOFORK) == 0, "MADV_DOFORK", "errno %d", errno);
    mlock(p, len);
    ok_errno(madvise(p, len, MADV_DONTNEED), EINVAL, "MADV_DONTNEED of locked pages: EINVAL");
    ok_errno(madvise(p, len, MADV_COLD), EINVAL, "MADV_COLD of locked pages: EINVAL");
    ok(madvise(p, len, MADV_DONTNEED_LOCKED_) == 0 && p[4096] == 0, "MADV_DONTNEED_LOCKED drops them", "errno %d",
       errno);
    munlock(p, len);
    ok_errno(madvise(p, len, 99), EINVAL, "unknown advice: EINVAL");
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ok_errno(madvise(ro, 4096, MADV_POPULATE_WRITE), EINVAL, "MADV_POPULATE_WRITE of read-only memory: EINVAL");
    ok(madvise(ro, 4096, MADV_POPULATE_READ) == 0 && present(ro), "MADV_POPULATE_READ of it", "errno %d", errno);
    munmap(ro, 4096);
    ok_errno(madvise(ro, 4096, MADV_POPULATE_READ), ENOMEM, "MADV_POPULATE_READ of an unmapped page: ENOMEM");
    munmap(p, len);
}

/* ---- capabilities ---- */

static void test_capabilities(void)
{
    struct __user_cap_header_struct header = { .version = 0, .pid = 0 };
    ok(syscall(SYS_capget, &header, NULL) == 0 && header.version == _LINUX_CAPABILITY_VERSION_3,
       "capget with NULL data tells the preferred version", "version %#x", header.version);
    struct __user_cap_data_struct data[2];
    header.version = 0x12345678;
    ok_errno(syscall(SYS_capget, &header, data), EINVAL, "capget of an unknown version: EINVAL");
    header.version = _LINUX_CAPABILITY_VERSION_3;
    ok(syscall(SYS_capget, &header, data) == 0 && (data[0].permitted & 1) && (data[0].effective & ~data[0].permitted) == 0,
       "root holds CAP_CHOWN and effective within permitted", "eff %#x perm %#x", data[0].effective, data[0].permitted);
    header.pid = getppid();
    ok(syscall(SYS_capget, &header, data) == 0, "capget of another process", "errno %d", errno);
    header.pid = -1;
    ok_errno(syscall(SYS_capget, &header, data), EINVAL, "capget of pid -1: EINVAL");

    pid_t pid = fork();
    if (pid == 0) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = getppid() };
        struct __user_cap_data_struct d[2] = {{0}};
        if (syscall(SYS_capset, &h, d) != -1 || errno != EPERM) _exit(1);      /* only one's own */
        h.pid = 0;
        if (syscall(SYS_capset, &h, d) != 0) _exit(2);                       /* drop them all */
        if (syscall(SYS_capget, &h, d) != 0 || d[0].permitted || d[1].permitted || d[0].effective) _exit(3);
        d[0].permitted = d[0].effective = 1;
        if (syscall(SYS_capset, &h, d) != -1 || errno != EPERM) _exit(4);      /* and they stay dropped */
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "capset: only one's own, and only lower",
       "status %#x", status);
}

/* ---- prctl, vhangup, fadvise64 ---- */

static volatile bool usr2_received;
static void on_usr2(int sig) { (void)sig; usr2_received = true; }

static void test_prctl_vhangup(void)
{
    int sig = -1;
    ok(prctl(PR_GET_PDEATHSIG, &sig) == 0 && sig == 0, "no parent-death signal at first", "%d", sig);
    ok_errno(prctl(PR_SET_PDEATHSIG, 65), EINVAL, "PR_SET_PDEATHSIG of no signal: EINVAL");
    ok(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "no_new_privs off at first", "no");
    ok_errno(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL, "PR_SET_NO_NEW_PRIVS needs 1: EINVAL");

    /* A grandchild asks for SIGUSR2 when its parent dies; the parent exits. */
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_t middle = fork();
    if (middle == 0) {
        pid_t inner = fork();
        if (inner == 0) {
            struct sigaction sa = { .sa_handler = on_usr2 };
            sigemptyset(&sa.sa_mask);
            sigaction(SIGUSR2, &sa, NULL);
            prctl(PR_SET_PDEATHSIG, SIGUSR2);
            int got = 0;
            prctl(PR_GET_PDEATHSIG, &got);
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) got = -1;
            if (write(fds[1], "r", 1) != 1) _exit(1);
            double start = now_seconds();
            while (!usr2_received && now_seconds() - start < 10) {
                struct timespec tick = { .tv_nsec = 20 * 1000 * 1000 };
                nanosleep(&tick, NULL);
            }
            char report = usr2_received && got == SIGUSR2 ? 'y' : 'n';
            _exit(write(fds[1], &report, 1) == 1 ? 0 : 1);
        }
        char c;
        _exit(read(fds[0], &c, 1) == 1 ? 0 : 1);     /* exit once the grandchild is ready */
    }
    close(fds[1]);
    int status;
    waitpid(middle, &status, 0);
    char ready = 0, report = 0;
    /* The middle child read "r"; the grandchild's report follows. */
    ssize_t n = read(fds[0], &report, 1);
    if (n == 1 && report == 'r') n = read(fds[0], &report, 1);
    (void)ready;
    ok(n == 1 && report == 'y', "PR_SET_PDEATHSIG: the orphan gets its signal", "report %c", report ? report : '?');
    close(fds[0]);

    pid_t pid = fork();
    if (pid == 0) {
        setsid();                                    /* no controlling terminal */
        int r = vhangup();
        /* Linux refuses it without CAP_SYS_TTY_CONFIG in the initial namespace (a container). */
        _exit(r == 0 ? 0 : (errno == EPERM && !on_keel()) ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vhangup without a controlling terminal", "status %#x", status);

    char path[] = "/tmp/test_glibc_calls.XXXXXX";
    int fd = mkstemp(path);
    ok(syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0 &&
       syscall(SYS_fadvise64, fd, 0, 4096, POSIX_FADV_DONTNEED) == 0, "fadvise64 on a file", "errno %d", errno);
    ok_errno(syscall(SYS_fadvise64, fd, 0, 0, 99), EINVAL, "fadvise64 with unknown advice: EINVAL");
    close(fd);
    unlink(path);
    ok_errno(syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_NORMAL), EBADF, "fadvise64 on a closed fd: EBADF");
    int p[2];
    if (pipe(p) == 0) {
        ok_errno(syscall(SYS_fadvise64, p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE, "fadvise64 on a pipe: ESPIPE");
        close(p[0]);
        close(p[1]);
    }
}

int main(void)
{
    if (mkdir("/tmp", 01777) != 0 && errno != EEXIST) { printf("no /tmp: errno %d\n", errno); return 1; }
    test_sigaltstack();
    test_stack_overflow();
    test_alarm();
    test_sysinfo_getcpu();
    test_mlock();
    test_madvise();
    test_capabilities();
    test_prctl_vhangup();
    return ktest_done();
}
