/*
 * test_wrr_numa: where Keel's WRR class places a waking task on a NUMA
 * machine (Kernel/Core/Sched/NodeBalance.swift). Argument: nodes=N, the node
 * count the machine was booted with (default 1); the CPUs split evenly, in
 * runs, as tools/run-qemu.sh --numa N makes them (4 CPUs on 2 nodes: 0-1 on
 * node 0, 2-3 on node 1). The boot test numa_wrr_placement runs it with
 * NUMA=2 SMP=4; tools/userland-tests.sh runs it on one node with 4 CPUs, and
 * on Linux (no /proc/sched_wrr) only the set-up runs and the checks skip.
 *
 * Spinners pinned to each CPU make the WRR totals 10, 5, 1, 1. A probe task
 * last ran on CPU 1 (node 0), sleeps in read(), and is woken:
 *  1. weight 10: on two nodes it stays home on CPU 1 (5 + 10 = 15 against the
 *     other node's 1: less than twice its weight), and the balancer leaves it
 *     there; on one node it goes to the lightest CPU, 2;
 *  2. weight 4: it crosses to CPU 2 (5 + 4 = 9 against 1: twice its weight);
 *  3. with CPUs 2 and 3 idle (their spinners gone), weight 10: it crosses to
 *     CPU 2, an idle CPU, since it would share CPU 1 at home.
 * The parent is SCHED_FIFO (no WRR weight) on CPU 0 and mostly asleep.
 */
#define _GNU_SOURCE
#include "keel.h"
#include "ktest.h"
#include "ktime.h"
#include "schedwrr.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define NEEDED_CPUS 4

static bool keel;
static int nodes = 1;

struct shared {
    volatile int ready;
};
static struct shared *sh;

static void stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* In a child: leave the parent's SCHED_FIFO for SCHED_WRR with `weight`. */
static void become_wrr(int weight)
{
    if (keel && sys_sched_setscheduler(0, SCHED_WRR, weight) != 0)
        _exit(100);
}

/* A child pinned to `cpu` spinning as a WRR task of `weight`. */
static pid_t spinner(int cpu, int weight)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (pin_to_cpu(0, cpu, 0) != 0)
            _exit(101);
        become_wrr(weight);
        __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
        for (;;) {
        }
    }
    return pid;
}

/* The probe: runs on CPU 1 as a WRR task of `weight`, then may run anywhere,
 * blocks reading `fd`, and spins once woken. */
static pid_t probe(int weight, int fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (pin_to_cpu(0, 1, 0) != 0)
            _exit(102);
        become_wrr(weight);
        if (pin_to_cpu(0, -1, NEEDED_CPUS) != 0)
            _exit(103);
        __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
        char c;
        if (read(fd, &c, 1) != 1)
            _exit(104);
        for (;;) {
        }
    }
    return pid;
}

static bool wait_ready(int n)
{
    for (int waited = 0; sh->ready < n && waited < 5000; waited += 10)
        sleep_ms(10);
    return sh->ready >= n;
}

/* The CPU whose queue holds `pid`, -1 if none, -2 if /proc/sched_wrr is unreadable. */
static int cpu_of(pid_t pid)
{
    struct wrr_snapshot s;
    char why[200];
    if (!read_sched_wrr(&s, why, sizeof why)) {
        note("/proc/sched_wrr: %s", why);
        return -2;
    }
    const struct wrr_row *row = wrr_find(&s, pid);
    return row ? row->cpu : -1;
}

/* Wakes a probe of `weight` that last ran on CPU 1 and checks it lands on
 * `expected`, and (with `stays`) is still there half a second later. */
static void check_probe(const char *name, int weight, int expected, bool stays)
{
    int fds[2];
    if (!ok(pipe(fds) == 0, "a pipe for the probe", "errno %d", errno))
        return;
    int before = sh->ready;
    pid_t p = probe(weight, fds[0]);
    if (!ok(p > 0 && wait_ready(before + 1), "the probe runs on CPU 1 and goes to sleep", "pid %d", p)) {
        stop(p);
        return;
    }
    if (keel) {
        /* Ready comes just before read(): wait until it is on no run queue. */
        int where = 0;
        for (int tries = 0; tries < 100 && where != -1; tries++, sleep_ms(10))
            where = cpu_of(p);
        ok(where == -1, "the sleeping probe is on no run queue", "on CPU %d", where);
    }
    ok(write(fds[1], "x", 1) == 1, "wake the probe", "errno %d", errno);
    if (keel) {
        int where = cpu_of(p);
        ok(where == expected, name, "woken on CPU %d, expected %d", where, expected);
        if (stays) {
            sleep_ms(500);
            where = cpu_of(p);
            ok(where == expected, "balancing leaves it there for 500 ms", "on CPU %d", where);
        }
    } else {
        skip(name, "not Keel (no /proc/sched_wrr)");
    }
    stop(p);
    close(fds[0]);
    close(fds[1]);
}

int main(int argc, char **argv)
{
    keel = on_keel();
    if (argc > 1 && sscanf(argv[1], "nodes=%d", &nodes) != 1) {
        printf("usage: test_wrr_numa [nodes=N]\n");
        return 2;
    }
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    note("%ld CPUs online, %d node(s)", ncpus, nodes);
    if (ncpus < NEEDED_CPUS || (nodes != 1 && nodes != 2)) {
        skip("WRR placement on NUMA nodes", "needs 4 CPUs on 1 or 2 nodes");
        return ktest_done();
    }
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!ok(sh != MAP_FAILED, "map a shared page for the children", "errno %d", errno))
        return ktest_done();
    ok(pin_to_cpu(0, 0, 0) == 0, "the parent runs on CPU 0", "errno %d", errno);
    if (keel)
        ok(sys_sched_setscheduler(0, SCHED_FIFO, 1) == 0, "the parent leaves the WRR class for SCHED_FIFO",
           "errno %d", errno);

    static const int weights[NEEDED_CPUS] = { 10, 5, 1, 1 };
    pid_t spinners[NEEDED_CPUS];
    for (int cpu = 0; cpu < NEEDED_CPUS; cpu++)
        spinners[cpu] = spinner(cpu, weights[cpu]);
    if (!ok(wait_ready(NEEDED_CPUS), "spinners of weights 10, 5, 1, 1 on CPUs 0-3", "%d ready", sh->ready)) {
        for (int cpu = 0; cpu < NEEDED_CPUS; cpu++)
            stop(spinners[cpu]);
        return ktest_done();
    }
    bool two = nodes == 2;
    check_probe(two ? "weight 10 from node 0 stays home on CPU 1 (15 vs 1 is under twice its weight)"
                    : "weight 10 on one node goes to the lightest CPU, 2",
                10, two ? 1 : 2, two);
    check_probe(two ? "weight 4 from node 0 crosses to CPU 2 (9 vs 1 is twice its weight)"
                    : "weight 4 on one node goes to the lightest CPU, 2",
                4, 2, false);
    stop(spinners[2]);
    stop(spinners[3]);
    check_probe(two ? "weight 10 crosses to node 1's idle CPU 2 rather than share CPU 1"
                    : "weight 10 on one node goes to the idle CPU 2",
                10, 2, false);
    stop(spinners[0]);
    stop(spinners[1]);
    return ktest_done();
}
