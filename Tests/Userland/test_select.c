/*
 * test_select: waiting on several descriptors (poll, ppoll, select, pselect6)
 * and process groups and sessions (setpgid, getpgid, getpgrp, setsid,
 * getsid, kill to a group), with Linux's answers and errors. (Written alongside test_poll and
 * test_jobctl, which cover the same calls from other sides.)
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void test_poll_pipe(void)
{
    int p[2];
    pipe(p);
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    ok(poll(fds, 2, 0) == 1 && fds[0].revents == 0 && (fds[1].revents & POLLOUT),
       "an empty pipe: only the write end is ready", "read %#x write %#x", fds[0].revents, fds[1].revents);
    write(p[1], "x", 1);
    ok(poll(fds, 1, 0) == 1 && (fds[0].revents & POLLIN), "after a write the read end is readable", "%#x",
       fds[0].revents);
    long long t0 = now_ms();
    char c;
    read(p[0], &c, 1);
    ok(poll(fds, 1, 60) == 0 && now_ms() - t0 >= 50, "a 60 ms timeout with nothing to read returns 0 after it",
       "after %lld ms", now_ms() - t0);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        write(p[1], "y", 1);
        _exit(0);
    }
    t0 = now_ms();
    int n = poll(fds, 1, -1);
    ok(n == 1 && (fds[0].revents & POLLIN) && now_ms() - t0 >= 30, "poll sleeps until another process writes",
       "n %d revents %#x after %lld ms", n, fds[0].revents, now_ms() - t0);
    waitpid(pid, NULL, 0);
    read(p[0], &c, 1);
    close(p[1]);
    ok(poll(fds, 1, 0) == 1 && (fds[0].revents & POLLHUP), "no writer left: POLLHUP", "%#x", fds[0].revents);
    close(p[0]);
    pipe(p);
    close(p[0]);
    struct pollfd w = {p[1], POLLOUT, 0};
    ok(poll(&w, 1, 0) == 1 && (w.revents & POLLERR), "no reader left: POLLERR on the write end", "%#x", w.revents);
    close(p[1]);
    struct pollfd bad[2] = {{p[1], POLLIN, 0}, {-1, POLLIN, 0}};
    ok(poll(bad, 2, 0) == 1 && bad[0].revents == POLLNVAL && bad[1].revents == 0,
       "a closed fd: POLLNVAL; a negative one is skipped", "%#x %#x", bad[0].revents, bad[1].revents);
    int fd = open("/dev/null", O_RDWR);
    struct pollfd file = {fd, POLLIN | POLLOUT, 0};
    ok(poll(&file, 1, 0) == 1 && (file.revents & (POLLIN | POLLOUT)) == (POLLIN | POLLOUT),
       "/dev/null is always ready", "%#x", file.revents);
    close(fd);
    ok(poll(NULL, 0, 0) == 0, "poll of nothing", "errno %d", errno);
    ok_errno(poll((void *)1, 1, 0), EFAULT, "a bad array: EFAULT");
    ok_errno(poll(NULL, 100000, 0), EINVAL, "more entries than RLIMIT_NOFILE: EINVAL");
}

static void test_select(void)
{
    int p[2];
    pipe(p);
    fd_set r, w;
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(p[0], &r); FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    int n = select(p[1] + 1, &r, &w, NULL, &tv);
    ok(n == 1 && !FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w), "select: only the write end is ready", "n %d", n);
    write(p[1], "z", 1);
    FD_ZERO(&r); FD_SET(p[0], &r);
    tv.tv_sec = 5; tv.tv_usec = 0;
    n = select(p[0] + 1, &r, NULL, NULL, &tv);
    ok(n == 1 && FD_ISSET(p[0], &r), "select sees the byte", "n %d", n);
    ok(tv.tv_sec <= 5 && (tv.tv_sec < 5 || tv.tv_usec == 0), "the timeval holds what is left", "%ld.%06ld",
       (long)tv.tv_sec, (long)tv.tv_usec);
    char c;
    read(p[0], &c, 1);
    FD_ZERO(&r); FD_SET(p[0], &r);
    tv.tv_sec = 0; tv.tv_usec = 30000;
    long long t0 = now_ms();
    ok(select(p[0] + 1, &r, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &r) && now_ms() - t0 >= 20,
       "select times out and clears the set", "after %lld ms", now_ms() - t0);
    close(p[0]); close(p[1]);
    FD_ZERO(&r); FD_SET(p[0], &r);
    tv.tv_sec = 0; tv.tv_usec = 0;
    ok_errno(select(p[0] + 1, &r, NULL, NULL, &tv), EBADF, "a closed descriptor in a set: EBADF");
    tv.tv_usec = 1000000;
    ok(select(0, NULL, NULL, NULL, &tv) == 0, "tv_usec of a million carries into the seconds", "errno %d", errno);
    tv.tv_sec = 0; tv.tv_usec = -1;
    ok_errno(select(0, NULL, NULL, NULL, &tv), EINVAL, "a negative tv_usec: EINVAL");
    ok_errno(select(-1, NULL, NULL, NULL, NULL), EINVAL, "nfds -1: EINVAL");
    struct timespec ts = {0, 0};
    ok(pselect(0, NULL, NULL, NULL, &ts, NULL) == 0, "pselect of nothing", "errno %d", errno);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1++; }

static void test_ppoll_mask(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);                                  /* pending, blocked */
    struct timespec ts = {0, 20000000};
    ok(ppoll(NULL, 0, &ts, &block) == 0 && got_usr1 == 0, "ppoll with SIGUSR1 still blocked times out", "handler %d",
       got_usr1);
    sigset_t open;
    sigemptyset(&open);
    ts.tv_sec = 5; ts.tv_nsec = 0;
    int r = ppoll(NULL, 0, &ts, &open);
    ok(r == -1 && errno == EINTR && got_usr1 == 1, "ppoll with it unblocked: EINTR, the handler ran",
       "ret %d errno %d handler %d", r, errno, got_usr1);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    ok(sigismember(&now, SIGUSR1), "after the handler the old mask is back", "SIGUSR1 no longer blocked");
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
}

static void test_groups(void)
{
    ok(getpgid(0) == getpgrp() && getpgid(getpid()) == getpgrp(), "getpgid(0) is getpgrp()", "no");
    ok(getsid(0) == getsid(getpid()) && getsid(0) >= 0, "getsid(0) is the caller's (PID 1 starts in session 0)", "no");
    ok_errno(getpgid(INT_MAX), ESRCH, "getpgid of no process: ESRCH");
    ok_errno(getsid(INT_MAX), ESRCH, "getsid of no process: ESRCH");
    ok_errno(setpgid(0, -1), EINVAL, "setpgid to a negative group: EINVAL");
    pid_t probe = fork();
    if (probe == 0) _exit(setpgid(getppid(), 0) == -1 && errno == ESRCH ? 0 : 1);
    int ps;
    waitpid(probe, &ps, 0);
    ok(WIFEXITED(ps) && WEXITSTATUS(ps) == 0, "setpgid of a process that is not a child (the parent): ESRCH",
       "child status %#x", ps);
    ok(kill(0, 0) == 0, "kill(0, 0): my group exists", "errno %d", errno);
    ok_errno(kill(-INT_MAX, 0), ESRCH, "kill to an empty group: ESRCH");

    int go[2];
    pipe(go);
    pid_t a = fork();
    if (a == 0) { char c; read(go[0], &c, 1); pause(); _exit(0); }
    pid_t b = fork();
    if (b == 0) { char c; read(go[0], &c, 1); pause(); _exit(0); }
    ok(setpgid(a, a) == 0 && getpgid(a) == a, "a parent puts its child in a new group", "errno %d", errno);
    ok(setpgid(b, a) == 0 && getpgid(b) == a, "and a second child in the same group", "errno %d", errno);
    ok_errno(setpgid(b, INT_MAX), EPERM, "to a group that does not exist: EPERM");
    ok(kill(-a, SIGTERM) == 0, "kill(-pgid) signals the group", "errno %d", errno);
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    ok(WIFSIGNALED(sa) && WTERMSIG(sa) == SIGTERM && WIFSIGNALED(sb) && WTERMSIG(sb) == SIGTERM,
       "both members died of SIGTERM", "status %#x %#x", sa, sb);
    close(go[0]); close(go[1]);

    pid_t c = fork();
    if (c == 0) {
        pid_t me = getpid();
        if (setsid() != me) _exit(1);
        if (getsid(0) != me || getpgrp() != me) _exit(2);
        if (setsid() != -1 || errno != EPERM) _exit(3);       /* a group leader may not */
        if (setpgid(0, 0) != -1 || errno != EPERM) _exit(4);  /* a session leader stays put */
        _exit(0);
    }
    int sc;
    waitpid(c, &sc, 0);
    ok(WIFEXITED(sc) && WEXITSTATUS(sc) == 0, "setsid: a new session and group; then EPERM", "child status %#x", sc);
}

int main(void)
{
    test_poll_pipe();
    test_select();
    test_ppoll_mask();
    test_groups();
    return ktest_done();
}
