/*
 * test_rusage: the CPU time a process used, as getrusage(2), times(2) and
 * wait4(2)'s rusage report it (Linux: kernel/sys.c getrusage(), sys_times(),
 * wait_task_zombie()).
 *
 * Each busy loop runs until the CPU time it measures reaches its goal, with a
 * cap on the wall time, so a loaded host (an emulated CPU that gets little
 * time) slows the test down but cannot fail it:
 *   - RUSAGE_SELF and RUSAGE_THREAD grow while the process computes, by no
 *     more than the wall time that passed;
 *   - a thread's time stays the process's after the thread exits;
 *   - a reaped child's time is in wait4's rusage, in RUSAGE_CHILDREN and in
 *     times()'s tms_cutime + tms_cstime, and not before it is reaped;
 *   - a bad `who` is EINVAL, a bad pointer EFAULT.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GOAL_US 200000LL          /* 0.2 s of CPU time */
#define CAP_S 20.0                /* at most this much wall time per loop */

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static long long cpu_us(int who)
{
    struct rusage r;
    if (getrusage(who, &r) != 0) return -1;
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000LL + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}

/* Computes until `who`'s CPU time grew by GOAL_US (or CAP_S passed); returns
 * the growth and sets *elapsed to the wall time it took. */
static long long spin(int who, double *elapsed)
{
    long long start = cpu_us(who), now = start;
    double t0 = wall();
    volatile uint64_t x = 1;
    while (now - start < GOAL_US && wall() - t0 < CAP_S) {
        for (int i = 0; i < 100000; i++) x = x * 6364136223846793005ULL + 1;
        now = cpu_us(who);
    }
    *elapsed = wall() - t0;
    return now - start;
}

static long long thread_spent;

static void *thread_main(void *arg)
{
    (void)arg;
    double elapsed;
    thread_spent = spin(RUSAGE_THREAD, &elapsed);
    return NULL;
}

int main(void)
{
    double elapsed;
    long long grew = spin(RUSAGE_SELF, &elapsed);
    ok(grew >= GOAL_US, "RUSAGE_SELF grows while the process computes", "grew %lld us in %.2f s", grew, elapsed);
    ok(grew <= (long long)(elapsed * 1e6) + 20000, "RUSAGE_SELF grows by no more than the wall time",
       "grew %lld us in %.2f s", grew, elapsed);
    long long mine = cpu_us(RUSAGE_THREAD);
    ok(mine >= GOAL_US && mine <= cpu_us(RUSAGE_SELF), "RUSAGE_THREAD: this thread's time, within the process's",
       "thread %lld us", mine);

    /* A thread's time stays the process's after it exits. */
    long long before = cpu_us(RUSAGE_SELF);
    pthread_t thread;
    ok(pthread_create(&thread, NULL, thread_main, NULL) == 0 && pthread_join(thread, NULL) == 0,
       "a thread computes and exits", "errno %d", errno);
    long long after = cpu_us(RUSAGE_SELF);
    ok(thread_spent >= GOAL_US, "the thread's RUSAGE_THREAD grew while it computed", "%lld us", thread_spent);
    ok(after - before >= thread_spent - 20000, "RUSAGE_SELF keeps an exited thread's time",
       "self grew %lld us, the thread used %lld us", after - before, thread_spent);

    /* A child's time: not the parent's children's until it is reaped. */
    long long children_before = cpu_us(RUSAGE_CHILDREN);
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        double e;
        long long used = spin(RUSAGE_SELF, &e);
        if (write(fds[1], &used, sizeof used) != sizeof used) _exit(2);
        _exit(used >= GOAL_US ? 0 : 1);
    }
    long long child_used = 0;
    ok(read(fds[0], &child_used, sizeof child_used) == sizeof child_used, "the child reports its CPU time",
       "errno %d", errno);
    usleep(100000);        /* the child is exiting, not yet reaped */
    ok(cpu_us(RUSAGE_CHILDREN) == children_before, "RUSAGE_CHILDREN does not count a child before it is reaped",
       "%lld us, was %lld", cpu_us(RUSAGE_CHILDREN), children_before);
    struct rusage r;
    int status;
    memset(&r, 0xff, sizeof r);
    ok(wait4(pid, &status, 0, &r) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "wait4 reaps the child", "status %#x", status);
    long long reported = (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000LL + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
    ok(reported >= child_used - 20000 && r.ru_utime.tv_usec < 1000000 && r.ru_stime.tv_usec < 1000000,
       "wait4's rusage holds the child's CPU time", "rusage %lld us, the child used %lld us", reported, child_used);
    long long children = cpu_us(RUSAGE_CHILDREN);
    ok(children - children_before >= child_used - 20000, "RUSAGE_CHILDREN counts the reaped child",
       "%lld us, was %lld, the child used %lld", children, children_before, child_used);

    struct tms t;
    clock_t now = times(&t);
    long hz = sysconf(_SC_CLK_TCK);
    ok(now != (clock_t)-1 && hz == 100, "times() returns clock ticks (100 a second)", "returned %ld, hz %ld",
       (long)now, hz);
    ok((t.tms_cutime + t.tms_cstime) * 10000LL >= child_used - 20000, "times(): tms_cutime + tms_cstime hold the child's time",
       "%ld ticks, the child used %lld us", (long)(t.tms_cutime + t.tms_cstime), child_used);
    ok((t.tms_utime + t.tms_stime) * 10000LL >= GOAL_US, "times(): tms_utime + tms_stime hold the process's time",
       "%ld ticks", (long)(t.tms_utime + t.tms_stime));
    ok(times(NULL) != (clock_t)-1, "times(NULL) only returns the ticks", "errno %d", errno);

    ok_errno(syscall(SYS_getrusage, 42, &r), EINVAL, "getrusage(42) is EINVAL");
    ok_errno(syscall(SYS_getrusage, RUSAGE_SELF, (void *)8), EFAULT, "getrusage into an unmapped page is EFAULT");
    ok_errno(syscall(SYS_getrusage, RUSAGE_SELF, (void *)0xffff800000000000UL), EFAULT,
             "getrusage into kernel memory is EFAULT");
    ok_errno(syscall(SYS_times, (void *)8), EFAULT, "times into an unmapped page is EFAULT");
    return ktest_done();
}
