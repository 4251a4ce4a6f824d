/*
 * keel.h: Keel's SDK header, the user-space side of Keel's extensions to the
 * Linux x86-64 system-call ABI.
 *
 * Everything else a Keel program needs comes from the ordinary musl headers:
 * Keel uses Linux's numbers and semantics for every call they declare.
 *
 * The extensions live at numbers above 1000, which Linux does not use, so a
 * program built with this header still runs on Linux: there the calls fail
 * with -1 and errno ENOSYS, like any unknown system call.
 */
#ifndef KEEL_H
#define KEEL_H

#include <sys/types.h>
#include <unistd.h>
#include <sys/syscall.h>

/*
 * The weighted round-robin scheduling class (Linux has no such class; the
 * number is free there, and sched_setscheduler(2) with it fails EINVAL on
 * Linux). Weight 1..20, default 10; time slice = weight x 10 ms. A WRR task's
 * sched_param.sched_priority is its weight.
 */
#define SCHED_WRR 7

#define SCHED_WRR_MIN_WEIGHT 1
#define SCHED_WRR_MAX_WEIGHT 20
#define SCHED_WRR_DEFAULT_WEIGHT 10

/* Keel-only system-call numbers: -1/ENOSYS on Linux. */
#define __NR_sched_setweight 1001
#define __NR_sched_getweight 1002

/*
 * Sets the WRR weight of task `pid` (0: the caller). Returns 0, or -1 with
 * errno EINVAL (weight out of 1..20), ESRCH (no such task), ENOSYS (Linux).
 */
static inline int sched_setweight(pid_t pid, int weight)
{
    return (int)syscall(__NR_sched_setweight, pid, weight);
}

/*
 * Returns the WRR weight of task `pid` (0: the caller), or -1 with errno ESRCH
 * (no such task) or ENOSYS (Linux).
 */
static inline int sched_getweight(pid_t pid)
{
    return (int)syscall(__NR_sched_getweight, pid);
}

#endif
