/*
 * test_poll: poll, ppoll, select, pselect6 and sigsuspend (Linux: fs/select.c
 * do_poll(), do_select(), poll_select_finish(); pipe_poll()).
 *
 * A pipe's read end is readable (POLLIN) with bytes in it and hung up
 * (POLLHUP) with no writer left; its write end is writable (POLLOUT) with
 * room and in error (POLLERR) with no reader left; a descriptor that is not
 * open is POLLNVAL, a negative one is skipped. A timeout of 0 returns at once,
 * a finite one after that long with 0, and select and pselect6 write the time
 * left back. ppoll and pselect6 wait with the mask they are given; a signal
 * ends the wait with EINTR, its handler having run with that mask.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen++; }

/* A child that sleeps `ms`, then does `what` to the pipe, then exits. */
static pid_t later(int ms, int fds[2], int write_byte)
{
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(ms);
        if (write_byte) {
            if (write(fds[1], "x", 1) != 1) _exit(1);
        } else {
            close(fds[1]);
        }
        _exit(0);
    }
    return pid;
}

static pid_t signal_later(int ms, int sig)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(ms);
        kill(parent, sig);
        _exit(0);
    }
    return pid;
}

static void reap(pid_t pid) { waitpid(pid, NULL, 0); }

static void test_poll_pipe(void)
{
    int p[2];
    if (!ok(pipe(p) == 0, "pipe", "errno %d", errno)) return;
    struct pollfd f[2] = { { .fd = p[0], .events = POLLIN }, { .fd = p[1], .events = POLLOUT } };
    int n = poll(f, 2, 0);
    ok(n == 1 && f[0].revents == 0 && f[1].revents == POLLOUT, "empty pipe: write end writable, read end not",
       "n %d revents %#x %#x", n, f[0].revents, f[1].revents);

    double t0 = now_ms();
    n = poll(f, 1, 100);
    double took = now_ms() - t0;
    ok(n == 0 && took >= 90 && took < 2000, "poll timeout of 100 ms returns 0 after it", "n %d took %.0f ms", n, took);

    pid_t w = later(50, p, 1);
    t0 = now_ms();
    n = poll(f, 1, -1);
    took = now_ms() - t0;
    ok(n == 1 && f[0].revents == POLLIN && took >= 30, "poll without timeout sleeps until a writer writes",
       "n %d revents %#x took %.0f ms", n, f[0].revents, took);
    reap(w);
    char c;
    ok(read(p[0], &c, 1) == 1, "the byte is there", "errno %d", errno);

    close(p[1]);
    n = poll(f, 1, 1000);
    ok(n == 1 && f[0].revents == POLLHUP, "no writer left: POLLHUP", "n %d revents %#x", n, f[0].revents);
    close(p[0]);

    if (!ok(pipe(p) == 0, "pipe", "errno %d", errno)) return;
    close(p[0]);
    struct pollfd g = { .fd = p[1], .events = POLLOUT };
    n = poll(&g, 1, 0);
    ok(n == 1 && (g.revents & POLLERR) && (g.revents & POLLOUT), "no reader left: POLLERR (and POLLOUT)",
       "n %d revents %#x", n, g.revents);
    close(p[1]);

    struct pollfd h[3] = { { .fd = 999, .events = POLLIN }, { .fd = -1, .events = POLLIN }, { .fd = 0, .events = 0 } };
    h[1].revents = 0x7;
    n = poll(h, 2, 0);
    ok(n == 1 && h[0].revents == POLLNVAL && h[1].revents == 0, "closed descriptor POLLNVAL, negative one skipped",
       "n %d revents %#x %#x", n, h[0].revents, h[1].revents);
}

static void test_poll_wakes_on_hangup(void)
{
    int p[2];
    if (pipe(p) != 0) return;
    pid_t w = later(50, p, 0);
    close(p[1]);
    struct pollfd f = { .fd = p[0], .events = POLLIN };
    int n = poll(&f, 1, 5000);
    ok(n == 1 && (f.revents & POLLHUP), "the last writer's close wakes a poller with POLLHUP", "n %d revents %#x", n, f.revents);
    reap(w);
    close(p[0]);
}

static void test_poll_hostile(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct pollfd f = { .fd = 0, .events = POLLIN };
    ok_errno(poll(&f, rl.rlim_cur + 1, 0), EINVAL, "poll nfds > RLIMIT_NOFILE: EINVAL");
    ok_errno(syscall(SYS_poll, &f, (unsigned long)-1, 0), EINVAL, "poll with a huge count: EINVAL");
    ok_errno(syscall(SYS_poll, (struct pollfd *)8, 1, 0), EFAULT, "poll with a bad array: EFAULT");
    ok(poll(NULL, 0, 0) == 0, "poll of nothing with timeout 0 returns 0", "errno %d", errno);
    double t0 = now_ms();
    int n = poll(NULL, 0, 50);
    ok(n == 0 && now_ms() - t0 >= 40, "poll of nothing sleeps for its timeout", "n %d", n);
    struct timespec bad = { .tv_sec = 0, .tv_nsec = 1000000000 };
    ok_errno(ppoll(&f, 1, &bad, NULL), EINVAL, "ppoll with tv_nsec = 1e9: EINVAL");
    struct timespec neg = { .tv_sec = -1, .tv_nsec = 0 };
    ok_errno(ppoll(&f, 1, &neg, NULL), EINVAL, "ppoll with a negative timeout: EINVAL");
    sigset_t none;
    sigemptyset(&none);
    struct timespec zero = { 0, 0 };
    ok_errno(syscall(SYS_ppoll, &f, 1, &zero, &none, 4), EINVAL, "ppoll with sigsetsize 4: EINVAL");
    ok_errno(syscall(SYS_ppoll, &f, 1, (void *)8, NULL, 8), EFAULT, "ppoll with a bad timeout pointer: EFAULT");
}

static void test_poll_regular_file(void)
{
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0) { skip("regular file always ready", "no /proc/meminfo"); return; }
    struct pollfd f = { .fd = fd, .events = POLLIN | POLLOUT };
    int n = poll(&f, 1, -1);
    ok(n == 1 && (f.revents & POLLIN), "a /proc file is always readable", "n %d revents %#x", n, f.revents);
    close(fd);
    fd = open("/", O_RDONLY | O_DIRECTORY);
    f.fd = fd;
    f.events = POLLIN;
    n = poll(&f, 1, -1);
    ok(n == 1 && f.revents == POLLIN, "a directory is always readable", "n %d revents %#x", n, f.revents);
    close(fd);
}

static void test_poll_eintr(void)
{
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &sa, NULL);
    int p[2];
    if (pipe(p) != 0) return;
    usr1_seen = 0;
    pid_t k = signal_later(50, SIGUSR1);
    struct pollfd f = { .fd = p[0], .events = POLLIN };
    int n = poll(&f, 1, 5000);
    ok(n == -1 && errno == EINTR && usr1_seen == 1, "a signal ends poll with EINTR after its handler",
       "n %d errno %d seen %d", n, errno, (int)usr1_seen);
    reap(k);

    /* ppoll: SIGUSR1 blocked outside, open inside. */
    sigset_t block, empty, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    usr1_seen = 0;
    k = signal_later(50, SIGUSR1);
    sleep_ms(150);
    ok(usr1_seen == 0, "blocked SIGUSR1 waits", "seen %d", (int)usr1_seen);
    struct timespec ts = { 5, 0 };
    n = ppoll(&f, 1, &ts, &empty);
    ok(n == -1 && errno == EINTR && usr1_seen == 1, "ppoll with an empty mask takes the pending SIGUSR1: EINTR",
       "n %d errno %d seen %d", n, errno, (int)usr1_seen);
    sigprocmask(SIG_BLOCK, NULL, &now);
    ok(sigismember(&now, SIGUSR1), "after ppoll the caller's mask is back", "not blocked");
    reap(k);

    /* ppoll with a mask that blocks it: the signal stays pending, the timeout ends it. */
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    usr1_seen = 0;
    k = signal_later(20, SIGUSR1);
    struct timespec ts2 = { 0, 200000000 };
    n = syscall(SYS_ppoll, &f, 1, &ts2, &block, 8);        /* glibc's ppoll passes a copy of the timeout */
    ok(n == 0 && ts2.tv_sec == 0 && ts2.tv_nsec == 0, "ppoll's mask holds SIGUSR1 off until its timeout, which it zeroes",
       "n %d errno %d left %ld.%09ld", n, errno, (long)ts2.tv_sec, ts2.tv_nsec);
    reap(k);
    sleep_ms(10);
    ok(usr1_seen == 1, "and SIGUSR1 is handled once the mask is back", "seen %d", (int)usr1_seen);

    /* sigsuspend */
    sigprocmask(SIG_BLOCK, &block, NULL);
    usr1_seen = 0;
    k = signal_later(30, SIGUSR1);
    n = sigsuspend(&empty);
    sigprocmask(SIG_BLOCK, NULL, &now);
    ok(n == -1 && errno == EINTR && usr1_seen == 1 && sigismember(&now, SIGUSR1),
       "sigsuspend: EINTR after the handler, the old mask back", "n %d errno %d seen %d", n, errno, (int)usr1_seen);
    reap(k);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    close(p[0]);
    close(p[1]);
}

static void test_select(void)
{
    int p[2];
    if (pipe(p) != 0) return;
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    struct timeval tv = { 0, 0 };
    int n = select(p[1] + 1, &r, &w, NULL, &tv);
    ok(n == 1 && !FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w), "select: empty pipe writable, not readable", "n %d", n);

    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 100000;
    double t0 = now_ms();
    n = syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv);      /* musl's select passes a copy of the timeval */
    double took = now_ms() - t0;
    ok(n == 0 && !FD_ISSET(p[0], &r) && took >= 90 && tv.tv_sec == 0 && tv.tv_usec == 0,
       "select timeout: 0, the set cleared, the timeval zeroed", "n %d took %.0f left %ld.%06ld", n, took,
       (long)tv.tv_sec, (long)tv.tv_usec);

    pid_t k = later(50, p, 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    n = syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv);
    ok(n == 1 && FD_ISSET(p[0], &r) && tv.tv_sec <= 4 && tv.tv_sec >= 3, "select wakes on a write, the time left written back",
       "n %d left %ld.%06ld", n, (long)tv.tv_sec, (long)tv.tv_usec);
    reap(k);

    FD_ZERO(&r);
    FD_SET(p[0], &r);
    n = select(p[0] + 1, &r, NULL, NULL, NULL);
    ok(n == 1 && FD_ISSET(p[0], &r), "select without timeout: ready at once", "n %d", n);

    FD_ZERO(&r);
    FD_SET(p[1] + 5, &r);
    tv.tv_sec = 0;
    ok_errno(select(p[1] + 6, &r, NULL, NULL, &tv), EBADF, "select of a closed descriptor: EBADF");
    ok_errno(select(-1, NULL, NULL, NULL, &tv), EINVAL, "select with nfds < 0: EINVAL");
    tv.tv_sec = -1;
    ok_errno(select(0, NULL, NULL, NULL, &tv), EINVAL, "select with a negative timeval: EINVAL");
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    ok_errno(select(p[0] + 1, (fd_set *)8, NULL, NULL, NULL), EFAULT, "select with a bad set: EFAULT");

    /* pselect6 with a mask letting a blocked signal in */
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    usr1_seen = 0;
    char c;
    ok(read(p[0], &c, 1) == 1, "drain", "errno %d", errno);
    k = signal_later(30, SIGUSR1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec ts = { 5, 0 };
    n = pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty);
    ok(n == -1 && errno == EINTR && usr1_seen == 1, "pselect with an empty mask: EINTR after the handler",
       "n %d errno %d seen %d", n, errno, (int)usr1_seen);
    reap(k);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    close(p[0]);
    close(p[1]);
}

/* Not a check: how long a byte takes there and back between two processes
 * that poll before every read (each poll sleeps, and the write wakes it). */
static void measure_ping_pong(void)
{
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0) return;
    enum { ROUNDS = 2000 };
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        struct pollfd f = { .fd = a[0], .events = POLLIN };
        for (int i = 0; i < ROUNDS; i++) {
            if (poll(&f, 1, -1) != 1 || read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    char c = 'p';
    struct pollfd f = { .fd = b[0], .events = POLLIN };
    double t0 = now_ms();
    int i = 0;
    for (; i < ROUNDS; i++) {
        if (write(a[1], &c, 1) != 1 || poll(&f, 1, -1) != 1 || read(b[0], &c, 1) != 1) break;
    }
    double took = now_ms() - t0;
    waitpid(pid, NULL, 0);
    note("poll ping-pong between two processes: %d round trips, %.1f us each", i, took * 1000 / (i ? i : 1));
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

int main(void)
{
    test_poll_pipe();
    test_poll_wakes_on_hangup();
    test_poll_hostile();
    test_poll_regular_file();
    test_poll_eintr();
    test_select();
    measure_ping_pong();
    return ktest_done();
}
