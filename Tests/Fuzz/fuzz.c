/*
 * fuzz: a system-call fuzzer for Keel. It runs ONLY as Keel's init, never on
 * the host (that is why it lives in Tests/Fuzz and not Tests/Userland):
 *
 *     make run SMP=2 CMDLINE='init=/bin/fuzz -- seed=1 seconds=60'
 *
 * The supervisor (pid 1) forks `workers` worker processes. Worker number w
 * draws every call from its own random stream, seeded from (seed, w), so the
 * same worker always issues the same calls in the same order: a crash is
 * reproduced by replaying that one worker (tools/fuzz.py does it on a panic):
 *
 *     fuzz seed=S worker=W from=I verbose     one worker, printing each call
 *                                             before it is made, from call I
 *
 * A worker picks a system-call number (mostly ones Keel implements, sometimes
 * any number 0..449 or Keel's 1001/1002) and six hostile arguments: kernel,
 * non-canonical, NULL, unmapped and straddling pointers, its own valid and
 * PROT_NONE pages, lengths 0/1/4095/4096/huge/negative, good and bad fds,
 * random flags. Before each call it writes (index, number, arguments) into a
 * page it shares with the supervisor, so the supervisor can name the exact
 * call of a worker that stops making progress.
 *
 * The supervisor counts the calls, replaces workers that exit (after
 * per_worker calls) or die (a signal is a normal end for a fuzzed process),
 * SIGKILLs a worker whose call counter has not moved for `watchdog` seconds,
 * and gives up with "fuzz: UNKILLABLE ..." (exit 1) if that worker is still
 * not reaped a few seconds later. At the call budget or the time limit it
 * prints one summary line and exits 0 (Keel then powers off).
 *
 * Options (words after `--` on the kernel command line):
 *   seed=S  workers=N  per_worker=K  calls=C (total budget, 0: none)
 *   seconds=T  watchdog=W  skip=NR,NR,...  worker=W from=I verbose
 * A replay must be given the same seed, per_worker and skip as the campaign.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_WORKERS 32
#define CONSOLE_FD 1000         /* the console, for verbose lines; workers' 0-2 are a file */
#define KILL_GRACE_SECONDS 5    /* after SIGKILL, how long a worker may take to be reaped */
#define PROGRESS_SECONDS 10     /* a progress line this often: tools/fuzz.py takes silence for a hang */

/* Keel's address space (README "Memory layout"). */
#define TASK_SIZE     0x7f0000000000UL   /* user space ends here */
#define DIRECT_MAP    0x7f0000000000UL   /* all RAM */
#define KERNEL_IMAGE  0x7f8000000000UL
#define VMALLOC_START 0x7fc000000000UL

/* The worker's own pages, at a fixed address so a replay sees the same ones:
 * 4 read-write pages, 1 PROT_NONE, 1 read-only, 1 read-write, then a hole. */
#define BUF       0x10000000000UL
#define BUF_NONE  (BUF + 4 * PAGE)
#define BUF_RO    (BUF + 5 * PAGE)
#define BUF_END   (BUF + 7 * PAGE)

/* ---- options ---- */

static uint64_t opt_seed = 1;
static int opt_workers = 4;
static uint64_t opt_per_worker = 20000;
static uint64_t opt_calls;               /* 0: no budget */
static uint64_t opt_seconds = 60;
static uint64_t opt_watchdog = 5;
static int64_t opt_replay = -1;          /* worker=W */
static uint64_t opt_from;
static int opt_verbose;
static uint64_t opt_skip[64];
static int opt_nskip;

/* ---- the random stream: splitmix64, one state per worker ---- */

static uint64_t rng;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

static uint64_t next(void)
{
    rng += 0x9e3779b97f4a7c15UL;
    return mix64(rng);
}

static uint64_t worker_seed(uint64_t seed, uint64_t worker)
{
    return mix64(seed * 0x100000001b3UL + worker + 1);
}

#define PICK(table) ((table)[next() % (sizeof(table) / sizeof((table)[0]))])

/* ---- what a worker shares with the supervisor ---- */

struct slot {
    volatile int pid;            /* 0: free */
    volatile uint64_t worker, seed;
    volatile uint64_t calls;     /* calls issued so far: the watchdog watches it */
    volatile uint64_t index;     /* the current call: index in the worker's sequence, */
    volatile uint64_t nr;        /* number and arguments, written before it is issued */
    volatile uint64_t args[6];
};

static struct slot *slots;

/* ---- system calls without libc: a fuzzed call may point our TLS (errno)
 * anywhere, so after the first one a worker uses nothing but these ---- */

static long raw_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                        uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* fork, vfork and clone: the child leaves at once, from inside the asm, as
 * its stack may be one the fuzzer chose (clone's second argument). This keeps
 * away fork bombs and unsupervised copies of the worker. exit, not
 * exit_group, in case the child is a thread of ours. */
static long raw_fork_like(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    long ret;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static char *put_str(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static char *put_dec(char *p, uint64_t v)
{
    char digits[20];
    int n = 0;
    do digits[n++] = (char)('0' + v % 10); while (v /= 10);
    while (n) *p++ = digits[--n];
    return p;
}

static char *put_hex(char *p, uint64_t v)
{
    p = put_str(p, "0x");
    int shift = 60;
    while (shift > 0 && !(v >> shift)) shift -= 4;
    for (; shift >= 0; shift -= 4) *p++ = "0123456789abcdef"[(v >> shift) & 15];
    return p;
}

/* "syscall(NR, a0, a1, a2, a3, a4, a5)": the reproducer's form. */
static char *put_call(char *p, uint64_t nr, const volatile uint64_t *args)
{
    p = put_dec(put_str(p, "syscall("), nr);
    for (int i = 0; i < 6; i++) p = put_hex(put_str(p, ", "), args[i]);
    return put_str(p, ")");
}

/* ---- hostile arguments ---- */

/* The system calls Keel implements (Kernel/Syscall/SyscallTable.swift), drawn
 * three times in four so the fuzzer spends its time where the code is. Left
 * out here, reached only by the uniform draw: exit (60) and exit_group (231),
 * which end the worker, and rt_sigreturn (15), which jumps to a garbage frame
 * and kills it; each would make workers too short-lived to go deep. Left out
 * too: calls that wait with no end on the arguments the fuzzer likes (a NULL
 * timeout): pause (34), poll (7), select (23), clock_nanosleep (230),
 * pselect6 (270), ppoll (271), rt_sigsuspend (130); the watchdog would kill
 * those workers, 5 s each. */
static const uint16_t keel_calls[] = {
    0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 24, 25,
    26, 28, 32, 33, 35, 39, 40, 56, 57, 58, 59, 61, 62, 63, 72, 79, 80, 81, 89, 96, 97, 102,
    104, 107, 108, 109, 110, 111, 112, 121, 124, 127, 142, 143, 144, 145, 146, 147, 148,
    157, 158, 186, 200, 201, 202, 203, 204, 217, 218, 228, 234, 247, 257, 262, 267, 269,
    27, 149, 150, 151, 152, 167, 168, 273, 292, 293, 302, 318, 319, 325, 439,
    /* NUMA policies: mbind, set_mempolicy, get_mempolicy, migrate_pages, move_pages */
    237, 238, 239, 256, 279,
    /* files: fsync..ftruncate, rename..symlink, chmod..umask, utime, mknod,
     * statfs, fstatfs, chroot, sync, mount, umount2, utimes, the *at calls,
     * utimensat, fallocate, syncfs, renameat2, statx */
    74, 75, 76, 77, 82, 83, 84, 85, 86, 87, 88, 90, 91, 92, 93, 94, 95, 132, 133, 137, 138,
    161, 162, 165, 166, 235, 258, 259, 260, 263, 264, 265, 266, 268, 280, 285, 306, 316, 332,
    1001, 1002,
};

static int skipped(uint64_t nr)
{
    if (nr == 169) return 1;   /* reboot: it would end the campaign legitimately */
    for (int i = 0; i < opt_nskip; i++)
        if (opt_skip[i] == nr) return 1;
    return 0;
}

static uint64_t pick_number(void)
{
    for (;;) {
        uint64_t nr;
        if (next() % 4) {
            nr = PICK(keel_calls);
        } else {
            nr = next() % 452;          /* 0..449, then 450/451 stand for 1001/1002 */
            if (nr >= 450) nr += 1001 - 450;
        }
        if (!skipped(nr)) return nr;
    }
}

static uint64_t pick_pointer(void)
{
    static const uint64_t unmapped[] = { 0x1000, 0x10000, 0x555500000000UL, BUF - PAGE, BUF_END };
    static const uint64_t noncanonical[] = { 0x800000000000UL, 0xffff800000000000UL,
                                             0xfffffffffffff000UL, 0xffffffffffffffffUL };
    switch (next() % 12) {
    case 0:  return 0;
    case 1:  return BUF + next() % (4 * PAGE);                  /* valid */
    case 2:  return BUF;
    case 3:  return BUF_NONE + next() % PAGE;                   /* PROT_NONE */
    case 4:  return BUF_RO + next() % PAGE;                     /* read-only */
    case 5:  return BUF_END - 1 - next() % 64;                  /* runs into the hole */
    case 6:  return BUF_NONE - 1 - next() % 64;                 /* runs into PROT_NONE */
    case 7:  return next() % 2 ? PICK(unmapped) : next() % TASK_SIZE;
    case 8:  return TASK_SIZE - 1 - next() % 64;                /* runs into the kernel */
    case 9:                                                     /* the kernel half */
        switch (next() % 5) {
        case 0:  return DIRECT_MAP + next() % (64UL << 20);
        case 1:  return KERNEL_IMAGE + next() % (8UL << 20);
        case 2:  return VMALLOC_START + next() % (1UL << 30);
        case 3:  return TASK_SIZE;
        default: return TASK_SIZE + next() % (0x800000000000UL - TASK_SIZE);   /* anywhere */
        }
    case 10: return next() % 2 ? PICK(noncanonical) : next();
    default: return (uint64_t)(uintptr_t)&pick_pointer;        /* our own code */
    }
}

static uint64_t pick_length(void)
{
    static const uint64_t lengths[] = {
        0, 1, 2, 8, 16, 64, 4095, 4096, 4097, 8192, 65536, 1UL << 20, 1UL << 31, 1UL << 32,
        1UL << 44, SIZE_MAX, SIZE_MAX - 4095, (uint64_t)(int64_t)INT_MIN, 0x80000000UL,
        INT_MAX, (uint64_t)-4096,
    };
    return next() % 4 ? PICK(lengths) : next() % 8192;
}

static uint64_t pick_fd(void)
{
    /* 0-10 and 15 are the worker's own (worker_setup), the others bad or special. */
    static const uint64_t fds[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, (uint64_t)-1, (uint64_t)-100,
                                    1023, 1024, INT_MAX, (uint64_t)(int64_t)INT_MIN,
                                    0xffffffffUL, 1UL << 32 };
    return PICK(fds);
}

static uint64_t pick_flags(void)
{
    switch (next() % 4) {
    case 0:  return 0;
    case 1:  return 1UL << (next() % 64);
    case 2:  return (1UL << (next() % 32)) | (1UL << (next() % 32));
    default: return next() & next() & 0xffffffffUL;             /* a few random bits */
    }
}

static uint64_t pick_argument(void)
{
    switch (next() % 7) {
    case 0: case 1: return pick_pointer();
    case 2: return pick_length();
    case 3: return pick_fd();
    case 4: return pick_flags();
    case 5: return next() % 2 ? next() % 65 : (uint64_t)-(int64_t)(next() % 4);  /* signals, pids, commands */
    default: return next();
    }
}

/* ---- the worker ---- */

/* Sets the action of every signal but SIGKILL, SIGSTOP and SIGCHLD. A raw
 * rt_sigaction, as musl refuses 32-34, which it keeps for itself. */
static void set_all_signals(uint64_t handler)
{
    uint64_t action[4] = { handler, 0, 0, 0 };   /* handler, flags, restorer, mask */
    for (int s = 1; s <= 64; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
            raw_syscall(13, s, (uint64_t)(uintptr_t)action, 0, 8, 0, 0);
}

/* fds 0-2 become a read-only file, so reads never wait for the keyboard and
 * random bytes never reach the console; 3 a file, 4 a directory, 5-6 a
 * non-blocking pipe, 7 /proc/self/pagemap and 15 /proc/kpageflags (binary
 * tables read at hostile offsets and counts), 8 tracefs's events/enable (a
 * stray "1" turns every event on: the trace points then run inside the page
 * allocator, the scheduler and every system call), 9 trace_pipe (not
 * blocking) and 10 trace_marker; the console stays at CONSOLE_FD for verbose lines. Then
 * the pages at BUF, filled from the worker's stream. Only libc before the
 * first fuzzed call. */
static void worker_setup(void)
{
    set_all_signals((uint64_t)(uintptr_t)SIG_DFL);   /* undo the supervisor's SIG_IGN */
    if (dup2(1, CONSOLE_FD) < 0) _exit(100);
    for (int fd = 0; fd < 3; fd++) {
        close(fd);
        if (open("/etc/hostname", O_RDONLY) != fd) _exit(101);
    }
    int pipefd[2];
    if (open("/etc/keel-test.txt", O_RDONLY) != 3 || open("/", O_RDONLY | O_DIRECTORY) != 4 ||
        pipe2(pipefd, O_NONBLOCK) != 0 || pipefd[0] != 5 || open("/proc/self/pagemap", O_RDONLY) != 7 ||
        open("/proc/kpageflags", O_RDONLY) != 8 || dup2(8, 15) != 15 || close(8) != 0 ||
        open("/sys/kernel/tracing/events/enable", O_RDWR) != 8 ||
        open("/sys/kernel/tracing/trace_pipe", O_RDONLY | O_NONBLOCK) != 9 ||
        open("/sys/kernel/tracing/trace_marker", O_WRONLY) != 10)
        _exit(102);
    /* Every event on for the workers after one in eight, off again after
     * another: the campaign runs in both states. */
    if (rng % 8 == 0 && write(8, "1", 1) != 1) _exit(105);
    if (rng % 8 == 4 && write(8, "0", 1) != 1) _exit(105);
    if (mmap((void *)BUF, BUF_END - BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0) != (void *)BUF)
        _exit(103);
    for (uint64_t *p = (uint64_t *)BUF; p < (uint64_t *)BUF_END; p++) *p = next();
    if (mprotect((void *)BUF_NONE, PAGE, PROT_NONE) || mprotect((void *)BUF_RO, PAGE, PROT_READ))
        _exit(104);
}

static void print_call(uint64_t index, uint64_t nr, const volatile uint64_t *args)
{
    char line[256];
    char *p = put_dec(put_str(line, "call "), index);
    p = put_call(put_str(p, ": "), nr, args);
    *p++ = '\n';
    raw_syscall(1, CONSOLE_FD, (uint64_t)(uintptr_t)line, (uint64_t)(p - line), 0, 0, 0);
}

static _Noreturn void worker_main(struct slot *me, uint64_t seed, uint64_t from, uint64_t count)
{
    rng = seed;
    worker_setup();
    for (uint64_t index = 0; index < opt_per_worker && me->calls < count; index++) {
        uint64_t nr = pick_number();
        uint64_t args[6];
        for (int i = 0; i < 6; i++) args[i] = pick_argument();
        /* A child sharing our memory would run on our stack: clone without CLONE_VM. */
        if (nr == 56) args[0] &= ~0x100UL;
        if (index < from) continue;
        me->index = index;
        me->nr = nr;
        for (int i = 0; i < 6; i++) me->args[i] = args[i];
        me->calls++;
        if (opt_verbose) print_call(index, nr, me->args);
        if (nr == 56 || nr == 57 || nr == 58)
            raw_fork_like(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
        else
            raw_syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
    }
    _exit(0);
}

/* ---- the supervisor ---- */

struct live {
    uint64_t last_calls;
    double last_progress;     /* when `calls` last moved */
    double killed_at;         /* 0: not killed by the watchdog */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t number(const char *s)
{
    return strtoull(s, NULL, 0);
}

static void parse_options(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *v = strchr(a, '=');
        size_t klen = v ? (size_t)(v - a) : strlen(a);
        if (v) v++;
#define IS(name) (klen == strlen(name) && strncmp(a, name, klen) == 0)
        if (IS("verbose")) opt_verbose = 1;
        else if (!v) goto bad;
        else if (IS("seed")) opt_seed = number(v);
        else if (IS("workers")) opt_workers = (int)number(v);
        else if (IS("per_worker")) opt_per_worker = number(v);
        else if (IS("calls")) opt_calls = number(v);
        else if (IS("seconds")) opt_seconds = number(v);
        else if (IS("watchdog")) opt_watchdog = number(v);
        else if (IS("worker")) opt_replay = (int64_t)number(v);
        else if (IS("from")) opt_from = number(v);
        else if (IS("skip")) {
            for (char *t = strtok(v, ","); t && opt_nskip < 64; t = strtok(NULL, ","))
                opt_skip[opt_nskip++] = number(t);
        } else goto bad;
        continue;
bad:
        printf("fuzz: unknown option %s\n", a);
        exit(2);
    }
    if (opt_workers < 1 || opt_workers > MAX_WORKERS) {
        printf("fuzz: workers must be 1..%d\n", MAX_WORKERS);
        exit(2);
    }
}

static void spawn(int j, uint64_t worker, struct live *live)
{
    struct slot *s = &slots[j];
    s->worker = worker;
    s->seed = worker_seed(opt_seed, worker);
    s->calls = s->index = s->nr = 0;
    for (int i = 0; i < 6; i++) s->args[i] = 0;
    fflush(stdout);
    int pid = fork();
    if (pid == 0) {
        /* A replay issues `calls` calls from `from` on; a campaign worker all of its own. */
        uint64_t count = opt_replay >= 0 && opt_calls ? opt_calls : UINT64_MAX;
        worker_main(s, s->seed, opt_replay >= 0 ? opt_from : 0, count);
    }
    if (pid < 0) {
        printf("fuzz: fork failed\n");
        exit(1);
    }
    s->pid = pid;
    live[j] = (struct live){ .last_calls = 0, .last_progress = now(), .killed_at = 0 };
    printf("fuzz: worker %llu slot %d pid %d seed 0x%016llx\n", (unsigned long long)worker, j, pid,
           (unsigned long long)s->seed);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_options(argc, argv);
    int replay = opt_replay >= 0;
    int nslots = replay ? 1 : opt_workers;
    /* pid 1 must outlive whatever the workers send, and the exit signals of
     * the children they leave to it (clone's low byte). Linux ignores signals
     * to init that it has no handler for; SIGKILL and SIGSTOP cannot be
     * ignored, and Keel does not protect init from them yet. */
    set_all_signals((uint64_t)(uintptr_t)SIG_IGN);

    slots = mmap(NULL, sizeof(struct slot) * MAX_WORKERS, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        printf("fuzz: cannot map the shared page\n");
        return 1;
    }
    printf("fuzz: seed %llu workers %d per_worker %llu calls %llu seconds %llu watchdog %llu skip",
           (unsigned long long)opt_seed, nslots, (unsigned long long)opt_per_worker,
           (unsigned long long)opt_calls, (unsigned long long)opt_seconds,
           (unsigned long long)opt_watchdog);
    for (int i = 0; i < opt_nskip; i++) printf("%s%llu", i ? "," : " ", (unsigned long long)opt_skip[i]);
    printf("%s\n", opt_nskip ? "" : " none");

    struct live live[MAX_WORKERS];
    uint64_t next_worker = replay ? (uint64_t)opt_replay : 0, finished_calls = 0;
    uint64_t spawned = 0, signaled = 0, watchdog_kills = 0;
    double start = now();
    for (int j = 0; j < nslots; j++, spawned++) spawn(j, next_worker++, live);

    int stopping = 0, alive = nslots;
    double last_tick = start, last_progress_line = start;
    while (alive > 0) {
        struct timespec tick = { 0, 20 * 1000 * 1000 };
        nanosleep(&tick, NULL);
        double t = now();
        /* A 20 ms sleep that took seconds: the kernel kept init off every CPU
         * (a long loop inside a system call?). Name the calls in flight. */
        if (t - last_tick >= opt_watchdog) {
            printf("fuzz: the supervisor did not run for %.1fs; calls in flight:\n", t - last_tick);
            for (int j = 0; j < nslots; j++) {
                if (!slots[j].pid) continue;
                char call[256];
                *put_call(call, slots[j].nr, slots[j].args) = 0;
                printf("fuzz:   worker %llu pid %d call %llu: %s\n", (unsigned long long)slots[j].worker,
                       slots[j].pid, (unsigned long long)slots[j].index, call);
            }
        }
        last_tick = t;

        /* Reap: our workers and whatever they forked and left to init. */
        int status, pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int j = 0; j < nslots; j++) {
                if (slots[j].pid != pid) continue;
                finished_calls += slots[j].calls;
                signaled += WIFSIGNALED(status) && !live[j].killed_at;
                /* worker_setup's _exit(100..105), before any fuzzed call */
                if (WIFEXITED(status) && WEXITSTATUS(status) >= 100 && WEXITSTATUS(status) <= 105 &&
                    slots[j].calls == 0) {
                    printf("fuzz: worker %llu could not set up (status %d): the campaign tests nothing\n",
                           (unsigned long long)slots[j].worker, WEXITSTATUS(status));
                    return 1;
                }
                slots[j].pid = 0;
                alive--;
                if (!stopping && !replay) {
                    spawn(j, next_worker++, live);
                    spawned++;
                    alive++;
                }
                break;
            }
        }

        uint64_t total = finished_calls;
        for (int j = 0; j < nslots; j++)
            if (slots[j].pid) total += slots[j].calls;
        if (t - last_progress_line >= PROGRESS_SECONDS) {
            printf("fuzz: progress: %.0fs calls=%llu\n", t - start, (unsigned long long)total);
            last_progress_line = t;
        }
        if (!stopping && ((opt_calls && !replay && total >= opt_calls) || t - start >= opt_seconds)) {
            stopping = 1;
            printf("fuzz: stopping after %.1fs and %llu calls\n", t - start, (unsigned long long)total);
            for (int j = 0; j < nslots; j++)
                if (slots[j].pid) {
                    kill(slots[j].pid, SIGKILL);
                    live[j].killed_at = t;
                }
        }

        /* The watchdog. */
        for (int j = 0; j < nslots; j++) {
            struct slot *s = &slots[j];
            if (!s->pid) continue;
            if (s->calls != live[j].last_calls) {
                live[j].last_calls = s->calls;
                live[j].last_progress = t;
            } else if (!live[j].killed_at && t - live[j].last_progress >= opt_watchdog) {
                printf("fuzz: worker %llu pid %d made no progress for %llus in call %llu: ",
                       (unsigned long long)s->worker, s->pid, (unsigned long long)opt_watchdog,
                       (unsigned long long)s->index);
                char call[256];
                *put_call(call, s->nr, s->args) = 0;
                printf("%s; SIGKILL\n", call);
                kill(s->pid, SIGKILL);
                live[j].killed_at = t;
                watchdog_kills++;
            }
            if (live[j].killed_at && t - live[j].killed_at >= KILL_GRACE_SECONDS) {
                printf("fuzz: UNKILLABLE worker pid %d seed 0x%016llx call %llu nr %llu args",
                       s->pid, (unsigned long long)s->seed, (unsigned long long)s->index,
                       (unsigned long long)s->nr);
                for (int i = 0; i < 6; i++) printf(" 0x%llx", (unsigned long long)s->args[i]);
                printf(" worker=%llu\n", (unsigned long long)s->worker);
                fflush(stdout);
                return 1;
            }
        }
    }

    double seconds = now() - start;
    printf("fuzz: summary: calls=%llu seconds=%.1f calls_per_s=%.0f workers=%llu signaled=%llu "
           "watchdog_kills=%llu unkillable=0 seed=%llu\n",
           (unsigned long long)finished_calls, seconds, finished_calls / (seconds > 0 ? seconds : 1),
           (unsigned long long)spawned, (unsigned long long)signaled,
           (unsigned long long)watchdog_kills, (unsigned long long)opt_seed);
    return 0;
}
