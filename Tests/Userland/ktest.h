/*
 * ktest.h: the tiny test harness shared by every Tests/Userland program.
 *
 * Each check prints one line, TAP style:
 *     ok - name
 *     not ok - name: why
 *     ok - name # skip why
 * and ktest_done() prints the summary line the runners parse,
 *     N passed, N failed
 * and returns the exit status (0 iff nothing failed). Every line is flushed at
 * once so it stays whole and in order on a serial console, where the kernel's
 * own messages may share the line.
 *
 * The same binary runs on host Linux (proving the assertion is a Linux truth)
 * and on Keel (proving Keel); on_keel() tells them apart for the few checks
 * that only make sense on one of them.
 */
#ifndef KTEST_H
#define KTEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static int ktest_passed, ktest_failed;

/* Records one check; `fmt` explains a failure and is only formatted then. */
__attribute__((format(printf, 3, 4)))
static inline bool ktest_report(bool cond, const char *name, const char *fmt, ...)
{
    if (cond) {
        ktest_passed++;
        printf("ok - %s\n", name);
    } else {
        ktest_failed++;
        printf("not ok - %s: ", name);
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    }
    fflush(stdout);
    return cond;
}

/*
 * ok(cond, name, fmt, ...): a check; true if it passed. `cond` is evaluated
 * before the message arguments, so they may show what a call in it left
 * behind (errno, an out parameter); function arguments have no such order.
 */
#define ok(cond, ...) ({ bool ktest_cond_ = (cond); ktest_report(ktest_cond_, __VA_ARGS__); })

/* A check that does not apply here; counts as passed. */
static inline void skip(const char *name, const char *why)
{
    ktest_passed++;
    printf("ok - %s # skip %s\n", name, why);
    fflush(stdout);
}

/* Free-form commentary that the runners ignore. */
__attribute__((format(printf, 1, 2)))
static inline void note(const char *fmt, ...)
{
    printf("# ");
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Checks a call that must fail with -1 and `want` in errno; `ret` is evaluated twice. */
#define ok_errno(ret, want, name) \
    ok((ret) == -1 && errno == (want), name, "returned %ld, errno %d (%s), want -1 errno %d (%s)", \
       (long)(ret), errno, strerror(errno), (want), strerror(want))

/* True when running on Keel: its uname() reports sysname "Keel". */
static inline bool on_keel(void)
{
    struct utsname u;
    return uname(&u) == 0 && strcmp(u.sysname, "Keel") == 0;
}

/* Prints the summary line and returns the exit status for main(). */
static inline int ktest_done(void)
{
    printf("%d passed, %d failed\n", ktest_passed, ktest_failed);
    fflush(stdout);
    return ktest_failed == 0 ? 0 : 1;
}

#endif
