/*
 * test_smp: Keel's WRR class on several CPUs (Lab 4):
 * placement by total weight, balancing, the thread-group tie rule, and a
 * churn of processes and threads. Keel must show 4 CPUs (tools/userland-
 * tests.sh boots this test with --smp 4) or the test fails at once; on Linux,
 * which has no /proc/sched_wrr, the WRR checks skip (all of parts 1 and 2
 * with fewer than 4 CPUs) and the churn runs shorter.
 *
 * On Keel the parent makes itself SCHED_FIFO: it is then no WRR task, so it
 * adds to no CPU's total weight, and it reads /proc/sched_wrr the moment it
 * wakes instead of after a WRR slice. Its children inherit SCHED_FIFO and
 * switch themselves to SCHED_WRR with their weights before they spin.
 *
 *  1. Placement and balance: eight children of weights 8..1 block in read()
 *     on their pipes (a blocked task is on no run queue: every CPU shows total
 *     weight 0), then are woken heaviest first. Each woken task goes to the
 *     CPU with the least total weight, so the totals come out as that greedy
 *     rule predicts (on 4 CPUs: 9 each, with 8+1, 7+2, 6+3 and 5+4 paired).
 *     After 1 s, five readings 200 ms apart: the totals never further apart
 *     than the largest weight, every CPU running WRR work, each child listed
 *     exactly once, each CPU's total the sum of its rows. All eight progress.
 *  2. Thread-group ties: spinners of weight 5 pinned to CPUs 0..2 and a
 *     process P of weight 5 placed on CPU 3 make every total 5. A thread P
 *     then creates ties everywhere and must join P's CPU (more tasks of its
 *     group), not the lowest-numbered CPU; balancing leaves it there, since
 *     moving 5 from a total of 10 to one of 5 would not narrow the gap. P and
 *     its thread see each other's writes.
 *  3. Churn: for CHURN_SECONDS (argv[1] or the environment; default 20 on
 *     Keel, 3 on Linux) the parent keeps 25 processes of 1..4 threads alive,
 *     100 tasks at most. Each task picks random weights and lives 5 to 330 ms;
 *     the parent also re-weighs and re-pins them at random and kills some; a
 *     process ends by returning after joining its threads, by exit_group with
 *     threads still running, or by the SIGKILL. Then: all end within 10 s (no
 *     deadlock), all reaped, no WRR weight left on any CPU, and MemFree back
 *     within 256 KiB of a baseline taken after a one-second warm-up churn
 *     (on Linux within 256 MiB, as in test_stress: other processes move it).
 * Children never print.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"
#include "keel.h"
#include "procfs.h"
#include "schedwrr.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define NEEDED_CPUS 4
#define SPINNERS 8
#define READINGS 5
#define CHURN_PROCS 25
#define CHURN_MAX_THREADS 3 /* besides each process's main thread */
#define KIB 1024LL

static bool keel;
static long ncpus;

/* Shared with the children. */
struct shared {
    volatile unsigned long count[SPINNERS];
    volatile int ready, go;
    volatile int thread_tid;                 /* part 2: the tid of P's thread */
    volatile unsigned long p_saw, thread_saw; /* part 2: what each read of the other's memory */
    volatile int threads;                     /* part 3: threads the churn processes created */
};
static struct shared *sh;

static void stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* In a child on Keel: leave the parent's SCHED_FIFO for SCHED_WRR with
 * `weight`, before spinning (a FIFO spinner would keep its CPU for good). */
static void child_becomes_wrr(int weight)
{
    if (keel && sys_sched_setscheduler(0, SCHED_WRR, weight) != 0)
        _exit(100);
}

/* Waits up to `ms` for `n` children to report ready. */
static bool wait_ready(int n, long ms)
{
    for (long waited = 0; sh->ready < n && waited < ms; waited += 10)
        sleep_ms(10);
    return sh->ready >= n;
}

static bool read_wrr(struct wrr_snapshot *s, const char *name)
{
    char why[200];
    return ok(read_sched_wrr(s, why, sizeof why), name, "%s", why);
}

/* "9 9 9 9": the CPUs' total weights. */
static const char *totals_text(const struct wrr_snapshot *s)
{
    static char text[WRR_MAX_CPUS * 12];
    size_t len = 0;
    text[0] = '\0';
    for (int i = 0; i < s->ncpus && len < sizeof text; i++)
        len += snprintf(text + len, sizeof text - len, "%s%d", i ? " " : "", s->cpus[i].total_weight);
    return text;
}

static int spread(const struct wrr_snapshot *s)
{
    int lo = s->cpus[0].total_weight, hi = lo;
    for (int i = 1; i < s->ncpus; i++) {
        lo = s->cpus[i].total_weight < lo ? s->cpus[i].total_weight : lo;
        hi = s->cpus[i].total_weight > hi ? s->cpus[i].total_weight : hi;
    }
    return hi - lo;
}

/* Each CPU's header agrees with its rows: count and summed weight. */
static bool rows_add_up(const struct wrr_snapshot *s)
{
    for (int i = 0; i < s->ncpus; i++) {
        int sum = 0;
        for (int r = 0; r < s->nrows; r++)
            sum += s->rows[r].cpu == s->cpus[i].cpu ? s->rows[r].weight : 0;
        if (sum != s->cpus[i].total_weight || s->cpus[i].rows != s->cpus[i].nr_wrr)
            return false;
    }
    return true;
}

static int compare_ints(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* ---- 1. placement and balance ------------------------------------------------- */

static const int weights[SPINNERS] = { 8, 7, 6, 5, 4, 3, 2, 1 }; /* the order they are woken in */

/* The CPUs' totals, sorted, after waking `weights` in order onto idle CPUs with
 * the least-total-weight rule (ties do not change the totals). */
static void predict_totals(int *totals)
{
    for (int c = 0; c < ncpus; c++)
        totals[c] = 0;
    for (int i = 0; i < SPINNERS; i++) {
        int best = 0;
        for (int c = 1; c < ncpus; c++)
            best = totals[c] < totals[best] ? c : best;
        totals[best] += weights[i];
    }
    qsort(totals, (size_t)ncpus, sizeof *totals, compare_ints);
}

static void check_placement(const pid_t *pids)
{
    struct wrr_snapshot s;
    if (!read_wrr(&s, "read /proc/sched_wrr right after the wake-ups"))
        return;
    int listed = 0;
    for (int i = 0; i < SPINNERS; i++)
        listed += wrr_count(&s, pids[i]) == 1;
    ok(listed == SPINNERS && s.ncpus == ncpus, "all eight woken children are queued, each on one CPU",
       "%d of 8 listed once, %d CPU blocks", listed, s.ncpus);
    int want[WRR_MAX_CPUS], got[WRR_MAX_CPUS];
    predict_totals(want);
    for (int c = 0; c < s.ncpus; c++)
        got[c] = s.cpus[c].total_weight;
    qsort(got, (size_t)s.ncpus, sizeof *got, compare_ints);
    bool same = s.ncpus == ncpus;
    for (int c = 0; same && c < ncpus; c++)
        same = got[c] == want[c];
    ok(same, "each woken task went to the CPU with the least total weight (totals as predicted)",
       "totals %s", totals_text(&s));
    if (ncpus != NEEDED_CPUS)
        return;
    bool paired = true;
    for (int i = 0; i < NEEDED_CPUS; i++) {
        const struct wrr_row *a = wrr_find(&s, pids[i]), *b = wrr_find(&s, pids[SPINNERS - 1 - i]);
        paired &= a && b && a->cpu == b->cpu;
    }
    ok(paired, "on 4 CPUs weights 8+1, 7+2, 6+3 and 5+4 share a CPU", "totals %s", totals_text(&s));
}

/* Five readings over a second: the balance the brief asks for, every time. */
static void check_balance(const pid_t *pids)
{
    int balanced = 0, busy = 0, listed = 0, consistent = 0, readable = 0;
    for (int r = 0; r < READINGS; r++) {
        if (r)
            sleep_ms(200);
        struct wrr_snapshot s;
        char why[200];
        if (!read_sched_wrr(&s, why, sizeof why)) {
            note("reading %d: %s", r + 1, why);
            continue;
        }
        readable++;
        note("reading %d: total weights %s", r + 1, totals_text(&s));
        balanced += spread(&s) <= weights[0];
        bool all_busy = s.ncpus == ncpus, once = true;
        for (int c = 0; c < s.ncpus; c++)
            all_busy &= s.cpus[c].nr_wrr > 0;
        for (int i = 0; i < SPINNERS; i++)
            once &= wrr_count(&s, pids[i]) == 1;
        busy += all_busy;
        listed += once;
        consistent += rows_add_up(&s);
    }
    ok(readable == READINGS, "/proc/sched_wrr reads and parses five times", "%d of 5", readable);
    ok(balanced == READINGS, "the CPUs' total weights stay within the largest weight (8) of each other",
       "%d of 5 readings", balanced);
    ok(busy == READINGS, "every CPU runs WRR work", "%d of 5 readings", busy);
    ok(listed == READINGS, "each child is listed exactly once", "%d of 5 readings", listed);
    ok(consistent == READINGS, "each CPU's total_weight and nr_wrr match its rows", "%d of 5 readings",
       consistent);
}

static void test_placement_and_balance(void)
{
    int pipes[SPINNERS][2];
    pid_t pids[SPINNERS];
    sh->ready = 0;
    for (int i = 0; i < SPINNERS; i++) {
        sh->count[i] = 0;
        if (pipe(pipes[i]) != 0) {
            ok(false, "pipes for the eight children", "errno %d", errno);
            for (int k = 0; k < i; k++)
                stop(pids[k]);
            return;
        }
        pids[i] = fork();
        if (pids[i] == 0) {
            child_becomes_wrr(weights[i]);
            __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
            char c;
            if (read(pipes[i][0], &c, 1) != 1)
                _exit(101);
            for (;;)
                sh->count[i]++;
        }
        close(pipes[i][0]);
    }
    if (ok(wait_ready(SPINNERS, 5000), "eight children of weights 8..1 start and block in read()",
           "%d ready", sh->ready) &&
        keel) {
        /* Ready comes just before read(): wait until none is queued any more. */
        struct wrr_snapshot s;
        char why[200];
        bool empty = false;
        for (int tries = 0; tries < 100 && !empty; tries++, sleep_ms(10)) {
            empty = read_sched_wrr(&s, why, sizeof why);
            for (int c = 0; empty && c < s.ncpus; c++)
                empty = s.cpus[c].total_weight == 0 && s.cpus[c].nr_wrr == 0;
        }
        ok(empty, "blocked tasks are on no run queue: every CPU's total weight is 0", "totals %s",
           totals_text(&s));
    }
    for (int i = 0; i < SPINNERS; i++)
        if (write(pipes[i][1], "x", 1) != 1)
            note("waking child %d failed: errno %d", i, errno);
    if (keel) {
        check_placement(pids);
        sleep_ms(1000);
        check_balance(pids);
    } else {
        skip("woken tasks go to the CPU with the least total weight", "not Keel (no /proc/sched_wrr)");
        skip("the CPUs' total weights stay within the largest weight of each other", "not Keel");
        sleep_ms(1000);
    }
    int progressed = 0;
    for (int i = 0; i < SPINNERS; i++)
        progressed += sh->count[i] > 0;
    ok(progressed == SPINNERS, "all eight CPU-bound children make progress", "%d of 8 counted", progressed);
    for (int i = 0; i < SPINNERS; i++) {
        note("weight %d: %lu iterations", weights[i], sh->count[i]);
        stop(pids[i]);
        close(pipes[i][1]);
    }
}

/* ---- 2. thread-group ties ------------------------------------------------------- */

#define GROUP_MAGIC 0x5eedUL
static volatile unsigned long group_magic, group_count; /* P's memory, shared with its thread */

static void *group_thread(void *unused)
{
    (void)unused;
    sh->thread_saw = group_magic;
    sh->thread_tid = (int)syscall(SYS_gettid);
    for (;;)
        group_count++;
    return NULL;
}

/* Process P: weight 5 on the last CPU, allowed everywhere; on `go` it starts a thread. */
static void group_process(int last)
{
    group_magic = GROUP_MAGIC;
    if (pin_to_cpu(0, last, 0) != 0)
        _exit(102);
    child_becomes_wrr(5);
    if (pin_to_cpu(0, -1, (int)ncpus) != 0)
        _exit(103);
    __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
    while (!sh->go) {
    }
    pthread_t t;
    if (pthread_create(&t, NULL, group_thread, NULL) != 0)
        _exit(104);
    for (;;)
        sh->p_saw = group_count;
}

static void test_thread_group_ties(void)
{
    int last = (int)ncpus - 1, nfillers = last;
    pid_t fillers[WRR_MAX_CPUS], p;
    sh->ready = sh->go = sh->thread_tid = 0;
    sh->p_saw = sh->thread_saw = 0;
    for (int c = 0; c < nfillers; c++) {
        fillers[c] = fork();
        if (fillers[c] == 0) {
            if (pin_to_cpu(0, c, 0) != 0)
                _exit(102);
            child_becomes_wrr(5);
            __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
            for (;;) {
            }
        }
    }
    p = fork();
    if (p == 0)
        group_process(last);

    struct wrr_snapshot s;
    char why[200] = "not ready";
    bool laid_out = false;
    if (wait_ready(nfillers + 1, 5000)) {
        for (int tries = 0; tries < 50 && !laid_out; tries++, sleep_ms(20)) {
            if (!read_sched_wrr(&s, why, sizeof why))
                continue;
            const struct wrr_row *pr = wrr_find(&s, p);
            laid_out = s.ncpus == ncpus && pr && pr->cpu == last;
            for (int c = 0; laid_out && c < s.ncpus; c++)
                laid_out = s.cpus[c].total_weight == 5 && s.cpus[c].nr_wrr == 1;
            snprintf(why, sizeof why, "totals %s, P on CPU %d", totals_text(&s), pr ? pr->cpu : -1);
        }
    }
    if (ok(laid_out, "spinners of weight 5 on CPUs 0..2 and P (weight 5) on CPU 3: all totals 5", "%s", why)) {
        sh->go = 1;
        for (int i = 0; i < 200 && !sh->thread_tid; i++)
            sleep_ms(10);
        sleep_ms(100);
        const struct wrr_row *pr = NULL, *tr = NULL;
        if (read_wrr(&s, "read /proc/sched_wrr after P's pthread_create")) {
            pr = wrr_find(&s, p);
            tr = wrr_find(&s, sh->thread_tid);
            ok(sh->thread_tid > 0 && tr && pr && tr->tgid == p && tr->cpu == pr->cpu && tr->weight == 5,
               "with every total tied, P's new thread joins P's CPU (most tasks of its group)",
               "thread %d on CPU %d (tgid %d), P on CPU %d; totals %s", sh->thread_tid, tr ? tr->cpu : -1,
               tr ? tr->tgid : -1, pr ? pr->cpu : -1, totals_text(&s));
        }
        sleep_ms(500);
        if (read_wrr(&s, "read /proc/sched_wrr 500 ms later")) {
            pr = wrr_find(&s, p);
            tr = wrr_find(&s, sh->thread_tid);
            ok(tr && pr && tr->cpu == pr->cpu && pr->cpu == last,
               "balancing leaves the group together (moving 5 from 10 to 5 would not narrow the gap)",
               "thread on CPU %d, P on CPU %d; totals %s", tr ? tr->cpu : -1, pr ? pr->cpu : -1, totals_text(&s));
        }
        ok(sh->thread_saw == GROUP_MAGIC && sh->p_saw > 0, "P and its thread share memory",
           "thread saw %#lx, P saw the thread's counter at %lu", sh->thread_saw, sh->p_saw);
    }
    stop(p);
    for (int c = 0; c < nfillers; c++)
        stop(fillers[c]);
}

/* ---- 3. churn ------------------------------------------------------------------------ */

/* SplitMix64: small, seedable, good enough to pick weights and lifetimes. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int random_in(uint64_t *state, int lo, int hi)
{
    return lo + (int)(next_random(state) % (uint64_t)(hi - lo + 1));
}

static void spin_ms(int ms)
{
    for (double end = now_ms() + ms; now_ms() < end;)
        for (volatile int i = 0; i < 1000; i++) {
        }
}

/* One task's life: weights of its own choosing, spinning with short sleeps.
 * 0, or what went wrong. */
static int churn_work(uint64_t seed)
{
    for (int phase = random_in(&seed, 1, 3); phase > 0; phase--) {
        if (keel && sched_setweight(0, random_in(&seed, 1, 20)) != 0)
            return 10;
        spin_ms(random_in(&seed, 5, 100));
        if (random_in(&seed, 0, 2) == 0)
            sleep_ms(random_in(&seed, 1, 10));
    }
    return 0;
}

static void *churn_thread(void *seed)
{
    return (void *)(intptr_t)churn_work((uint64_t)(uintptr_t)seed);
}

/* A churn process; its exit code is 0 unless something failed. */
static int churn_process(uint64_t seed)
{
    child_becomes_wrr(random_in(&seed, 1, 20));
    pthread_t t[CHURN_MAX_THREADS];
    int n = random_in(&seed, 0, CHURN_MAX_THREADS);
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, churn_thread, (void *)(uintptr_t)next_random(&seed)) != 0)
            return 4;
    __atomic_fetch_add(&sh->threads, n, __ATOMIC_SEQ_CST);
    if (random_in(&seed, 0, 3) == 0) {
        spin_ms(random_in(&seed, 1, 30));
        _exit(0); /* exit_group while the threads may still run */
    }
    int failed = churn_work(next_random(&seed));
    for (int i = 0; i < n; i++) {
        void *ret;
        if (pthread_join(t[i], &ret) != 0 || ret != NULL)
            failed = 5;
    }
    return failed;
}

struct churn_stats {
    int processes, killed, bad, bad_status, left;
};

struct churn_child {
    pid_t pid;
    bool killed;
};

/* Reaps what has ended; with `block`, waits for one. Judges each. */
static void churn_reap(struct churn_child *live, int *nlive, struct churn_stats *st, bool block)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
        for (int i = 0; i < *nlive; i++) {
            if (live[i].pid != pid)
                continue;
            bool good = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                        (live[i].killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
            if (!good && st->bad++ == 0)
                st->bad_status = status;
            live[i] = live[--*nlive];
            break;
        }
        block = false;
    }
}

static struct churn_stats churn(long ms, uint64_t seed)
{
    struct churn_stats st = { 0 };
    struct churn_child live[CHURN_PROCS];
    int nlive = 0;
    sh->threads = 0;
    for (double end = now_ms() + ms; now_ms() < end;) {
        churn_reap(live, &nlive, &st, false);
        while (nlive < CHURN_PROCS) {
            uint64_t child_seed = next_random(&seed);
            pid_t pid = fork();
            if (pid == 0)
                _exit(churn_process(child_seed));
            if (pid < 0) {
                st.bad++;
                break;
            }
            live[nlive++] = (struct churn_child){ pid, false };
            st.processes++;
        }
        /* A task that has not left SCHED_FIFO yet refuses a weight (EINVAL);
         * one that has just exited is gone (ESRCH). Both are fine here. */
        if (nlive > 0) {
            struct churn_child *victim = &live[random_in(&seed, 0, nlive - 1)];
            if (keel && random_in(&seed, 0, 3) == 0)
                sched_setweight(victim->pid, random_in(&seed, 1, 20));
            if (random_in(&seed, 0, 7) == 0) {
                int cpu = random_in(&seed, 0, 1) ? random_in(&seed, 0, (int)ncpus - 1) : -1;
                pin_to_cpu(victim->pid, cpu, (int)ncpus);
            }
            if (random_in(&seed, 0, 29) == 0) {
                victim->killed = true;
                kill(victim->pid, SIGKILL);
                st.killed++;
            }
        }
        sleep_ms(2);
    }
    for (double end = now_ms() + 10000; nlive > 0 && now_ms() < end; sleep_ms(10))
        churn_reap(live, &nlive, &st, false);
    st.left = nlive;
    for (int i = 0; i < nlive; i++)
        kill(live[i].pid, SIGKILL);
    while (nlive > 0)
        churn_reap(live, &nlive, &st, true);
    return st;
}

static void test_churn(long seconds)
{
    uint64_t seed = 0x4b65656c534d50ULL; /* "KeelSMP" */
    churn(keel ? 1000 : 300, seed ^ 1); /* warm-up: caches that may stay, stay */
    long long before = mem_free_kib();
    ok(before > 0, "read MemFree before the churn", "got %lld", before);

    note("churn: %ld s, up to %d processes of 1..%d threads", seconds, CHURN_PROCS, CHURN_MAX_THREADS + 1);
    struct churn_stats st = churn(seconds * 1000, seed);
    note("churn: %d processes and %d threads; %d killed by the parent", st.processes, sh->threads, st.killed);
    ok(st.left == 0, "no deadlock: every churn process ended within 10 s of the end", "%d still running",
       st.left);
    ok(st.bad == 0, "every churn process exited 0 (or died of the parent's SIGKILL)",
       "%d did not; the first: status %#x", st.bad, st.bad_status);
    ok(st.processes + sh->threads >= 100, "at least 100 processes and threads came and went",
       "%d processes, %d threads", st.processes, sh->threads);
    pid_t none = waitpid(-1, NULL, WNOHANG);
    ok(none == -1 && errno == ECHILD, "every churn process was reaped", "waitpid returned %d", none);

    if (keel) {
        struct wrr_snapshot s;
        if (read_wrr(&s, "read /proc/sched_wrr after the churn")) {
            int weight = 0;
            for (int c = 0; c < s.ncpus; c++)
                weight += s.cpus[c].total_weight + s.cpus[c].nr_wrr;
            ok(weight == 0 && s.nrows == 0, "no WRR weight is left behind on any CPU", "totals %s, %d rows",
               totals_text(&s), s.nrows);
        }
    } else {
        skip("no WRR weight is left behind on any CPU", "not Keel");
    }

    long long tolerance = keel ? 256 : 256 * KIB, after = -1;
    for (int tries = 0; tries < 10; tries++) {
        after = mem_free_kib();
        if (after >= before - tolerance)
            break;
        sleep_ms(100); /* in case the kernel frees some of it later */
    }
    note("MemFree: %lld kB before, %lld kB after (%+lld kB); tolerance %lld kB", before, after, after - before,
         tolerance);
    ok(before > 0 && after >= before - tolerance, "MemFree is back at its starting value after the churn",
       "%lld kB lower, tolerance %lld kB", before - after, tolerance);
}

int main(int argc, char **argv)
{
    keel = on_keel();
    ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *arg = argc > 1 ? argv[1] : getenv("CHURN_SECONDS");
    long churn_seconds = arg ? atol(arg) : keel ? 20 : 3;
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!ok(sh != MAP_FAILED, "map a shared page for the children", "errno %d", errno))
        return ktest_done();
    note("%ld CPUs online", ncpus);

    bool enough = ncpus >= NEEDED_CPUS;
    if (keel) {
        ok(enough, "Keel runs this test on 4 CPUs",
           "only %ld online: boot with SMP=4 (tools/userland-tests.sh passes --smp 4)", ncpus);
        ok(sys_sched_setscheduler(0, SCHED_FIFO, 1) == 0, "the parent leaves the WRR class for SCHED_FIFO",
           "errno %d", errno);
    }
    if (enough) {
        test_placement_and_balance();
        if (keel)
            test_thread_group_ties();
        else
            skip("a new thread joins its group's CPU when the totals tie", "not Keel (no /proc/sched_wrr)");
    } else {
        skip("eight weighted spinners: placement, balance, progress", "fewer than 4 CPUs");
        skip("a new thread joins its group's CPU when the totals tie", "fewer than 4 CPUs");
    }
    test_churn(churn_seconds);
    return ktest_done();
}
