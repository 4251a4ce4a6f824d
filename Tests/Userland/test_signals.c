/*
 * test_signals: signal generation, default actions and faults (Linux:
 * kernel/signal.c: send_signal(), get_signal(), force_sig_fault(); the x86
 * page-fault and #GP handlers' user-mode paths).
 *
 * Every check that can kill runs in a child; the parent judges the wait
 * status. Under Keel this program is init, which must never die.
 *
 *   - default actions: SIGKILL, SIGTERM, SIGINT terminate (status = the
 *     signal number, no core bit); SIGCHLD, SIGURG, SIGWINCH are ignored;
 *   - SIG_IGN makes SIGTERM harmless; SIGKILL/SIGSTOP cannot be caught,
 *     ignored or blocked; a blocked signal waits until it is unblocked;
 *   - a fault is forced: it kills with SIGSEGV even when SIGSEGV is ignored
 *     or blocked (Linux: force_sig_info_to_task() resets the action);
 *   - SIGSEGV for every kind of bad access, SIGPIPE on a pipe with no reader,
 *     ESRCH/EINVAL from kill.
 * The last group, prefixed "[optional]", needs user handlers and
 * rt_sigreturn.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

/* How a child ended. */
struct outcome {
    int status;           /* raw wait status, -1 if fork or wait failed */
    char text[48];        /* "exit 3", "signal 11" */
};

static struct outcome reap(pid_t pid)
{
    struct outcome o = { -1, "fork or wait failed" };
    if (pid > 0 && waitpid(pid, &o.status, 0) == pid) {
        if (WIFEXITED(o.status))
            snprintf(o.text, sizeof o.text, "exit %d", WEXITSTATUS(o.status));
        else if (WIFSIGNALED(o.status))
            snprintf(o.text, sizeof o.text, "signal %d (%s)", WTERMSIG(o.status),
                     strsignal(WTERMSIG(o.status)));
        else
            snprintf(o.text, sizeof o.text, "status %#x", o.status);
    }
    return o;
}

/* Runs `body` in a child; a body that returns exits with its value. */
static struct outcome in_child(int (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(body());
    return reap(pid);
}

static bool killed_by(struct outcome o, int sig)
{
    return o.status != -1 && WIFSIGNALED(o.status) && WTERMSIG(o.status) == sig;
}

static bool exited_with(struct outcome o, int code)
{
    return o.status != -1 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == code;
}

/* ---- default actions --------------------------------------------------------- */

/* A child that says it is ready, then spins (or blocks reading `gate`). */
static pid_t ready_child(bool spin, int gate[2])
{
    int ready[2];
    if (pipe(ready) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(gate[1]);
        char c = 1;
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        if (spin)
            for (;;)
                __asm__ volatile("" ::: "memory");
        while (read(gate[0], &c, 1) > 0) {
        }
        _exit(0);
    }
    char c;
    if (pid > 0 && read(ready[0], &c, 1) != 1)
        pid = -1;
    close(ready[0]);
    close(ready[1]);
    return pid;
}

static void test_default_actions(void)
{
    static const struct { int sig; bool spin; const char *name; } cases[] = {
        { SIGKILL, true, "SIGKILL kills a running child (status 9)" },
        { SIGKILL, false, "SIGKILL kills a child blocked in read (status 9)" },
        { SIGTERM, true, "SIGTERM's default action kills a running child (status 15)" },
        { SIGTERM, false, "SIGTERM's default action kills a child blocked in read (status 15)" },
        { SIGINT, false, "SIGINT's default action kills a child (status 2)" },
        { SIGUSR1, false, "SIGUSR1's default action kills a child (status 10)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int gate[2];
        if (pipe(gate) != 0)
            continue;
        pid_t pid = ready_child(cases[i].spin, gate);
        close(gate[0]);
        if (!cases[i].spin)
            sleep_ms(20); /* let it reach the blocking read */
        int rc = pid > 0 ? kill(pid, cases[i].sig) : -1;
        struct outcome o = reap(pid);
        ok(rc == 0 && o.status == cases[i].sig, cases[i].name, "kill returned %d, child: %s", rc, o.text);
        close(gate[1]);
    }
}

static int ignores_by_default(void)
{
    if (kill(getpid(), SIGCHLD) || kill(getpid(), SIGURG) || kill(getpid(), SIGWINCH))
        return 2;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid) /* a real SIGCHLD arrived meanwhile */
        return 3;
    return 0;
}

static int sigterm_ignored(void)
{
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    if (sigaction(SIGTERM, &ign, &old) != 0)
        return 2;
    if (old.sa_handler != SIG_DFL)
        return 3;
    if (kill(getpid(), SIGTERM) != 0)
        return 4;
    if (sigaction(SIGTERM, NULL, &old) != 0 || old.sa_handler != SIG_IGN)
        return 5;
    /* SIG_IGN is inherited across fork. */
    pid_t pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGTERM);
        _exit(0);
    }
    int status;
    return waitpid(pid, &status, 0) == pid && status == 0 ? 0 : 6;
}

static void test_ignored(void)
{
    struct outcome o = in_child(ignores_by_default);
    ok(exited_with(o, 0), "SIGCHLD, SIGURG and SIGWINCH are ignored by default", "child: %s", o.text);
    o = in_child(sigterm_ignored);
    ok(exited_with(o, 0), "SIG_IGN through sigaction makes SIGTERM harmless, also after fork",
       "child: %s (3: old action not SIG_DFL, 5: not read back, 6: fork)", o.text);

    /* From outside: a child ignoring SIGTERM survives kill(SIGTERM). */
    int gate[2];
    if (pipe(gate) != 0)
        return;
    signal(SIGTERM, SIG_IGN);
    pid_t pid = ready_child(false, gate);
    signal(SIGTERM, SIG_DFL);
    close(gate[0]);
    int rc = kill(pid, SIGTERM);
    sleep_ms(20);
    close(gate[1]);
    o = reap(pid);
    ok(rc == 0 && exited_with(o, 0), "a child ignoring SIGTERM survives kill(SIGTERM)", "%s", o.text);
}

/* The kernel's struct sigaction (Linux: struct k_sigaction's sa part). */
struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static void test_uncatchable(void)
{
    struct ksigaction ign = { .handler = SIG_IGN };
    long rc = syscall(SYS_rt_sigaction, SIGKILL, &ign, NULL, 8);
    ok_errno(rc, EINVAL, "rt_sigaction(SIGKILL, SIG_IGN): EINVAL");
    rc = syscall(SYS_rt_sigaction, SIGSTOP, &ign, NULL, 8);
    ok_errno(rc, EINVAL, "rt_sigaction(SIGSTOP, SIG_IGN): EINVAL");
    rc = syscall(SYS_rt_sigaction, 0, &ign, NULL, 8);
    ok_errno(rc, EINVAL, "rt_sigaction(0): EINVAL");
    rc = syscall(SYS_rt_sigaction, 65, &ign, NULL, 8);
    ok_errno(rc, EINVAL, "rt_sigaction(65): EINVAL");
    rc = syscall(SYS_rt_sigaction, SIGTERM, NULL, NULL, 4);
    ok_errno(rc, EINVAL, "rt_sigaction with a sigset size other than 8: EINVAL");
}

/* Blocks SIGTERM, waits for the parent's kill, reports whether it is pending
 * through `report`, then unblocks it: the pending SIGTERM must kill us. */
static int report_fd, gate_fd;

static int blocked_sigterm(void)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return 2;
    char c = 1;
    if (write(report_fd, &c, 1) != 1)
        return 3;
    while (read(gate_fd, &c, 1) > 0) {
    }
    c = sigpending(&pending) == 0 && sigismember(&pending, SIGTERM) ? 'P' : 'n';
    if (write(report_fd, &c, 1) != 1)
        return 3;
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    return 0; /* survived: wrong */
}

static void test_blocked(void)
{
    int report[2], gate[2];
    if (pipe(report) != 0 || pipe(gate) != 0)
        return;
    report_fd = report[1];
    gate_fd = gate[0];
    pid_t pid = fork();
    if (pid == 0) {
        close(gate[1]);
        _exit(blocked_sigterm());
    }
    close(gate[0]);
    close(report[1]);
    char c = 0;
    bool ready = read(report[0], &c, 1) == 1;
    int rc = kill(pid, SIGTERM);
    sleep_ms(20);
    bool alive = kill(pid, 0) == 0 && waitpid(pid, NULL, WNOHANG) == 0;
    close(gate[1]);
    char pending = 0;
    ssize_t n = read(report[0], &pending, 1);
    struct outcome o = reap(pid);
    ok(ready && rc == 0 && alive, "a blocked SIGTERM does not kill", "ready %d kill %d alive %d",
       ready, rc, alive);
    ok(n == 1 && pending == 'P', "sigpending shows the blocked SIGTERM", "got '%c'", pending);
    ok(killed_by(o, SIGTERM), "unblocking the pending SIGTERM kills", "child: %s", o.text);
    close(report[0]);

    /* Blocking every signal does not block SIGKILL. */
    if (pipe(gate) != 0)
        return;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = ready_child(false, gate); /* inherits the full mask */
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(gate[0]);
    rc = kill(pid, SIGKILL);
    o = reap(pid);
    ok(rc == 0 && killed_by(o, SIGKILL), "SIGKILL cannot be blocked", "child: %s", o.text);
    close(gate[1]);
}

/* ---- faults --------------------------------------------------------------------- */

static volatile unsigned char *volatile target;
static volatile unsigned char sink;

static int read_target(void)
{
    sink = *target;
    return 0;
}

static int write_target(void)
{
    *target = 0x5a;
    return 0;
}

typedef void (*code_fn)(void);
static code_fn code_target;

static int call_target(void)
{
    code_target();
    return 0;
}

static int ignore_then_fault(void)
{
    signal(SIGSEGV, SIG_IGN);
    return write_target();
}

static int block_then_fault(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return write_target();
}

static int recurse(int depth)
{
    volatile char pad[1024];
    pad[0] = (char)depth;
    if (depth > 1 << 30) /* never: 1 TiB of stack */
        return 0;
    return recurse(depth + 1) + pad[0];
}

static int overflow_stack(void)
{
    return recurse(0);
}

static void expect_segv(int (*body)(void), const char *name)
{
    struct outcome o = in_child(body);
    ok(killed_by(o, SIGSEGV), name, "child: %s", o.text);
}

static void at(uintptr_t addr)
{
    target = (volatile unsigned char *)addr;
}

static const char rodata_text[] = "read-only";

/* True when `addr`'s page is mapped in this process (msync: ENOMEM if not). */
static bool mapped(uintptr_t addr)
{
    return msync((void *)(addr & ~(PAGE - 1)), PAGE, MS_ASYNC) == 0 || errno != ENOMEM;
}

static void test_faults(void)
{
    unsigned char *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *rw = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *gone = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *code = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(ro != MAP_FAILED && rw != MAP_FAILED && none != MAP_FAILED && gone != MAP_FAILED &&
                code != MAP_FAILED,
            "map the pages to fault on", "errno %d", errno))
        return;

    at((uintptr_t)ro);
    struct outcome o = in_child(read_target);
    ok(exited_with(o, 0), "reading a PROT_READ page is fine", "child: %s", o.text);
    expect_segv(write_target, "SIGSEGV: write to a PROT_READ page");
    rw[0] = 1;
    mprotect(rw, PAGE, PROT_READ);
    at((uintptr_t)rw);
    expect_segv(write_target, "SIGSEGV: write to a page made read-only by mprotect");
    at((uintptr_t)rodata_text);
    expect_segv(write_target, "SIGSEGV: write to .rodata");
    at((uintptr_t)none);
    expect_segv(read_target, "SIGSEGV: read of a PROT_NONE page");
    expect_segv(write_target, "SIGSEGV: write to a PROT_NONE page");
    gone[0] = 1;
    munmap(gone, PAGE);
    at((uintptr_t)gone);
    expect_segv(read_target, "SIGSEGV: read after munmap");
    expect_segv(write_target, "SIGSEGV: write after munmap");
    at((uintptr_t)(void *)write_target);
    expect_segv(write_target, "SIGSEGV: write to .text");

    code[0] = 0xc3; /* ret */
    code_target = (code_fn)(uintptr_t)code;
    expect_segv(call_target, "SIGSEGV: executing a PROT_READ|PROT_WRITE page");
    if (mprotect(code, PAGE, PROT_READ | PROT_EXEC) == 0) {
        o = in_child(call_target);
        ok(exited_with(o, 0), "the same page made PROT_EXEC runs its ret", "child: %s", o.text);
    }
    static unsigned char data_code[16] = { 0xc3 };
    code_target = (code_fn)(uintptr_t)data_code;
    expect_segv(call_target, "SIGSEGV: executing .data");

    at(0);
    expect_segv(read_target, "SIGSEGV: read of NULL");
    expect_segv(write_target, "SIGSEGV: write to NULL");
    at(0xffff800000000000UL);
    expect_segv(read_target, "SIGSEGV: read of 0xffff800000000000 (kernel half)");
    expect_segv(write_target, "SIGSEGV: write to 0xffff800000000000 (kernel half)");
    at(0xffffffff80000000UL);
    expect_segv(read_target, "SIGSEGV: read of 0xffffffff80000000 (top 2 GiB)");
    at(0x8000000000000000UL);
    expect_segv(read_target, "SIGSEGV: read of non-canonical 0x8000000000000000 (#GP)");

    /* Keel's direct map of RAM starts at 0x7f0000000000 (user space ends
     * there); on Linux it is ordinary user space, almost always unmapped. */
    const uintptr_t direct_map = 0x7f0000001000UL;
    if (!on_keel() && mapped(direct_map)) {
        skip("SIGSEGV: read of 0x7f0000001000 (Keel's direct map)", "mapped in this Linux process");
    } else {
        at(direct_map);
        expect_segv(read_target, "SIGSEGV: read of 0x7f0000001000 (Keel's direct map)");
        expect_segv(write_target, "SIGSEGV: write to 0x7f0000001000 (Keel's direct map)");
    }

    expect_segv(overflow_stack, "SIGSEGV: runaway recursion overflows the stack");

    at((uintptr_t)ro);
    expect_segv(ignore_then_fault, "a fault kills with SIGSEGV even when SIGSEGV is SIG_IGN");
    expect_segv(block_then_fault, "a fault kills with SIGSEGV even when SIGSEGV is blocked");
    munmap(ro, PAGE);
    munmap(rw, PAGE);
    munmap(none, PAGE);
    munmap(code, PAGE);
}

/* ---- SIGPIPE, kill errors -------------------------------------------------------- */

static int write_to_closed_pipe(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 2;
    close(p[0]);
    ssize_t n = write(p[1], "x", 1);
    return n == -1 && errno == EPIPE ? 0 : 3;
}

static int write_to_closed_pipe_ignoring(void)
{
    signal(SIGPIPE, SIG_IGN);
    return write_to_closed_pipe();
}

static void test_sigpipe(void)
{
    struct outcome o = in_child(write_to_closed_pipe);
    ok(killed_by(o, SIGPIPE) && o.status == SIGPIPE,
       "writing to a pipe with no reader: SIGPIPE kills by default", "child: %s", o.text);
    o = in_child(write_to_closed_pipe_ignoring);
    ok(exited_with(o, 0), "with SIGPIPE ignored the write fails with EPIPE",
       "child: %s (3: wrong result)", o.text);
}

static void test_kill_errors(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    reap(pid);
    int rc = kill(pid, SIGTERM);
    ok_errno(rc, ESRCH, "kill of a reaped child's pid: ESRCH");
    rc = kill(0x3fffffff, SIGTERM);
    ok_errno(rc, ESRCH, "kill of a pid that never existed: ESRCH");
    rc = kill(0x3fffffff, 0);
    ok_errno(rc, ESRCH, "kill(pid, 0) of a pid that never existed: ESRCH");
    ok(kill(getpid(), 0) == 0, "kill(getpid(), 0) succeeds", "errno %d", errno);
    rc = kill(getpid(), 1000);
    ok_errno(rc, EINVAL, "kill with signal 1000: EINVAL");
}

/* ---- [optional] user handlers and rt_sigreturn ------------------------------------ */

static volatile sig_atomic_t handled, handled_sig;
static volatile int usr1_blocked_inside, usr2_blocked_inside;
static volatile bool handler_aligned;
static volatile siginfo_t last_info;

static void on_signal(int sig)
{
    char __attribute__((aligned(16))) probe[16];
    __asm__ volatile("" : : "r"(probe) : "memory");
    handler_aligned = ((uintptr_t)probe & 15) == 0;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    usr1_blocked_inside = sigismember(&cur, SIGUSR1);
    usr2_blocked_inside = sigismember(&cur, SIGUSR2);
    handled_sig = sig;
    handled++;
}

static void on_siginfo(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    memcpy((void *)&last_info, info, sizeof *info);
    handled_sig = sig;
    handled++;
}

/* Clobbers every caller-saved register the interrupted code might hold. */
static void clobbering_handler(int sig)
{
    __asm__ volatile("mov $-1, %%rdx\n\tmov $-1, %%rsi\n\tmov $-1, %%rdi\n\t"
                     "mov $-1, %%r8\n\tmov $-1, %%r9\n\tmov $-1, %%r10\n\t"
                     "pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1"
                     ::: "rdx", "rsi", "rdi", "r8", "r9", "r10", "xmm0", "xmm1");
    handled_sig = sig;
    handled++;
}

static int install(int sig, void (*fn)(int), int flags, int also_mask)
{
    struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
    sigemptyset(&sa.sa_mask);
    if (also_mask)
        sigaddset(&sa.sa_mask, also_mask);
    return sigaction(sig, &sa, NULL);
}

static int handler_via_raise(void)
{
    volatile long canary = 0x1234567890abcdefL;
    if (install(SIGUSR1, on_signal, 0, SIGUSR2) != 0)
        return 2;
    if (raise(SIGUSR1) != 0)
        return 3;
    if (handled != 1 || handled_sig != SIGUSR1)
        return 4;
    if (canary != 0x1234567890abcdefL)
        return 5;
    if (!usr1_blocked_inside || !usr2_blocked_inside)
        return 6;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    if (sigismember(&cur, SIGUSR1) || sigismember(&cur, SIGUSR2))
        return 7;
    if (!handler_aligned)
        return 8;
    if (kill(getpid(), SIGUSR1) != 0 || handled != 2)
        return 9;
    return 0;
}

static int handler_siginfo(void)
{
    struct sigaction sa = { .sa_sigaction = on_siginfo, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR2, &sa, NULL) != 0)
        return 2;
    if (kill(getpid(), SIGUSR2) != 0 || handled != 1)
        return 3;
    if (last_info.si_signo != SIGUSR2 || last_info.si_code != SI_USER)
        return 4;
    if (last_info.si_pid != getpid() || last_info.si_uid != getuid())
        return 5;
    return 0;
}

/*
 * kill(getpid(), SIGUSR1) as a bare syscall with known values in every
 * register the handler clobbers; returns 0 if all came back, else which did
 * not (1 rdx, 2 rsi, 3 rdi, 4 r8, 5 r9, 6 r10, 7 xmm0, 8 xmm1).
 */
static long registers_survive_handler(void)
{
    long pid = getpid(), bad;
    __asm__ volatile(
        "movabs $0x2222222222222222, %%rdx\n\t"
        "movabs $0x5555555555555555, %%r8\n\t"
        "movabs $0x6666666666666666, %%r9\n\t"
        "movabs $0x7777777777777777, %%r10\n\t"
        "movabs $0x0123456789abcdef, %%rax\n\t"
        "movq %%rax, %%xmm0\n\t"
        "movabs $0x0fedcba987654321, %%rax\n\t"
        "movq %%rax, %%xmm1\n\t"
        "mov %[pid], %%rdi\n\t"
        "mov %[sig], %%esi\n\t"
        "mov %[nr], %%eax\n\t"
        "syscall\n\t"
#define CHECK(n, value, reg) \
        "mov $" #n ", %%eax\n\t" \
        "movabs $" #value ", %%r11\n\t" \
        "cmp %%r11, " reg "\n\t" \
        "jne 1f\n\t"
        CHECK(1, 0x2222222222222222, "%%rdx")
        CHECK(2, 10, "%%rsi") /* SIGUSR1 */
        CHECK(4, 0x5555555555555555, "%%r8")
        CHECK(5, 0x6666666666666666, "%%r9")
        CHECK(6, 0x7777777777777777, "%%r10")
        "mov %%rdi, %%rcx\n\t"
        "mov $3, %%eax\n\t"
        "cmp %[pid], %%rcx\n\t"
        "jne 1f\n\t"
        "movq %%xmm0, %%rcx\n\t"
        CHECK(7, 0x0123456789abcdef, "%%rcx")
        "movq %%xmm1, %%rcx\n\t"
        CHECK(8, 0x0fedcba987654321, "%%rcx")
#undef CHECK
        "xor %%eax, %%eax\n\t"
        "1:\n\t"
        : "=&a"(bad)
        : [pid] "m"(pid), [sig] "i"(SIGUSR1), [nr] "i"(SYS_kill)
        : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "memory");
    return bad;
}

static int handler_restores_registers(void)
{
    if (install(SIGUSR1, clobbering_handler, 0, 0) != 0)
        return 20;
    long bad = registers_survive_handler();
    if (handled != 1)
        return 21;
    return (int)bad;
}

/* A SIGSEGV handler that makes the page writable and returns: the faulting
 * write runs again and succeeds. */
/* The FPU state a handler starts with and the one the interrupted code gets
 * back: Linux gives every handler a clean state (MXCSR 0x1f80, x87 control
 * word 0x37f) and rt_sigreturn restores the saved one. */
static volatile unsigned handler_mxcsr;
static volatile unsigned short handler_fcw;

static void record_fpu(int sig)
{
    (void)sig;
    unsigned m;
    unsigned short c;
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(m), "=m"(c));
    handler_mxcsr = m;
    handler_fcw = c;
    unsigned scribble = 0x0000;                 /* the handler's own changes must not leak out */
    unsigned short rough = 0x0c7f;
    __asm__ volatile("ldmxcsr %0\n\tfldcw %1" ::"m"(scribble), "m"(rough));
}

static int handler_gets_clean_fpu(void)
{
    struct sigaction sa = { .sa_handler = record_fpu };
    sigaction(SIGUSR1, &sa, NULL);
    unsigned mine = 0x7f80, got;                /* round toward zero, all masked */
    unsigned short fcw = 0x027f, got_fcw;       /* 53-bit precision */
    __asm__ volatile("ldmxcsr %0\n\tfldcw %1" ::"m"(mine), "m"(fcw));
    raise(SIGUSR1);
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(got), "=m"(got_fcw));
    if (handler_mxcsr != 0x1f80)
        return 3;
    if (handler_fcw != 0x037f)
        return 4;
    if (got != mine || got_fcw != fcw)
        return 5;
    return 0;
}

static volatile unsigned char *fix_page;
static volatile void *fault_addr;
static volatile int fault_code;

static void fix_fault(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = info->si_addr;
    fault_code = info->si_code;
    handled++;
    mprotect((void *)fix_page, PAGE, PROT_READ | PROT_WRITE);
}

static int handler_fixes_fault(void)
{
    fix_page = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa = { .sa_sigaction = fix_fault, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    if (fix_page == MAP_FAILED || sigaction(SIGSEGV, &sa, NULL) != 0)
        return 2;
    fix_page[100] = 0x77;
    if (handled != 1 || fix_page[100] != 0x77)
        return 3;
    if (fault_addr != fix_page + 100)
        return 4;
    if (fault_code != SEGV_ACCERR)
        return 5;
    return 0;
}

static void nothing(int sig)
{
    (void)sig;
    handled++;
}

/* Without SA_RESTART a handled signal interrupts a blocking read: EINTR. */
static int handler_interrupts_read(void)
{
    int p[2];
    if (pipe(p) != 0 || install(SIGUSR1, nothing, 0, 0) != 0)
        return 2;
    char c = 1;
    if (write(report_fd, &c, 1) != 1)
        return 3;
    ssize_t n = read(p[0], &c, 1);
    if (n != -1 || errno != EINTR)
        return 4;
    return handled == 1 ? 0 : 5;
}

static void test_handlers(void)
{
    note("[optional] user signal handlers and rt_sigreturn");
    struct outcome o = in_child(handler_via_raise);
    ok(exited_with(o, 0), "[optional] a SIGUSR1 handler runs on raise() and kill(), execution resumes",
       "child: %s (4: not run, 5: stack damaged, 6: SIGUSR1/sa_mask not blocked inside, "
       "7: mask not restored, 8: misaligned stack in the handler, 9: second delivery)", o.text);
    o = in_child(handler_siginfo);
    ok(exited_with(o, 0), "[optional] SA_SIGINFO: si_signo, si_code SI_USER, si_pid, si_uid",
       "child: %s (3: not run, 4: signo/code, 5: pid/uid)", o.text);
    o = in_child(handler_restores_registers);
    ok(exited_with(o, 0), "[optional] rt_sigreturn restores rdx, rsi, rdi, r8-r10, xmm0, xmm1",
       "child: %s (1 rdx, 2 rsi, 3 rdi, 4 r8, 5 r9, 6 r10, 7 xmm0, 8 xmm1, 21: handler not run)",
       o.text);
    o = in_child(handler_gets_clean_fpu);
    ok(exited_with(o, 0), "[optional] a handler starts with a clean FPU state; rt_sigreturn restores the caller's",
       "child: %s (3: handler's MXCSR not 0x1f80, 4: handler's x87 control word not 0x37f, "
       "5: the caller's MXCSR or control word not restored)", o.text);
    o = in_child(handler_fixes_fault);
    ok(exited_with(o, 0), "[optional] a SIGSEGV handler fixes the page and the write is retried",
       "child: %s (3: write lost, 4: si_addr, 5: si_code not SEGV_ACCERR)", o.text);

    int ready[2];
    if (pipe(ready) != 0)
        return;
    report_fd = ready[1];
    pid_t pid = fork();
    if (pid == 0)
        _exit(handler_interrupts_read());
    char c;
    bool up = read(ready[0], &c, 1) == 1;
    sleep_ms(20);
    int rc = up ? kill(pid, SIGUSR1) : -1;
    o = reap(pid);
    ok(rc == 0 && exited_with(o, 0), "[optional] a handled signal interrupts a blocking read: EINTR",
       "child: %s (4: read did not fail EINTR)", o.text);
    close(ready[0]);
    close(ready[1]);
}

int main(void)
{
    /* No core files from the faults below (and no core bit in the status). */
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);

    test_default_actions();
    test_ignored();
    test_uncatchable();
    test_blocked();
    test_faults();
    test_sigpipe();
    test_kill_errors();
    test_handlers();
    return ktest_done();
}
