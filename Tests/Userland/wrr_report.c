/*
 * wrr_report: the guest half of `make wrr-report` (the host half is
 * tools/wrr-report.py, which boots Keel with this program as init once per CPU
 * count and turns what it prints into plots). Installed as /bin/wrr_report;
 * not a test (tools/userland-tests.sh runs only test_*). Keel only: it needs
 * SCHED_WRR and /proc/sched_wrr.
 *
 *     wrr_report [-n TASKS] [-m MEASURE_MS] [-i INTERVAL_MS] [-r RAMP_MS]
 *                [-s SETTLE_MS] [-H HOLD_MS] [-g GAP_MS]
 *
 * One CPU-bound child per weight 1..TASKS (default 20). Every INTERVAL_MS
 * (default 100) the parent, a SCHED_FIFO task and so no part of any CPU's WRR
 * weight, records a sample: each child's CPU time (how: below) and, from
 * /proc/sched_wrr, each CPU's total WRR weight and the CPU each child is
 * queued on. The run has four phases, each there for the plots:
 *
 *   ramp     a new child every RAMP_MS (200), weights 1, 2, ..., TASKS in that
 *            order: each is placed on the CPU with the least total weight, so
 *            the per-CPU totals climb in turn; the last, heaviest arrivals
 *            leave a gap that the periodic balancer (every 100 ms) narrows.
 *   settle   SETTLE_MS (1000) for the balancer to finish.
 *   measure  MEASURE_MS (8400): nothing changes; the host computes the shares.
 *   drain    with several CPUs every child on CPU 0 is killed at once and, for
 *            HOLD_MS (1500), the others are left to the balancer, which refills
 *            CPU 0; then the rest are killed one every GAP_MS (200), heaviest
 *            first, each exit an imbalance for the balancer to even out.
 *
 * A killed child leaves its run queue when it next runs (it must run to exit,
 * as on Linux): children killed together exit one after another within a
 * tick, but one that waits behind others leaves only when its turn comes.
 *
 * How a child's CPU time is measured: utime + stime from /proc/<pid>/stat,
 * which Keel, like Linux without VIRT_CPU_ACCOUNTING, samples at the scheduler
 * tick (the task running when a 10 ms tick comes is charged the tick), in the
 * clock ticks of sysconf(_SC_CLK_TCK), 1/100 s. The counting is not the
 * scheduler's choosing: WRR decides who runs, the tick only observes it. Loop
 * iterations and wall-clock time are no measure under QEMU's TCG: there a
 * virtual CPU's speed follows the host's load (it varied 0.15..1.1x within
 * seconds on a busy 2-core host) and QEMU's thread stalls for up to ~100 ms,
 * while WRR's slices, and what it promises, are counted in the guest's ticks.
 *
 * After the run it prints, between "WRR-REPORT-BEGIN" and "WRR-REPORT-END":
 *   config cpus=N tasks=N interval_ms=N ramp_ms=N settle_ms=N measure_ms=N hold_ms=N gap_ms=N clk_tck=N
 *          sample_ms=X (how long taking one sample took, on average)
 *   task INDEX pid=PID weight=W
 *   event T_MS fork|kill|exit task=INDEX
 *   s T_MS PHASE TOTALS CPUS COUNTS OWN
 * where TOTALS is each CPU's total_weight (cpu0,cpu1,...), CPUS each child's
 * CPU in /proc/sched_wrr (-1: not a queued WRR task: not forked yet, not yet
 * WRR, or gone) and COUNTS each child's utime + stime so far in clock ticks
 * (1/100 s), comma-separated; OWN is the sampler's own utime + stime.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "keel.h"
#include "schedwrr.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_TASKS SCHED_WRR_MAX_WEIGHT
/* The longest the drain may wait for killed children to run and exit. */
#define DRAIN_LIMIT_MS 20000

enum phase { RAMP, SETTLE, MEASURE, DRAIN, DONE };
static const char *const phase_names[] = { "ramp", "settle", "measure", "drain" };

struct sample {
    uint32_t t_ms;
    uint8_t phase;
    int16_t cpu[MAX_TASKS];
    uint64_t count[MAX_TASKS];
    long long own;   /* the sampler's own utime + stime */
    int32_t *totals; /* ncpus entries, in totals_store */
};

static struct sample *samples;
static int32_t *totals_store;
static int nsamples, max_samples, ncpus;
static double sampling_ms; /* time spent taking samples, for the report */

struct event {
    uint32_t t_ms;
    const char *what;
    int task;
};
static struct event events[3 * MAX_TASKS];
static int nevents;

static pid_t pids[MAX_TASKS];
static bool forked[MAX_TASKS], killed[MAX_TASKS], reaped[MAX_TASKS];

static void usage(void)
{
    fprintf(stderr, "usage: wrr_report [-n TASKS] [-m MEASURE_MS] [-i INTERVAL_MS] [-r RAMP_MS] [-s SETTLE_MS] "
                    "[-H HOLD_MS] [-g GAP_MS]   (TASKS 1..%d)\n", MAX_TASKS);
    exit(2);
}

static _Noreturn void die(const char *what)
{
    printf("wrr_report: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A child: become WRR with its weight, then spin until killed. */
static _Noreturn void child(int weight)
{
    if (sys_sched_setscheduler(0, SCHED_WRR, weight) != 0)
        _exit(3);
    for (;;)
        __asm__ volatile("" ::: "memory");
}

/* utime + stime of `pid` in clock ticks, from /proc/<pid>/stat; -1 if unreadable. */
static long long cpu_ticks(pid_t pid)
{
    char path[32], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_whole(path, text, sizeof text) < 0)
        return -1;
    const char *p = strrchr(text, ')'); /* the name may hold spaces and parentheses */
    unsigned long long utime, stime;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (long long)(utime + stime);
}

static pid_t spawn(int weight)
{
    pid_t pid = fork();
    if (pid == 0)
        child(weight);
    if (pid < 0)
        die("fork");
    return pid;
}

static void sleep_until(double t_ms)
{
    struct timespec t = { (time_t)(t_ms / 1000), (long)((t_ms - (time_t)(t_ms / 1000) * 1000.0) * 1e6) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

static void event(double t_ms, const char *what, int task)
{
    events[nevents++] = (struct event){ (uint32_t)t_ms, what, task };
}

/* CPU times first, then placement from /proc/sched_wrr. */
static void take_sample(double t_ms, enum phase phase, int ntasks)
{
    static struct wrr_snapshot snap;
    if (nsamples == max_samples)
        return;
    double started = now_ms();
    struct sample *s = &samples[nsamples];
    s->t_ms = (uint32_t)t_ms;
    s->phase = (uint8_t)phase;
    s->totals = totals_store + (size_t)nsamples * ncpus;
    for (int i = 0; i < ntasks; i++) {
        long long ticks = forked[i] && !reaped[i] ? cpu_ticks(pids[i]) : -1;
        s->count[i] = ticks >= 0 ? (uint64_t)ticks : nsamples ? samples[nsamples - 1].count[i] : 0;
    }
    s->own = cpu_ticks(getpid());
    char why[200];
    if (!read_sched_wrr(&snap, why, sizeof why)) {
        printf("wrr_report: /proc/sched_wrr: %s\n", why);
        exit(1);
    }
    for (int c = 0; c < ncpus; c++) {
        const struct wrr_cpu *cpu = wrr_cpu(&snap, c);
        s->totals[c] = cpu ? cpu->total_weight : -1;
    }
    for (int i = 0; i < ntasks; i++) {
        const struct wrr_row *r = forked[i] ? wrr_find(&snap, pids[i]) : NULL;
        s->cpu[i] = r ? (int16_t)r->cpu : -1;
    }
    nsamples++;
    sampling_ms += now_ms() - started;
}

/* Reaps exited children without waiting; true once all forked ones are gone. */
static bool reap(double t_ms, int ntasks)
{
    bool all = true;
    for (int i = 0; i < ntasks; i++) {
        if (forked[i] && !reaped[i] && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
            reaped[i] = true;
            event(t_ms, "exit", i);
        }
        all &= !forked[i] || reaped[i];
    }
    return all;
}

static void kill_task(double t_ms, int i)
{
    if (kill(pids[i], SIGKILL) != 0)
        die("kill");
    killed[i] = true;
    event(t_ms, "kill", i);
}

static void print_csv_i32(const int32_t *v, int n)
{
    for (int i = 0; i < n; i++)
        printf(i ? ",%d" : "%d", v[i]);
}

int main(int argc, char **argv)
{
    int ntasks = MAX_TASKS, measure_ms = 8400, interval_ms = 100, ramp_ms = 200, settle_ms = 1000, hold_ms = 1500,
        gap_ms = 200, opt;
    while ((opt = getopt(argc, argv, "n:m:i:r:s:H:g:")) != -1) {
        int v = atoi(optarg);
        if (v <= 0)
            usage();
        switch (opt) {
        case 'n': ntasks = v; break;
        case 'm': measure_ms = v; break;
        case 'i': interval_ms = v; break;
        case 'r': ramp_ms = v; break;
        case 's': settle_ms = v; break;
        case 'H': hold_ms = v; break;
        case 'g': gap_ms = v; break;
        default: usage();
        }
    }
    if (optind != argc || ntasks > MAX_TASKS)
        usage();
    ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpus < 1 || ncpus > WRR_MAX_CPUS)
        die("sysconf(_SC_NPROCESSORS_ONLN)");
    if (access("/proc/sched_wrr", R_OK) != 0) {
        printf("wrr_report: no /proc/sched_wrr (%s): this is not Keel\n", strerror(errno));
        return 2;
    }
    /* As SCHED_FIFO the sampler counts in no CPU's WRR weight and wakes on time. */
    if (sys_sched_setscheduler(0, SCHED_FIFO, 10) != 0)
        die("sched_setscheduler(SCHED_FIFO)");

    long total_ms = (long)ntasks * ramp_ms + settle_ms + measure_ms + hold_ms + (long)ntasks * gap_ms + DRAIN_LIMIT_MS;
    max_samples = (int)(total_ms / interval_ms) + 2;
    samples = calloc((size_t)max_samples, sizeof *samples);
    totals_store = calloc((size_t)max_samples * ncpus, sizeof *totals_store);
    if (!samples || !totals_store)
        die("allocating the sample buffers");

    printf("wrr_report: %d CPU%s, %d tasks (weights 1..%d), a sample every %d ms, measuring for %d ms\n", ncpus,
           ncpus == 1 ? "" : "s", ntasks, ntasks, interval_ms, measure_ms);
    fflush(stdout);

    /* Each phase starts when the one before has done its part (forks wait for a
     * child that is slow to become WRR), so they are timed from there. */
    double t0 = now_ms(), measure_at = 0, drain_at = 0, next_kill = 0;
    enum phase phase = RAMP;
    int next_fork = 0;
    for (long k = 0; phase != DONE;) {
        sleep_until(t0 + (double)k * interval_ms);
        double t = now_ms() - t0;
        k = (long)(t / interval_ms) + 1; /* woken late (QEMU's thread waited for the host): skip, do not bunch up */
        if (phase == RAMP && next_fork == ntasks && t >= (double)ntasks * ramp_ms) {
            phase = SETTLE;
            measure_at = t + settle_ms;
            drain_at = measure_at + measure_ms;
        }
        if (phase == SETTLE && t >= measure_at)
            phase = MEASURE;
        if (phase == MEASURE && t >= drain_at)
            phase = DRAIN;
        bool all_gone = reap(t, ntasks);
        take_sample(t, phase, ntasks);
        /* Actions follow the sample, so a sample shows the state they met. A
         * child is forked only once the one before shows in /proc/sched_wrr
         * (it has made itself WRR): its weight counts where the next goes. */
        const struct sample *now = &samples[nsamples - 1];
        if (phase == RAMP && next_fork < ntasks && t >= (double)next_fork * ramp_ms &&
            (next_fork == 0 || now->cpu[next_fork - 1] >= 0)) {
            pids[next_fork] = spawn(next_fork + 1);
            forked[next_fork] = true;
            event(t, "fork", next_fork);
            next_fork++;
        } else if (phase == DRAIN && next_kill == 0) {
            /* With several CPUs, every child on CPU 0 goes at once. */
            for (int i = 0; i < ntasks && ncpus > 1; i++)
                if (now->cpu[i] == 0)
                    kill_task(t, i);
            next_kill = t + (ncpus > 1 ? hold_ms : 0);
        } else if (phase == DRAIN && t >= next_kill) {
            int heaviest = -1;
            for (int i = 0; i < ntasks; i++)
                if (!killed[i])
                    heaviest = i; /* weight i + 1: the last one left is the heaviest */
            if (heaviest >= 0) {
                kill_task(t, heaviest);
                next_kill = t + gap_ms;
            } else if (all_gone || t >= drain_at + hold_ms + (double)ntasks * gap_ms + DRAIN_LIMIT_MS) {
                phase = DONE;
            }
        }
    }
    for (int i = 0; i < ntasks; i++)
        if (!reaped[i])
            printf("wrr_report: child %d (pid %d) did not exit in time\n", i, pids[i]);

    printf("WRR-REPORT-BEGIN\n");
    printf("config cpus=%d tasks=%d interval_ms=%d ramp_ms=%d settle_ms=%d measure_ms=%d hold_ms=%d gap_ms=%d "
           "clk_tck=%ld sample_ms=%.2f\n",
           ncpus, ntasks, interval_ms, ramp_ms, settle_ms, measure_ms, hold_ms, gap_ms, sysconf(_SC_CLK_TCK),
           nsamples ? sampling_ms / nsamples : 0.0);
    for (int i = 0; i < ntasks; i++)
        printf("task %d pid=%d weight=%d\n", i, pids[i], i + 1);
    for (int e = 0; e < nevents; e++)
        printf("event %u %s task=%d\n", events[e].t_ms, events[e].what, events[e].task);
    for (int k = 0; k < nsamples; k++) {
        const struct sample *s = &samples[k];
        printf("s %u %s ", s->t_ms, phase_names[s->phase]);
        print_csv_i32(s->totals, ncpus);
        putchar(' ');
        for (int i = 0; i < ntasks; i++)
            printf(i ? ",%d" : "%d", s->cpu[i]);
        putchar(' ');
        for (int i = 0; i < ntasks; i++)
            printf(i ? ",%llu" : "%llu", (unsigned long long)s->count[i]);
        printf(" %lld\n", s->own);
    }
    printf("WRR-REPORT-END samples=%d\n", nsamples);
    fflush(stdout);
    return 0;
}
