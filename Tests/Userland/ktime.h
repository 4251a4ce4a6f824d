/*
 * ktime.h: the two timing helpers the tests and demos share.
 */
#ifndef KTIME_H
#define KTIME_H

#include <errno.h>
#include <time.h>

/* Sleeps at least `ms` milliseconds, resuming after signal interruptions. */
static inline void sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, ms % 1000 * 1000000 };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

#endif
