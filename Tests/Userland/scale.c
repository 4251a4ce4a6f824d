/*
 * scale: how a kernel path scales with CPUs, in the style of will-it-scale.
 * Installed as /bin/scale; not a test (tools/userland-tests.sh runs only
 * test_*). `make bench` boots it with 2 CPUs under Keel and under Linux.
 *
 * Each row runs W workers (W = 1, then 2) for SECONDS (default 1) and counts
 * the operations they finished; a kernel that scales does about twice as many
 * with 2 workers on 2 CPUs. Output, for tools/bench.py to parse:
 *     scale <row> <workers> <operations per second>
 * Rows:
 *   getpid               processes calling getpid
 *   mmap_munmap          processes mapping and unmapping 4 KiB
 *   page_fault_procs     processes faulting fresh pages (map 64 pages, touch, unmap)
 *   page_fault_threads   threads of one process doing the same (one mm)
 *   fork_exit_wait       processes forking a child that exits, and waiting
 * Workers share a control page: they spin until `go`, count into their own
 * cache line, and stop when the parent, which sleeps through the run, sets
 * `stop`.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 2
#define FAULT_PAGES 64

struct control {
    volatile int ready, go, stop;
    struct { volatile long long count; char pad[56]; } slot[MAX_WORKERS] __attribute__((aligned(64)));
};

static struct control *ctl;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One operation of each row; returns how many it counts as (pages for faults). */
static long op_getpid(void)
{
    syscall(SYS_getpid);   /* not the libc wrapper, which could cache the pid */
    return 1;
}

static long op_mmap_munmap(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    munmap(p, 4096);
    return 1;
}

static long op_page_faults(void)
{
    volatile char *p = mmap(NULL, FAULT_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    for (int i = 0; i < FAULT_PAGES; i++)
        p[i * 4096] = 1;
    munmap((void *)p, FAULT_PAGES * 4096);
    return FAULT_PAGES;
}

static long op_fork(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0 || waitpid(pid, NULL, 0) != pid)
        return 0;
    return 1;
}

struct row {
    const char *name;
    long (*op)(void);
    int threads;   /* workers are threads of one process, not processes */
};

static const struct row rows[] = {
    { "getpid", op_getpid, 0 },
    { "mmap_munmap", op_mmap_munmap, 0 },
    { "page_fault_procs", op_page_faults, 0 },
    { "page_fault_threads", op_page_faults, 1 },
    { "fork_exit_wait", op_fork, 0 },
};

static const struct row *current_row;

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    __atomic_fetch_add(&ctl->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&ctl->go, __ATOMIC_ACQUIRE))
        ;
    long long done = 0;
    while (!__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED)) {
        done += current_row->op();
        ctl->slot[me].count = done;
    }
    return NULL;
}

/* Runs `row` with `workers` workers for `seconds`; returns operations per second. */
static double run(const struct row *row, int workers, double seconds)
{
    memset((void *)ctl, 0, sizeof *ctl);
    current_row = row;
    pid_t pids[MAX_WORKERS];
    pthread_t threads[MAX_WORKERS];
    for (int i = 0; i < workers; i++) {
        if (row->threads) {
            pthread_create(&threads[i], NULL, worker, (void *)(long)i);
        } else if ((pids[i] = fork()) == 0) {
            worker((void *)(long)i);
            _exit(0);
        }
    }
    while (__atomic_load_n(&ctl->ready, __ATOMIC_SEQ_CST) < workers)
        sched_yield();
    long long t0 = now_ns();
    __atomic_store_n(&ctl->go, 1, __ATOMIC_RELEASE);
    struct timespec nap = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
    nanosleep(&nap, NULL);
    __atomic_store_n(&ctl->stop, 1, __ATOMIC_SEQ_CST);
    long long t1 = now_ns();
    long long total = 0;
    for (int i = 0; i < workers; i++) {
        if (row->threads)
            pthread_join(threads[i], NULL);
        else
            waitpid(pids[i], NULL, 0);
        total += ctl->slot[i].count;
    }
    return (double)total * 1e9 / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0 || seconds > 60)
        seconds = 1.0;
    ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED) {
        perror("scale: mmap");
        return 1;
    }
    printf("# scale: name, workers, operations per second (%.1f s each, %ld CPUs online)\n", seconds,
           sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int w = 1; w <= MAX_WORKERS; w++) {
            printf("scale %-20s %d %12.1f\n", rows[r].name, w, run(&rows[r], w, seconds));
            fflush(stdout);
        }
    printf("# scale: done\n");
    return 0;
}
