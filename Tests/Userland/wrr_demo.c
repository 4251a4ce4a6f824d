/*
 * wrr_demo: watch weighted round robin share the CPU (Lab 4). Installed as
 * /bin/wrr_demo; not a test (tools/userland-tests.sh runs only test_*).
 *
 *     wrr_demo [-s SECONDS] [-1] [WEIGHT...]
 *
 * Forks one CPU-bound child per weight (default 1 2 3 4, each 1..20), lets
 * them count loop iterations for SECONDS (default 3), and prints for each its
 * weight, the share of the CPU WRR promises it and the share of iterations it
 * got. A WRR task runs weight x 10 ms per turn, so on one CPU its share is
 * weight / (sum of the weights). With several CPUs each CPU runs its own round
 * robin over the tasks placed on it: the promise is then weight / (total
 * weight of its CPU), read from /proc/sched_wrr while they run, and each
 * CPU's total weight is shown. -1 pins every child to one CPU.
 *
 * On Linux, which has no SCHED_WRR, it says so and runs the children under
 * SCHED_OTHER (CFS), which ignores these weights: expect equal shares there.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "keel.h"
#include "schedwrr.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_CHILDREN 16
#define SAMPLES 2

struct shared {
    volatile unsigned long count[MAX_CHILDREN];
    volatile int ready, stop;
};
static struct shared *sh;

static void usage(void)
{
    fprintf(stderr, "usage: wrr_demo [-s SECONDS] [-1] [WEIGHT...]   (weights 1..20, at most %d)\n",
            MAX_CHILDREN);
    exit(2);
}

/* A child: switch to WRR (if there is WRR), wait for the start, count until told to stop. */
static void child(int i, int weight, bool wrr, int pin, int start_fd)
{
    if (pin >= 0)
        pin_to_cpu(0, pin, 0);
    if (wrr)
        sys_sched_setscheduler(0, SCHED_WRR, weight);
    __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
    char c;
    if (read(start_fd, &c, 1) != 1)
        _exit(1);
    while (!sh->stop)
        sh->count[i]++;
    _exit(0);
}

/* Where each child was in the latest readable /proc/sched_wrr (-1: not seen). */
struct placement {
    bool seen;
    int cpu[MAX_CHILDREN];
    bool moved[MAX_CHILDREN];
    int cpu_total[WRR_MAX_CPUS]; /* by CPU number; -1 if absent */
};

static void sample(struct placement *pl, const pid_t *pids, int n, int second)
{
    static struct wrr_snapshot s;
    char why[200];
    if (!read_sched_wrr(&s, why, sizeof why))
        return;
    printf("  after %d s:", second);
    for (int c = 0; c < WRR_MAX_CPUS; c++)
        pl->cpu_total[c] = -1;
    for (int c = 0; c < s.ncpus; c++) {
        if (s.cpus[c].cpu < WRR_MAX_CPUS)
            pl->cpu_total[s.cpus[c].cpu] = s.cpus[c].total_weight;
        printf("  cpu%d total weight %d", s.cpus[c].cpu, s.cpus[c].total_weight);
    }
    printf("\n");
    for (int i = 0; i < n; i++) {
        const struct wrr_row *r = wrr_find(&s, pids[i]);
        int cpu = r ? r->cpu : -1;
        if (pl->seen && cpu != pl->cpu[i])
            pl->moved[i] = true;
        pl->cpu[i] = cpu;
    }
    pl->seen = true;
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int seconds = 3, pin = -1, opt;
    bool one_cpu = false;
    while ((opt = getopt(argc, argv, "s:1")) != -1) {
        if (opt == 's' && atoi(optarg) > 0)
            seconds = atoi(optarg);
        else if (opt == '1')
            one_cpu = true;
        else
            usage();
    }
    int weights[MAX_CHILDREN] = { 1, 2, 3, 4 }, n = 4;
    if (optind < argc) {
        if (argc - optind > MAX_CHILDREN)
            usage();
        for (n = 0; optind < argc; optind++, n++) {
            weights[n] = atoi(argv[optind]);
            if (weights[n] < SCHED_WRR_MIN_WEIGHT || weights[n] > SCHED_WRR_MAX_WEIGHT)
                usage();
        }
    }
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (one_cpu)
        pin = first_allowed_cpu();
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += weights[i];

    /* Is there a WRR class? On Keel this (re)sets our own weight, 10 by default. */
    bool wrr = sys_sched_setscheduler(0, SCHED_WRR, SCHED_WRR_DEFAULT_WEIGHT) == 0;
    printf("wrr_demo: %d CPU-bound children, weights", n);
    for (int i = 0; i < n; i++)
        printf(" %d", weights[i]);
    printf(", counting loop iterations for %d s; %ld CPU%s online%s.\n", seconds, ncpus, ncpus == 1 ? "" : "s",
           pin >= 0 ? ", all children pinned to one" : "");
    if (wrr) {
        printf("Under SCHED_WRR a task runs weight x 10 ms per turn, round robin, so on one CPU\n"
               "its share of the CPU is its weight / the sum of the weights there.\n");
        if (ncpus > 1 && pin < 0)
            printf("With %ld CPUs each runs its own round robin over the tasks placed on it (the\n"
                   "CPU with the least total weight at the time), so the promise is per CPU:\n"
                   "weight / (total weight of its CPU), read from /proc/sched_wrr below.\n",
                   ncpus);
    } else {
        printf("sched_setscheduler(SCHED_WRR) failed (%s): this is not Keel. The children run\n"
               "under SCHED_OTHER instead (Linux's CFS), which gives CPU-bound tasks of equal\n"
               "nice equal shares whatever weight we meant: compare the two share columns.\n",
               strerror(errno));
    }
    fflush(stdout);

    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int start[2];
    if (sh == MAP_FAILED || pipe(start) != 0) {
        perror("wrr_demo: setting up");
        return 1;
    }
    memset((void *)sh, 0, sizeof *sh); /* populated before fork: Keel shares only pages that exist by then */
    pid_t pids[MAX_CHILDREN];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            child(i, weights[i], wrr, pin, start[0]);
        if (pids[i] < 0) {
            perror("wrr_demo: fork");
            return 1;
        }
    }
    /* As SCHED_FIFO this parent counts in no CPU's WRR weight and wakes on time. */
    if (wrr && sys_sched_setscheduler(0, SCHED_FIFO, 1) != 0)
        printf("(could not make this parent SCHED_FIFO: %s; it adds weight 10 while it runs)\n", strerror(errno));
    while (sh->ready < n)
        sleep_ms(10);
    for (int i = 0; i < n; i++)
        if (write(start[1], "g", 1) != 1)
            perror("wrr_demo: start");

    sleep_ms(300); /* let every child get going before counting */
    unsigned long first[MAX_CHILDREN], got[MAX_CHILDREN], total = 0;
    for (int i = 0; i < n; i++)
        first[i] = sh->count[i];
    struct placement pl = { .seen = false };
    bool per_cpu = wrr && ncpus > 1 && pin < 0;
    if (per_cpu)
        printf("\nWhile they run, /proc/sched_wrr shows each CPU's total weight:\n");
    for (int s = 1; s <= SAMPLES; s++) {
        sleep_ms(seconds * 1000L / (SAMPLES + 1));
        if (per_cpu)
            sample(&pl, pids, n, s * seconds / (SAMPLES + 1));
    }
    sleep_ms(seconds * 1000L / (SAMPLES + 1));
    for (int i = 0; i < n; i++) {
        got[i] = sh->count[i] - first[i];
        total += got[i];
    }
    sh->stop = 1;
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    if (per_cpu && !pl.seen)
        printf("  (/proc/sched_wrr could not be read)\n");

    printf("\n child   pid  weight  slice%s  expected  measured  iterations\n", per_cpu ? "   CPU" : "");
    for (int i = 0; i < n; i++) {
        double expected = 100.0 * weights[i] / sum, measured = total ? 100.0 * got[i] / total : 0;
        char cpu[16] = "";
        if (per_cpu) {
            int c = pl.cpu[i];
            if (pl.seen && c >= 0 && c < WRR_MAX_CPUS && pl.cpu_total[c] > 0) {
                /* This child's weight against its CPU's, its iterations against its CPU-mates'. */
                unsigned long mates = 0;
                for (int k = 0; k < n; k++)
                    mates += pl.cpu[k] == c ? got[k] : 0;
                expected = 100.0 * weights[i] / pl.cpu_total[c];
                measured = mates ? 100.0 * got[i] / mates : 0;
                snprintf(cpu, sizeof cpu, "%5d%s", c, pl.moved[i] ? "*" : " ");
            } else {
                snprintf(cpu, sizeof cpu, "%5s ", "?");
            }
        }
        printf("%6d %5d %7d %4d ms%s %7.1f %% %7.1f %% %11lu\n", i + 1, pids[i], weights[i], weights[i] * 10, cpu,
               expected, measured, got[i]);
    }
    if (per_cpu)
        printf("Shares are of the child's CPU (\"?\": not seen in /proc/sched_wrr, shares of all).\n"
               "* marks a child that balancing moved while it ran: its numbers mix two CPUs.\n");
    if (!wrr)
        printf("\"expected\" is what SCHED_WRR would give on one CPU; -1 pins all children to one.\n");
    return 0;
}
