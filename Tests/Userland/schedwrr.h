/*
 * schedwrr.h: the scheduler as user space sees it, shared by test_sched,
 * test_smp and wrr_demo.
 *
 * musl's sched_setscheduler, sched_getscheduler, sched_setparam and
 * sched_getparam do not make the system call: they return -1/ENOSYS, because
 * Linux applies them to one thread where POSIX means the whole process. Keel
 * follows Linux, so these programs call them raw; sched_priority is the RT
 * priority (1..99) for SCHED_FIFO/SCHED_RR, the weight (1..20) for Keel's
 * SCHED_WRR (keel.h), and 0 for SCHED_OTHER.
 *
 * /proc/sched_wrr is Keel's (Kernel/Core/Sched/SchedWRRInfo.swift): per CPU
 *     cpu0 total_weight=30 nr_wrr=3 nr_running=4 curr=7
 *           pid    tgid weight slice_ms
 *             7       7     10      100
 * the CPU's WRR load, its WRR and all-class runnable counts and the running
 * pid ("-" while idle), then one row per runnable WRR task, running one first.
 */
#ifndef SCHEDWRR_H
#define SCHEDWRR_H

#ifndef _GNU_SOURCE
#error "schedwrr.h needs _GNU_SOURCE (cpu_set_t) defined before any #include"
#endif
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs.h"

static inline int sys_sched_setscheduler(pid_t pid, int policy, int priority)
{
    struct sched_param p = { .sched_priority = priority };
    return (int)syscall(SYS_sched_setscheduler, pid, policy, &p);
}

static inline int sys_sched_getscheduler(pid_t pid)
{
    return (int)syscall(SYS_sched_getscheduler, pid);
}

static inline int sys_sched_setparam(pid_t pid, int priority)
{
    struct sched_param p = { .sched_priority = priority };
    return (int)syscall(SYS_sched_setparam, pid, &p);
}

/* The task's sched_priority, or -1 with errno. */
static inline int sys_sched_getparam(pid_t pid)
{
    struct sched_param p = { .sched_priority = -1 };
    return syscall(SYS_sched_getparam, pid, &p) == 0 ? p.sched_priority : -1;
}

/* The lowest-numbered CPU the caller may run on, or -1. */
static inline int first_allowed_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set))
            return cpu;
    return -1;
}

/* Restricts task `pid` (0: the caller) to `cpu`, or with cpu < 0 lets it run
 * on CPUs 0..ncpus-1; 0 or -1 with errno. */
static inline int pin_to_cpu(pid_t pid, int cpu, int ncpus)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0)
        CPU_SET(cpu, &set);
    else
        for (int c = 0; c < ncpus; c++)
            CPU_SET(c, &set);
    return sched_setaffinity(pid, sizeof set, &set);
}

/* ---- /proc/sched_wrr ------------------------------------------------------ */

#define WRR_MAX_CPUS 64
#define WRR_MAX_ROWS 512

struct wrr_cpu {
    int cpu, total_weight, nr_wrr, nr_running;
    int curr; /* pid of the running task, -1 while idle */
    int rows; /* rows that followed this header */
};

struct wrr_row {
    int cpu; /* the CPU whose block lists it */
    int pid, tgid, weight, slice_ms;
};

struct wrr_snapshot {
    int ncpus, nrows;
    struct wrr_cpu cpus[WRR_MAX_CPUS];
    struct wrr_row rows[WRR_MAX_ROWS];
};

static inline bool parse_wrr_cpu(const char *line, struct wrr_cpu *c)
{
    char curr[16];
    int used = 0;
    if (sscanf(line, "cpu%d total_weight=%d nr_wrr=%d nr_running=%d curr=%15s%n", &c->cpu,
               &c->total_weight, &c->nr_wrr, &c->nr_running, curr, &used) != 5 ||
        line[used] != '\0')
        return false;
    c->rows = 0;
    if (strcmp(curr, "-") == 0) {
        c->curr = -1;
        return true;
    }
    return sscanf(curr, "%d%n", &c->curr, &used) == 1 && curr[used] == '\0' && c->curr > 0;
}

static inline bool parse_wrr_row(const char *line, struct wrr_row *r)
{
    int used = 0;
    return sscanf(line, " %d %d %d %d%n", &r->pid, &r->tgid, &r->weight, &r->slice_ms, &used) == 4 &&
           line[used] == '\0' && r->pid > 0 && r->tgid > 0;
}

/*
 * Reads and parses /proc/sched_wrr strictly; false if it cannot be read or a
 * line is malformed (the reason is left in `why`). It only checks the format:
 * whether the numbers agree with each other is for the caller to judge.
 *
 * One read(2) takes the whole text: Keel prints a /proc file anew at every
 * read, so a second read at the end of the first text could return the tail
 * of a newer, longer one (a task queued meanwhile), and the two would not
 * make one snapshot. (Linux's seq_file keeps the text it printed for the
 * reads that follow.)
 */
static inline bool read_sched_wrr(struct wrr_snapshot *s, char *why, size_t why_size)
{
    static char text[1 << 16];
    s->ncpus = s->nrows = 0;
    int fd = open("/proc/sched_wrr", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0 || n == (ssize_t)sizeof text - 1) {
        snprintf(why, why_size, "cannot read /proc/sched_wrr in one read: %s", n < 0 ? strerror(errno) : "too long");
        return false;
    }
    text[n] = '\0';
    bool want_header = false;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) {
            snprintf(why, why_size, "last line not terminated: \"%.80s\"", line);
            return false;
        }
        *nl = '\0';
        bool good;
        if (want_header) {
            char a[8], b[8], c[8], d[12], extra[2];
            good = sscanf(line, "%7s %7s %7s %11s %1s", a, b, c, d, extra) == 4 && !strcmp(a, "pid") &&
                   !strcmp(b, "tgid") && !strcmp(c, "weight") && !strcmp(d, "slice_ms");
            want_header = false;
        } else if (strncmp(line, "cpu", 3) == 0) {
            good = s->ncpus < WRR_MAX_CPUS && parse_wrr_cpu(line, &s->cpus[s->ncpus]);
            s->ncpus += good;
            want_header = true;
        } else {
            good = s->ncpus > 0 && s->nrows < WRR_MAX_ROWS && parse_wrr_row(line, &s->rows[s->nrows]);
            if (good) {
                s->rows[s->nrows++].cpu = s->cpus[s->ncpus - 1].cpu;
                s->cpus[s->ncpus - 1].rows++;
            }
        }
        if (!good) {
            snprintf(why, why_size, "bad line: \"%.120s\"", line);
            return false;
        }
        line = nl + 1;
    }
    if (s->ncpus == 0 || want_header) {
        snprintf(why, why_size, s->ncpus == 0 ? "no cpu lines" : "a cpu line without its column header");
        return false;
    }
    return true;
}

/* The row of task `pid`, or NULL if it is not runnable under WRR. */
static inline const struct wrr_row *wrr_find(const struct wrr_snapshot *s, int pid)
{
    for (int i = 0; i < s->nrows; i++)
        if (s->rows[i].pid == pid)
            return &s->rows[i];
    return NULL;
}

/* How many rows show task `pid`. */
static inline int wrr_count(const struct wrr_snapshot *s, int pid)
{
    int n = 0;
    for (int i = 0; i < s->nrows; i++)
        n += s->rows[i].pid == pid;
    return n;
}

/* The header of CPU `cpu`, or NULL. */
static inline const struct wrr_cpu *wrr_cpu(const struct wrr_snapshot *s, int cpu)
{
    for (int i = 0; i < s->ncpus; i++)
        if (s->cpus[i].cpu == cpu)
            return &s->cpus[i];
    return NULL;
}

#endif
