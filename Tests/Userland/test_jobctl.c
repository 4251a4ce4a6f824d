/*
 * test_jobctl: process groups, sessions and job-control stops (Linux:
 * kernel/sys.c setpgid()/setsid(), kernel/signal.c do_signal_stop(),
 * prepare_signal(), kernel/exit.c wait_task_stopped()/wait_task_continued()).
 *
 * Everything runs in a child of main, so that it is nobody's init (under Keel
 * main is pid 1) and its own children's groups are not orphaned: a stop signal
 * other than SIGSTOP does nothing to a process of an orphaned group.
 *
 * wait4 statuses: stopped 0x7f | sig << 8, continued 0xffff.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t chld_seen;
static void on_chld(int sig) { (void)sig; chld_seen++; }

/* A child that waits for signals forever. */
static pid_t idle_child(pid_t pgid)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (pgid >= 0) setpgid(0, pgid);
        for (;;) pause();
    }
    if (pgid >= 0) setpgid(pid, pgid);          /* both sides, as shells do: no race */
    return pid;
}

static void test_groups(const char *self)
{
    pid_t me = getpid();
    ok(getpgrp() == getpgid(0) && getpgid(0) == getpgid(me), "getpgrp() == getpgid(0) == getpgid(getpid())",
       "%d %d %d", getpgrp(), getpgid(0), getpgid(me));
    ok(getsid(0) == getsid(me), "getsid(0) == getsid(getpid())", "%d %d", getsid(0), getsid(me));
    ok_errno(getpgid(999999), ESRCH, "getpgid of no process: ESRCH");
    ok_errno(getsid(999999), ESRCH, "getsid of no process: ESRCH");
    ok_errno(setpgid(0, -1), EINVAL, "setpgid to a negative group: EINVAL");
    ok_errno(setpgid(999999, 0), ESRCH, "setpgid of no process: ESRCH");

    pid_t c = idle_child(-1);
    ok(getpgid(c) == getpgrp(), "fork: the child is in the parent's group", "%d vs %d", getpgid(c), getpgrp());
    ok(getsid(c) == getsid(0), "fork: and in its session", "%d vs %d", getsid(c), getsid(0));
    ok(setpgid(c, 0) == 0 && getpgid(c) == c, "setpgid(child, 0): the child leads a new group", "pgid %d", getpgid(c));
    ok(setpgid(c, getpgrp()) == 0 && getpgid(c) == getpgrp(), "setpgid(child, my group): back", "pgid %d", getpgid(c));
    ok_errno(setpgid(c, 999999), EPERM, "setpgid to a group that does not exist: EPERM");
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    ok_errno(setpgid(c, 0), ESRCH, "setpgid of a reaped child: ESRCH");

    /* A grandchild is not ours to move. */
    int p[2];
    if (pipe(p) != 0) return;
    pid_t mid = fork();
    if (mid == 0) {
        pid_t g = idle_child(-1);
        if (write(p[1], &g, sizeof g) != sizeof g) _exit(1);
        waitpid(g, NULL, 0);
        _exit(0);
    }
    pid_t grandchild;
    if (read(p[0], &grandchild, sizeof grandchild) == sizeof grandchild) {
        ok_errno(setpgid(grandchild, 0), ESRCH, "setpgid of a grandchild: ESRCH");
        kill(grandchild, SIGKILL);
    }
    waitpid(mid, NULL, 0);

    /* After exec, the parent may no longer move the child: EACCES. */
    pid_t e = fork();
    if (e == 0) {
        close(p[0]);
        dup2(p[1], 1);
        execl(self, self, "--wait-for-eof", NULL);
        _exit(127);
    }
    close(p[1]);
    char c1;
    ok(read(p[0], &c1, 1) == 1 && c1 == 'E', "the child execs and says so", "no word");
    ok_errno(setpgid(e, 0), EACCES, "setpgid of a child after execve: EACCES");
    kill(e, SIGKILL);
    waitpid(e, NULL, 0);
    close(p[0]);
}

/* Runs `body` in a child and reports its exit code as the check `name`. */
#define IN_CHILD(name, ...) do {                                                   \
        pid_t pid_ = fork();                                                        \
        if (pid_ == 0) { __VA_ARGS__; _exit(0); }                                        \
        int st_;                                                                    \
        waitpid(pid_, &st_, 0);                                                     \
        ok(WIFEXITED(st_) && WEXITSTATUS(st_) == 0, name, "status %#x", st_);       \
    } while (0)

static void test_sessions(void)
{
    IN_CHILD("setsid in a new child: a new session and group named after it", {
        pid_t s = setsid();
        if (s != getpid() || getsid(0) != s || getpgrp() != s) _exit(1);
    });
    IN_CHILD("setsid by a group leader: EPERM", {
        setpgid(0, 0);
        if (setsid() != -1 || errno != EPERM) _exit(1);
    });
    IN_CHILD("/dev/tty in a new session (no controlling terminal): ENXIO", {
        setsid();
        if (open("/dev/tty", O_RDWR) != -1 || errno != ENXIO) _exit(1);
    });
    IN_CHILD("a session leader cannot change its group: EPERM", {
        setsid();
        if (setpgid(0, 0) != -1 || errno != EPERM) _exit(1);
    });
    /* A child in another session: the parent may not move it (EPERM), nor join its group. */
    int p[2];
    if (pipe(p) != 0) return;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        setsid();
        close(p[1]);
        for (;;) pause();
    }
    close(p[1]);
    char b;
    ok(read(p[0], &b, 1) == 0, "the child started its session", "read a byte");
    close(p[0]);
    ok(getsid(c) == c, "getsid(child) is the child", "%d", getsid(c));
    ok_errno(setpgid(c, getpgrp()), EPERM, "setpgid of a child in another session: EPERM");
    ok_errno(setpgid(0, c), EPERM, "joining a group of another session: EPERM");
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
}

static void test_kill_group(void)
{
    pid_t a = idle_child(0);
    pid_t b = idle_child(a);
    ok(getpgid(a) == a && getpgid(b) == a, "two children in group a", "%d %d", getpgid(a), getpgid(b));
    ok(kill(-a, SIGTERM) == 0, "kill(-pgid, SIGTERM)", "errno %d", errno);
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    ok(WIFSIGNALED(sa) && WTERMSIG(sa) == SIGTERM && WIFSIGNALED(sb) && WTERMSIG(sb) == SIGTERM,
       "both die of it", "%#x %#x", sa, sb);
    ok_errno(kill(-a, 0), ESRCH, "kill to a group with no process left: ESRCH");

    /* kill(0, sig): the sender's own group, the sender included. */
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        pid_t m = idle_child(getpid());
        signal(SIGUSR1, SIG_IGN);
        if (kill(0, SIGUSR1) != 0) _exit(1);
        int st;
        waitpid(m, &st, 0);
        _exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1 ? 0 : 2);
    }
    int st;
    waitpid(leader, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kill(0, sig) reaches the sender's group", "status %#x", st);

    /* waitpid(-pgid) and waitpid(0) pick children by group. */
    pid_t g1 = idle_child(0), other = idle_child(-1);
    kill(g1, SIGKILL);
    kill(other, SIGKILL);
    sleep_ms(50);
    ok(waitpid(-g1, &st, 0) == g1, "waitpid(-pgid) reaps that group's child", "errno %d", errno);
    ok_errno(waitpid(-g1, &st, WNOHANG), ECHILD, "and then it has none: ECHILD");
    ok(waitpid(0, &st, 0) == other, "waitpid(0) reaps a child of the caller's group", "errno %d", errno);
}

static void test_stop_continue(void)
{
    struct sigaction sa = { .sa_handler = on_chld };
    sigaction(SIGCHLD, &sa, NULL);
    chld_seen = 0;
    pid_t c = idle_child(0);
    int st;
    ok(kill(c, SIGSTOP) == 0, "SIGSTOP", "errno %d", errno);
    pid_t r = waitpid(c, &st, WUNTRACED);
    ok(r == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP && st == (0x7f | SIGSTOP << 8),
       "wait4(WUNTRACED) reports the stop: 0x7f | SIGSTOP << 8", "r %d status %#x", r, st);
    sleep_ms(20);
    ok(chld_seen >= 1, "the parent got SIGCHLD for the stop", "seen %d", (int)chld_seen);
    ok(waitpid(c, &st, WUNTRACED | WNOHANG) == 0, "a stop is reported once", "status %#x", st);

    chld_seen = 0;
    ok(kill(c, SIGCONT) == 0, "SIGCONT", "errno %d", errno);
    r = waitpid(c, &st, WCONTINUED);
    ok(r == c && WIFCONTINUED(st) && st == 0xffff, "wait4(WCONTINUED) reports 0xffff", "r %d status %#x", r, st);
    sleep_ms(20);
    ok(chld_seen >= 1, "the parent got SIGCHLD for the continue", "seen %d", (int)chld_seen);

    /* SIGTSTP's default action stops too (the group is not orphaned: we are its parent). */
    kill(c, SIGTSTP);
    siginfo_t si = { 0 };
    ok(waitid(P_PID, c, &si, WSTOPPED) == 0 && si.si_pid == c && si.si_code == CLD_STOPPED && si.si_status == SIGTSTP
       && si.si_signo == SIGCHLD, "waitid(WSTOPPED): CLD_STOPPED, SIGTSTP",
       "pid %d code %d status %d", si.si_pid, si.si_code, si.si_status);
    kill(c, SIGCONT);
    memset(&si, 0, sizeof si);
    ok(waitid(P_PGID, c, &si, WCONTINUED) == 0 && si.si_code == CLD_CONTINUED && si.si_status == SIGCONT,
       "waitid(P_PGID, WCONTINUED): CLD_CONTINUED", "code %d status %d", si.si_code, si.si_status);

    /* A stopped process dies of SIGKILL. */
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    kill(c, SIGKILL);
    r = waitpid(c, &st, 0);
    ok(r == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "SIGKILL ends a stopped process", "status %#x", st);

    /* A stopped process runs no handler until continued; then it does. */
    int p[2];
    if (pipe(p) != 0) return;
    pid_t h = fork();
    if (h == 0) {
        close(p[0]);
        signal(SIGUSR1, SIG_DFL);
        struct sigaction u = { .sa_handler = on_chld };
        sigaction(SIGUSR1, &u, NULL);
        chld_seen = 0;
        for (;;) {
            pause();
            if (write(p[1], "h", 1) != 1) _exit(1);
        }
    }
    close(p[1]);
    sleep_ms(20);
    kill(h, SIGSTOP);
    waitpid(h, &st, WUNTRACED);
    kill(h, SIGUSR1);
    sleep_ms(50);
    char b;
    int fl = fcntl(p[0], F_GETFL);
    fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
    ok(read(p[0], &b, 1) == -1 && errno == EAGAIN, "a stopped process does not run its handler", "it ran");
    fcntl(p[0], F_SETFL, fl);
    kill(h, SIGCONT);
    ssize_t n;
    while ((n = read(p[0], &b, 1)) == -1 && errno == EINTR) {
        /* our SIGCHLD handler for the continue */
    }
    ok(n == 1 && b == 'h', "once continued, it does", "read %zd errno %d", n, errno);
    kill(h, SIGKILL);
    waitpid(h, &st, 0);
    close(p[0]);

    /* A read stopped and continued goes on (it is restarted, no EINTR); so does
     * one whose signal handler has SA_RESTART. */
    for (int with_handler = 0; with_handler < 2; with_handler++) {
        int q[2];
        if (pipe(q) != 0) return;
        pid_t rd = fork();
        if (rd == 0) {
            close(q[1]);
            struct sigaction u = { .sa_handler = on_chld, .sa_flags = SA_RESTART };
            sigaction(SIGUSR1, &u, NULL);
            char x;
            ssize_t got = read(q[0], &x, 1);
            _exit(got == 1 && x == 'y' ? 0 : 1);
        }
        close(q[0]);
        sleep_ms(50);
        if (with_handler) {
            kill(rd, SIGUSR1);
        } else {
            kill(rd, SIGSTOP);
            waitpid(rd, &st, WUNTRACED);
            kill(rd, SIGCONT);
        }
        sleep_ms(50);
        if (write(q[1], "y", 1) != 1) note("write failed");
        waitpid(rd, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
           with_handler ? "a pipe read interrupted by an SA_RESTART handler goes on" : "a pipe read stopped and continued goes on",
           "status %#x", st);
        close(q[1]);
    }

    /* SIGCONT discards a pending stop signal; a stop signal discards a pending SIGCONT. */
    IN_CHILD("SIGCONT discards a pending SIGTSTP, SIGTSTP a pending SIGCONT", {
        sigset_t set, pending;
        sigemptyset(&set);
        sigaddset(&set, SIGTSTP);
        sigaddset(&set, SIGCONT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        raise(SIGTSTP);
        raise(SIGCONT);
        sigpending(&pending);
        if (sigismember(&pending, SIGTSTP) || !sigismember(&pending, SIGCONT)) _exit(1);
        raise(SIGTSTP);
        sigpending(&pending);
        if (!sigismember(&pending, SIGTSTP) || sigismember(&pending, SIGCONT)) _exit(2);
        _exit(0);
    });
    signal(SIGCHLD, SIG_DFL);
}

static int reader_fd;
static void *read_one(void *arg)
{
    (void)arg;
    char x;
    return (void *)(intptr_t)read(reader_fd, &x, 1);
}

/* A stop stops every thread: one asleep in a pipe read stops too (its read
 * runs again after SIGCONT), so a byte written meanwhile stays in the pipe. */
static void test_stop_threads(void)
{
    int q[2];
    if (pipe(q) != 0) return;
    pid_t c = fork();
    if (c == 0) {
        close(q[1]);
        reader_fd = q[0];
        pthread_t t;
        if (pthread_create(&t, NULL, read_one, NULL) != 0) _exit(2);
        void *got;
        pthread_join(t, &got);
        _exit((intptr_t)got == 1 ? 0 : 1);
    }
    close(q[0]);
    sleep_ms(100);
    int st;
    kill(c, SIGSTOP);
    ok(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st), "a two-thread process stops", "status %#x", st);
    if (write(q[1], "z", 1) != 1) note("write failed");
    sleep_ms(100);
    int queued = -1;
    ioctl(q[1], FIONREAD, &queued);
    ok(queued == 1, "its thread asleep in read stopped too: the byte stays in the pipe", "%d bytes left", queued);
    kill(c, SIGCONT);
    waitpid(c, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "continued, the thread's read gets the byte", "status %#x", st);
    close(q[1]);
}

static void test_orphaned_group(void)
{
    /* A group whose only member's parent is init (or gone) is orphaned:
     * SIGTSTP does not stop it, SIGSTOP does. Its child is such a group. */
    IN_CHILD("SIGTSTP does not stop a process of an orphaned group", {
        setsid();                         /* alone in its session and group: orphaned */
        raise(SIGTSTP);                   /* would stop it forever if it counted */
        _exit(0);
    });
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--wait-for-eof") == 0) {
        if (write(1, "E", 1) != 1) return 1;
        close(1);
        for (;;) pause();
    }
    /* Under Keel this is init; the tests run in a child that is not. */
    pid_t runner = fork();
    if (runner == 0) {
        setpgid(0, 0);          /* a group of its own, not group 0 (Keel's init's, before any setsid) */
        test_groups(argv[0]);
        test_sessions();
        test_kill_group();
        test_stop_continue();
        test_stop_threads();
        test_orphaned_group();
        _exit(ktest_done());
    }
    int st;
    waitpid(runner, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
