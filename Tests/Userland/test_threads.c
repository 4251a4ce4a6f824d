/*
 * test_threads: threads as musl's pthreads build them on clone(2) (Linux:
 * kernel_clone() with CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
 * CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
 * CLONE_CHILD_CLEARTID) and futex(2) (kernel/futex/).
 *
 *   - pthread_create/join with return values; globals and heap are shared;
 *     a mutex keeps a counter exact and a condition variable runs a bounded
 *     queue (both sleep in FUTEX_WAIT when contended, musl has no other way;
 *     its condition variable also needs FUTEX_REQUEUE, tested on its own);
 *   - __thread variables: each thread starts from the initial image and keeps
 *     its own copy (CLONE_SETTLS gives each its own %fs base);
 *   - gettid differs from getpid in a thread, equals it in the main thread;
 *   - exit(2) ends one thread (pthread_exit while others run; a raw clone
 *     whose exit clears and wakes its CLONE_CHILD_CLEARTID word), the main
 *     thread's pthread_exit leaves the process alive until its last thread
 *     ends (in this program re-executed with MAIN_EXITS_FIRST), and
 *     exit_group(2) from any thread ends the whole process: in a forked
 *     child, judged by the wait status;
 *   - clone's flag rules (EINVAL: CLONE_THREAD without CLONE_SIGHAND,
 *     CLONE_SIGHAND without CLONE_VM) and futex's results: EAGAIN when the
 *     word differs, ETIMEDOUT, EINVAL for a misaligned word, and FUTEX_WAKE
 *     returning how many it woke;
 *   - shared futexes: a word in MAP_SHARED memory is one futex in every process
 *     that maps it (a child's FUTEX_WAIT is woken by the parent's FUTEX_WAKE),
 *     while FUTEX_PRIVATE_FLAG, or a word in a private mapping, names the word
 *     of one address space only;
 *   - one open file shared by threads has one offset, moved by one read or
 *     getdents64 at a time: threads reading or listing the same descriptor
 *     between them see each byte and each entry once (Linux: f_pos_lock).
 * Children never print; processes that should die are waited for with a
 * deadline, so a kernel that loses track of a thread fails instead of hanging.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Linux's <linux/futex.h>, which musl does not ship. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)

#define NTHREADS 4
#define MANY 32

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static long futex(volatile int *word, int op, int val, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

/*
 * Waits up to `ms` for child `pid` to end; its wait status, or -1 if it is
 * still running (it is then killed and reaped) or could not be waited for.
 */
static int wait_status(pid_t pid, long ms)
{
    int status;
    for (long waited = 0; pid > 0; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 || waited >= ms)
            break;
        sleep_ms(10);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

static const char *describe(int status)
{
    static char text[48];
    if (status == -1)
        snprintf(text, sizeof text, "still running after the deadline");
    else if (WIFEXITED(status))
        snprintf(text, sizeof text, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "signal %d", WTERMSIG(status));
    else
        snprintf(text, sizeof text, "status %#x", status);
    return text;
}

/* ---- create, join, share ------------------------------------------------------ */

static int shared_global = 1234;
static volatile unsigned global_bits;
static int *heap;

struct seen {
    pid_t pid, tid;
    int global;
};
static struct seen seen[NTHREADS];

static void *basic_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    seen[i] = (struct seen){ getpid(), gettid_(), shared_global };
    __atomic_fetch_or(&global_bits, 1u << i, __ATOMIC_SEQ_CST);
    heap[i] = i * i + 1;
    return (void *)(intptr_t)(i + 100);
}

static void test_create_join(void)
{
    heap = calloc(NTHREADS, sizeof *heap);
    pthread_t t[NTHREADS];
    int created = 0, joined = 0;
    for (int i = 0; i < NTHREADS; i++)
        created += pthread_create(&t[i], NULL, basic_thread, (void *)(intptr_t)i) == 0;
    if (!ok(created == NTHREADS, "pthread_create 4 threads", "%d created", created))
        return;
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        joined += pthread_join(t[i], &ret) == 0 && ret == (void *)(intptr_t)(i + 100);
    }
    ok(joined == NTHREADS, "pthread_join returns each thread's return value", "%d of 4 right", joined);
    bool global_ok = global_bits == (1u << NTHREADS) - 1, heap_ok = true;
    for (int i = 0; i < NTHREADS; i++) {
        global_ok &= seen[i].global == 1234;
        heap_ok &= heap[i] == i * i + 1;
    }
    ok(global_ok, "threads read and write the same globals", "bits %#x", global_bits);
    ok(heap_ok, "threads write into the creator's malloc'd memory", "a slot was not written");

    bool pids_ok = true, tids_ok = true;
    for (int i = 0; i < NTHREADS; i++) {
        pids_ok &= seen[i].pid == getpid();
        tids_ok &= seen[i].tid > 0 && seen[i].tid != getpid();
        for (int j = 0; j < i; j++)
            tids_ok &= seen[i].tid != seen[j].tid;
    }
    ok(gettid_() == getpid(), "in the main thread gettid equals getpid", "tid %d pid %d", gettid_(), getpid());
    ok(pids_ok, "every thread's getpid is the process's pid (its tgid)", "a thread saw another pid");
    ok(tids_ok, "every thread has its own tid, not the pid", "tids %d %d %d %d", seen[0].tid, seen[1].tid,
       seen[2].tid, seen[3].tid);
    free(heap);
}

static void *idle_thread(void *arg)
{
    return arg;
}

static void test_many(void)
{
    pthread_t t[MANY];
    int created = 0, joined = 0;
    for (int i = 0; i < MANY; i++)
        created += pthread_create(&t[i], NULL, idle_thread, (void *)(intptr_t)i) == 0;
    for (int i = 0; i < created; i++) {
        void *ret;
        joined += pthread_join(t[i], &ret) == 0 && ret == (void *)(intptr_t)i;
    }
    ok(created == MANY && joined == MANY, "32 threads at once, all joined", "%d created, %d joined", created,
       joined);
}

/* ---- mutex and condition variable --------------------------------------------- */

#define INCREMENTS 100000
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add_thread(void *unused)
{
    (void)unused;
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&lock);
        long v = counter;
        if (i % 1000 == 0)
            sched_yield(); /* give the others a chance to find the lock taken */
        counter = v + 1;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void test_mutex(void)
{
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, add_thread, NULL);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    ok(counter == (long)NTHREADS * INCREMENTS, "a mutex keeps 4 x 100000 increments exact", "counter %ld",
       counter);
}

#define QUEUE 4
#define ITEMS 2000
static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    int item[QUEUE], head, len, done;
    long sum[2];
    int taken[2];
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .not_full = PTHREAD_COND_INITIALIZER, .not_empty = PTHREAD_COND_INITIALIZER };

static void *consumer(void *arg)
{
    int me = (int)(intptr_t)arg;
    pthread_mutex_lock(&q.lock);
    for (;;) {
        while (q.len == 0 && !q.done)
            pthread_cond_wait(&q.not_empty, &q.lock);
        if (q.len == 0)
            break;
        q.sum[me] += q.item[q.head];
        q.taken[me]++;
        q.head = (q.head + 1) % QUEUE;
        q.len--;
        pthread_cond_signal(&q.not_full);
    }
    pthread_mutex_unlock(&q.lock);
    return NULL;
}

static void test_condvar(void)
{
    pthread_t c[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&c[i], NULL, consumer, (void *)(intptr_t)i);
    for (int v = 1; v <= ITEMS; v++) {
        pthread_mutex_lock(&q.lock);
        while (q.len == QUEUE)
            pthread_cond_wait(&q.not_full, &q.lock);
        q.item[(q.head + q.len) % QUEUE] = v;
        q.len++;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.lock);
    }
    pthread_mutex_lock(&q.lock);
    q.done = 1;
    pthread_cond_broadcast(&q.not_empty);
    pthread_mutex_unlock(&q.lock);
    for (int i = 0; i < 2; i++)
        pthread_join(c[i], NULL);
    long want = (long)ITEMS * (ITEMS + 1) / 2;
    ok(q.sum[0] + q.sum[1] == want && q.taken[0] + q.taken[1] == ITEMS,
       "a condition variable passes 2000 items through a 4-slot queue to 2 consumers",
       "%d items, sum %ld, want %d and %ld", q.taken[0] + q.taken[1], q.sum[0] + q.sum[1], ITEMS, want);
    note("consumers took %d and %d items", q.taken[0], q.taken[1]);
}

/* ---- thread-local storage -------------------------------------------------- */

static __thread int tls_value = 42;
static __thread char tls_name[16];

struct tls_report {
    int initial, kept;
    uintptr_t address;
};
static struct tls_report tls_seen[NTHREADS];

static void *tls_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    tls_seen[i].initial = tls_value;
    tls_seen[i].address = (uintptr_t)&tls_value;
    tls_value = 1000 + i;
    snprintf(tls_name, sizeof tls_name, "thread %d", i);
    sleep_ms(20); /* the others write their copies meanwhile */
    char want[16];
    snprintf(want, sizeof want, "thread %d", i);
    tls_seen[i].kept = tls_value == 1000 + i && strcmp(tls_name, want) == 0;
    return NULL;
}

static void test_tls(void)
{
    tls_value = 7;
    strcpy(tls_name, "main");
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, tls_thread, (void *)(intptr_t)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    bool initial = true, kept = true, distinct = true;
    for (int i = 0; i < NTHREADS; i++) {
        initial &= tls_seen[i].initial == 42;
        kept &= tls_seen[i].kept;
        distinct &= tls_seen[i].address != (uintptr_t)&tls_value;
        for (int j = 0; j < i; j++)
            distinct &= tls_seen[i].address != tls_seen[j].address;
    }
    ok(initial, "a new thread's __thread variable starts at its initializer, not the creator's value",
       "saw %d %d %d %d", tls_seen[0].initial, tls_seen[1].initial, tls_seen[2].initial, tls_seen[3].initial);
    ok(distinct, "each thread's __thread variable lives at its own address", "two threads shared one");
    ok(kept, "each thread keeps its own __thread values while the others write theirs", "a value changed");
    ok(tls_value == 7 && strcmp(tls_name, "main") == 0, "the main thread's __thread values are untouched",
       "tls_value %d, tls_name \"%s\"", tls_value, tls_name);
}

/* ---- how threads end ------------------------------------------------------------ */

static volatile int spinning;
static volatile long spins;

static void *spin_thread(void *unused)
{
    (void)unused;
    while (spinning)
        spins++;
    return NULL;
}

static void leave_early(void)
{
    pthread_exit((void *)77); /* from a nested call: the rest of exiting_thread never runs */
}

static void *exiting_thread(void *unused)
{
    (void)unused;
    leave_early();
    return (void *)1;
}

static void test_pthread_exit(void)
{
    pthread_t spinner, leaver;
    spinning = 1;
    pthread_create(&spinner, NULL, spin_thread, NULL);
    void *ret = NULL;
    ok(pthread_create(&leaver, NULL, exiting_thread, NULL) == 0 && pthread_join(leaver, &ret) == 0 &&
           ret == (void *)77,
       "pthread_exit in a nested call ends the thread with its value", "joined %p", ret);
    long before = spins;
    sleep_ms(50);
    ok(spins > before, "the other threads run on after one exits", "the spinner stopped at %ld", spins);
    spinning = 0;
    pthread_join(spinner, NULL);
}

/*
 * The main thread's pthread_exit, in a fresh image of this program (musl
 * 1.2.3's fork leaves the child's main thread without its clear-tid word, so
 * in a merely forked child the last thread would wait forever for a lock the
 * main thread took with it): main writes 'M' and leaves, a thread writes 'L'
 * 100 ms later and returns, which exits the process with status 0.
 */
#define MAIN_EXITS_FIRST "--main-exits-first"

static int report_fd;

static void *late_thread(void *unused)
{
    (void)unused;
    sleep_ms(100);
    return (void *)(intptr_t)write(report_fd, "L", 1);
}

static int main_exits_first(int fd)
{
    report_fd = fd;
    pthread_t t;
    if (pthread_create(&t, NULL, late_thread, NULL) != 0)
        return 3;
    if (write(fd, "M", 1) != 1)
        return 4;
    pthread_exit(NULL);
}

static void test_main_pthread_exit(void)
{
    int fds[2];
    if (!ok(pipe(fds) == 0, "a pipe for the main-thread-exit child", "errno %d", errno))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        char self[1100], fd[16];
        const char *root = getenv("KEEL_TEST_ROOT");
        snprintf(self, sizeof self, "%s/bin/test_threads", root ? root : "");
        snprintf(fd, sizeof fd, "%d", fds[1]);
        close(fds[0]);
        execl(self, self, MAIN_EXITS_FIRST, fd, (char *)NULL);
        _exit(5);
    }
    close(fds[1]);
    int status = wait_status(pid, 5000);
    char order[4] = "";
    ssize_t n = read(fds[0], order, 3);
    close(fds[0]);
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 2 && strcmp(order, "ML") == 0,
       "after the main thread's pthread_exit the process lives until its last thread ends, then exits 0",
       "%s, wrote \"%s\"", describe(status), order);
}

static pthread_mutex_t never_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *blocked_thread(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&never_lock);
    for (;;)
        pthread_cond_wait(&never, &never_lock);
    return NULL;
}

static void *group_exiting_thread(void *arg)
{
    sleep_ms(50); /* let the others settle into their loops and waits */
    if (arg)
        syscall(SYS_exit_group, 9);
    _exit(7); /* musl's _exit is exit_group too */
}

/* In a child: a spinning thread, one blocked in FUTEX_WAIT, the main thread in
 * pthread_join, and one that calls exit_group. */
static void test_exit_group(bool raw)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t[3];
        spinning = 1;
        if (pthread_create(&t[0], NULL, spin_thread, NULL) || pthread_create(&t[1], NULL, blocked_thread, NULL) ||
            pthread_create(&t[2], NULL, group_exiting_thread, raw ? (void *)1 : NULL))
            _exit(3);
        pthread_join(t[1], NULL);
        _exit(4); /* never: t[1] waits forever */
    }
    int status = wait_status(pid, 5000), want = raw ? 9 : 7;
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == want,
       raw ? "syscall(SYS_exit_group, 9) from a thread ends every thread: exit status 9"
           : "_exit(7) from a thread ends every thread, spinning or waiting: exit status 7",
       "%s", describe(status));
}

/*
 * clone(flags, stack, ptid, ctid, 0) made raw: the child runs fn() on `stack`
 * and then exit(0), which ends only itself. musl's pthreads cannot be used
 * for this: their exit path also releases a lock of theirs.
 */
static long clone_thread(unsigned long flags, void *stack_top, volatile int *ptid, volatile int *ctid,
                         void (*fn)(void))
{
    long ret;
    register volatile int *r10 __asm__("r10") = ctid;
    register long r8 __asm__("r8") = 0;
    register void (*r9)(void) __asm__("r9") = fn; /* syscall keeps r9; so does the child's copy */
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "call *%%r9\n\t"
                     "mov $60, %%eax\n\t" /* SYS_exit */
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "0"((long)SYS_clone), "D"(flags), "S"(stack_top), "d"(ptid), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static volatile int raw_ran;

static void raw_body(void)
{
    raw_ran = 1;
}

static void test_raw_clone_exit(void)
{
    size_t size = 64 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(stack != MAP_FAILED, "map a stack for a raw clone thread", "errno %d", errno))
        return;
    static volatile int tid_word;
    tid_word = -1;
    unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                          CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    long tid = clone_thread(flags, stack + size, &tid_word, &tid_word, raw_body);
    if (ok(tid > 0, "clone(CLONE_VM | CLONE_THREAD | ...) starts a thread", "returned %ld, errno %d", tid, errno)) {
        bool set = tid_word == tid || tid_word == 0; /* 0: it may have exited already */
        /* pthread_join's way: sleep while the word still holds the tid. */
        double deadline = now_ms() + 5000;
        int v;
        while ((v = tid_word) != 0 && now_ms() < deadline) {
            struct timespec t = { 0, 100 * 1000000 };
            futex(&tid_word, FUTEX_WAIT, v, &t);
        }
        ok(set, "CLONE_PARENT_SETTID stores the new tid", "word %d, tid %ld", tid_word, tid);
        ok(tid_word == 0 && raw_ran,
           "exit in a thread ends only it: its CLONE_CHILD_CLEARTID word is cleared, the waiter woken",
           "word %d, ran %d", tid_word, raw_ran);
    }
    munmap(stack, size);
}

static void test_clone_errors(void)
{
    /* A call that wrongly succeeded would return 0 in a child: end just that task. */
    long r = syscall(SYS_clone, CLONE_THREAD, 0, NULL, NULL, 0);
    if (r == 0)
        syscall(SYS_exit, 0);
    ok(r == -1 && errno == EINVAL, "clone(CLONE_THREAD without CLONE_SIGHAND) fails EINVAL", "returned %ld, errno %d",
       r, errno);
    r = syscall(SYS_clone, CLONE_SIGHAND, 0, NULL, NULL, 0);
    if (r == 0)
        _exit(0);
    ok(r == -1 && errno == EINVAL, "clone(CLONE_SIGHAND without CLONE_VM) fails EINVAL", "returned %ld, errno %d",
       r, errno);
}

/* ---- futex ------------------------------------------------------------------------- */

/* Three threads each FUTEX_WAIT on `word` (while it is 0), counting arrivals and wake-ups. */
struct waiters {
    volatile int *word;
    volatile int arrived, woken;
    pthread_t thread[3];
};

static void *futex_waiter(void *arg)
{
    struct waiters *w = arg;
    __atomic_fetch_add(&w->arrived, 1, __ATOMIC_SEQ_CST);
    long r = futex(w->word, FUTEX_WAIT_PRIVATE, 0, NULL);
    __atomic_fetch_add(&w->woken, 1, __ATOMIC_SEQ_CST);
    return (void *)r;
}

static void start_waiters(struct waiters *w)
{
    for (int i = 0; i < 3; i++)
        pthread_create(&w->thread[i], NULL, futex_waiter, w);
    for (int i = 0; i < 300 && w->arrived < 3; i++)
        sleep_ms(10);
    sleep_ms(200); /* from "arrived" into FUTEX_WAIT */
}

/* Joins the three; returns how many FUTEX_WAITs returned an error. */
static int join_waiters(struct waiters *w)
{
    int failed = 0;
    for (int i = 0; i < 3; i++) {
        void *ret;
        pthread_join(w->thread[i], &ret);
        failed += ret != NULL;
    }
    return failed;
}

static volatile int futex_word;

static void test_futex(void)
{
    static volatile int word = 5;
    ok_errno(futex(&word, FUTEX_WAIT, 4, NULL), EAGAIN, "FUTEX_WAIT on a word that differs fails EAGAIN");
    ok_errno(futex(&word, FUTEX_WAIT_PRIVATE, 4, NULL), EAGAIN,
             "FUTEX_WAIT_PRIVATE on a word that differs fails EAGAIN");
    struct timespec t = { 0, 50 * 1000000 };
    double start = now_ms();
    long r = futex(&word, FUTEX_WAIT_PRIVATE, 5, &t);
    double waited = now_ms() - start;
    ok(r == -1 && errno == ETIMEDOUT && waited >= 45, "FUTEX_WAIT with a 50 ms timeout fails ETIMEDOUT after it",
       "returned %ld, errno %d, after %.0f ms", r, errno, waited);
    ok_errno(futex((volatile int *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 0, NULL), EINVAL,
             "FUTEX_WAIT on a misaligned word fails EINVAL");
    ok_errno(futex(&word, 99, 0, NULL), ENOSYS, "an unknown futex operation fails ENOSYS");
    ok(futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL) == 0, "FUTEX_WAKE with no waiters wakes 0", "errno %d",
       errno);

    static struct waiters w = { .word = &futex_word };
    start_waiters(&w);
    long one = futex(&futex_word, FUTEX_WAKE_PRIVATE, 1, NULL);
    sleep_ms(200);
    ok(one == 1 && w.woken == 1, "FUTEX_WAKE(1) with 3 waiters wakes exactly 1", "returned %ld, %d woke", one,
       w.woken);
    long rest = futex(&futex_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
    int failed = join_waiters(&w);
    ok(rest == 2 && w.woken == 3, "FUTEX_WAKE(INT_MAX) wakes the other 2 and returns 2", "returned %ld, %d woke",
       rest, w.woken);
    ok(failed == 0, "each woken FUTEX_WAIT returns 0", "%d returned an error", failed);
}

/* FUTEX_REQUEUE and FUTEX_CMP_REQUEUE move sleepers from one word to another
 * without waking them (musl's condition variables hand a signalled waiter to the
 * mutex's word this way: without it, a waiter sleeps on forever). */
static volatile int requeue_from, requeue_to;

static long requeue_op(int op, int nr_wake, long nr_requeue, volatile int *to, int val3)
{
    return syscall(SYS_futex, &requeue_from, op | FUTEX_PRIVATE_FLAG, nr_wake, (void *)nr_requeue, to, val3);
}

static void test_futex_requeue(void)
{
    ok_errno(requeue_op(FUTEX_CMP_REQUEUE, 0, 1, &requeue_to, 7), EAGAIN,
             "FUTEX_CMP_REQUEUE when the word is not val3 fails EAGAIN");
    ok_errno(requeue_op(FUTEX_CMP_REQUEUE, -1, 1, &requeue_to, 0), EINVAL,
             "FUTEX_CMP_REQUEUE with a negative wake count fails EINVAL");
    ok_errno(requeue_op(FUTEX_REQUEUE, 0, -1, &requeue_to, 0), EINVAL,
             "FUTEX_REQUEUE with a negative requeue count fails EINVAL");
    ok_errno(requeue_op(FUTEX_REQUEUE, 0, 1, (volatile int *)((char *)&requeue_to + 2), 0), EINVAL,
             "FUTEX_REQUEUE to a misaligned word fails EINVAL");

    static struct waiters w = { .word = &requeue_from };
    start_waiters(&w);
    long moved = requeue_op(FUTEX_CMP_REQUEUE, 1, 1, &requeue_to, 0);
    sleep_ms(200);
    ok(moved == 2 && w.woken == 1, "FUTEX_CMP_REQUEUE(wake 1, requeue 1) of 3 waiters wakes 1 and returns 2",
       "returned %ld, %d woke", moved, w.woken);
    long same = requeue_op(FUTEX_REQUEUE, 0, INT_MAX, &requeue_from, 0);
    ok(same == 1 && w.woken == 1, "FUTEX_REQUEUE onto the same word counts the waiter and wakes nobody",
       "returned %ld, %d woke", same, w.woken);
    long old = requeue_op(FUTEX_REQUEUE, 0, INT_MAX, &requeue_to, 0);
    ok(old == 1 && w.woken == 1, "FUTEX_REQUEUE moves the last waiter on without waking it",
       "returned %ld, %d woke", old, w.woken);
    ok(futex(&requeue_from, FUTEX_WAKE_PRIVATE, INT_MAX, NULL) == 0,
       "after the requeues FUTEX_WAKE on the first word finds nobody", "errno %d", errno);
    long second = futex(&requeue_to, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
    int failed = join_waiters(&w);
    ok(second == 2 && w.woken == 3, "FUTEX_WAKE on the second word wakes the 2 requeued waiters",
       "returned %ld, %d woke", second, w.woken);
    ok(failed == 0, "each requeued FUTEX_WAIT returns 0", "%d returned an error", failed);
}

/* A child process waits on word[0] (FUTEX_WAIT, shared); the parent tries a
 * FUTEX_WAKE with `parent_op`. Returns what the parent's wake returned; the
 * child is then woken (or not) and reaped, its status in *child_status. */
static long wake_child_waiter(volatile int *word, int parent_op, int *child_status)
{
    word[0] = 0;
    word[1] = 0;
    pid_t pid = fork();
    if (pid == 0) {
        __atomic_store_n(&word[1], 1, __ATOMIC_SEQ_CST);
        struct timespec t = { 2, 0 };
        long r = futex(word, FUTEX_WAIT, 0, &t);
        _exit(r == 0 ? 0 : errno == ETIMEDOUT ? 3 : 4);
    }
    for (int i = 0; i < 300 && !__atomic_load_n(&word[1], __ATOMIC_SEQ_CST); i++)
        sleep_ms(10);
    sleep_ms(200); /* from "arrived" into FUTEX_WAIT */
    long woke = futex(word, parent_op, 1, NULL);
    *child_status = -1;
    waitpid(pid, child_status, 0);
    return woke;
}

static void test_shared_futex(void)
{
    volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *private_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED || private_map == MAP_FAILED) {
        ok(0, "mmap for the shared futex tests", "errno %d", errno);
        return;
    }
    int status;
    long woke = wake_child_waiter(shared, FUTEX_WAKE, &status);
    ok(woke == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a word in MAP_SHARED memory: the parent's FUTEX_WAKE wakes the child's FUTEX_WAIT",
       "wake returned %ld, child status %#x (exit 3: not woken)", woke, status);
    woke = wake_child_waiter(shared, FUTEX_WAKE_PRIVATE, &status);
    ok(woke == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 3,
       "FUTEX_WAKE_PRIVATE names the parent's own word: the child waiting on the shared one sleeps on",
       "wake returned %ld, child status %#x", woke, status);
    woke = wake_child_waiter(private_map, FUTEX_WAKE, &status);
    ok(woke == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 3,
       "a word in MAP_PRIVATE memory is each process's own: the parent's wake finds no waiter",
       "wake returned %ld, child status %#x", woke, status);
    munmap((void *)shared, 4096);
    munmap((void *)private_map, 4096);
}

/* ---- one open file, one offset -------------------------------------------------- */

struct sharer {
    int fd;
    long count; /* bytes read or entries listed */
};

/* Reads the descriptor to its end in 16-byte pieces, counting the bytes. */
static void *read_shared(void *arg)
{
    struct sharer *s = arg;
    char buf[16];
    ssize_t n;
    while ((n = read(s->fd, buf, sizeof buf)) > 0)
        s->count += n;
    return NULL;
}

/* Lists the directory to its end, a buffer of about one entry per call,
 * counting the entries. */
static void *list_shared(void *arg)
{
    struct sharer *s = arg;
    char buf[64] __attribute__((aligned(8)));
    long n;
    unsigned short reclen;
    while ((n = syscall(SYS_getdents64, s->fd, buf, sizeof buf)) > 0)
        for (long pos = 0; pos < n; pos += reclen) {
            memcpy(&reclen, buf + pos + offsetof(struct dirent, d_reclen), sizeof reclen);
            if (reclen == 0)
                return NULL;
            s->count++;
        }
    return NULL;
}

/* NTHREADS threads run `body` on `fd` at once; the sum of their counts, or -1
 * if a thread could not be created. */
static long share(int fd, void *(*body)(void *))
{
    struct sharer s[NTHREADS];
    pthread_t t[NTHREADS];
    int created = 0;
    for (; created < NTHREADS; created++) {
        s[created] = (struct sharer){ fd, 0 };
        if (pthread_create(&t[created], NULL, body, &s[created]) != 0)
            break;
    }
    long total = 0;
    for (int i = 0; i < created; i++) {
        pthread_join(t[i], NULL);
        total += s[i].count;
    }
    return created == NTHREADS ? total : -1;
}

static void test_shared_offset(void)
{
    const char *root = getenv("KEEL_TEST_ROOT");
    char file[1100], dir[1100];
    snprintf(file, sizeof file, "%s/etc/keel-test.txt", root ? root : "");
    snprintf(dir, sizeof dir, "%s/bin", root ? root : "");
    struct stat st;
    int fd = open(file, O_RDONLY);
    if (ok(fd >= 0 && fstat(fd, &st) == 0, "open and fstat /etc/keel-test.txt", "errno %d", errno)) {
        long total = share(fd, read_shared);
        ok(total == st.st_size,
           "threads reading one descriptor in 16-byte pieces read its bytes once between them",
           "%ld bytes read of %lld", total, (long long)st.st_size);
        close(fd);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (!ok(fd >= 0, "open /bin", "errno %d", errno))
        return;
    struct sharer alone = { fd, 0 };
    list_shared(&alone);
    long total = lseek(fd, 0, SEEK_SET) == 0 ? share(fd, list_shared) : -2;
    ok(alone.count > 2 && total == alone.count,
       "threads listing one directory descriptor with getdents64 see each entry once between them",
       "%ld entries listed, %ld alone", total, alone.count);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], MAIN_EXITS_FIRST) == 0)
        return main_exits_first(atoi(argv[2]));
    test_create_join();
    test_many();
    test_mutex();
    test_condvar();
    test_tls();
    test_pthread_exit();
    test_raw_clone_exit();
    test_main_pthread_exit();
    test_exit_group(false);
    test_exit_group(true);
    test_clone_errors();
    test_futex();
    test_futex_requeue();
    test_shared_futex();
    test_shared_offset();
    return ktest_done();
}
