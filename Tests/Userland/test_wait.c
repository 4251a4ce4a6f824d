/*
 * test_wait: exit and wait (Linux: do_exit(), exit_notify(), do_wait() and
 * wait_task_zombie() behind wait4(2)).
 *
 * Linux's status word, which the W* macros decode:
 *     exited with code c:   (c & 0xff) << 8       exit(1) -> 0x0100
 *     killed by signal s:   s (| 0x80 if core)     SIGKILL -> 0x0009
 * A child that has exited stays a zombie, still a child and still a pid
 * (kill(pid, 0) succeeds), until its parent waits for it. A child whose
 * parent exits is re-parented: to the nearest "child subreaper"
 * (prctl(PR_SET_CHILD_SUBREAPER)) or to init, pid 1. Under Keel this program
 * is init itself, so orphans come to it; on the host it makes itself a
 * subreaper so they come to it too.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A child that blocks until the parent closes `gate[1]`, then exits `code`. */
static pid_t gated_child(int gate[2], int code)
{
    pid_t pid = fork();
    if (pid == 0) {
        close(gate[1]);
        char c;
        while (read(gate[0], &c, 1) > 0) {
        }
        _exit(code);
    }
    return pid;
}

static void test_exit_codes(void)
{
    int bad = -1, status = 0;
    for (int code = 0; code <= 255 && bad < 0; code++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(code);
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != code || status != code << 8)
            bad = code;
    }
    ok(bad < 0, "exit codes 0..255 each reach WEXITSTATUS, status = code << 8",
       "code %d: status %#x", bad, status);

    pid_t pid = fork();
    if (pid == 0)
        _exit(0x1ff);
    ok(waitpid(pid, &status, 0) == pid && status == 0xff00, "only the low 8 bits of the code are kept",
       "_exit(0x1ff) gave status %#x, want 0xff00", status);
    pid = fork();
    if (pid == 0)
        exit(1); /* libc exit: atexit, stdio flush, then exit_group */
    ok(waitpid(pid, &status, 0) == pid && status == 0x0100 && WIFEXITED(status) &&
           !WIFSIGNALED(status) && WEXITSTATUS(status) == 1,
       "exit(1): status 0x0100, WIFEXITED, not WIFSIGNALED", "status %#x", status);
    pid = fork();
    if (pid == 0)
        _exit(0);
    ok(waitpid(pid, NULL, 0) == pid, "waitpid with a NULL status pointer", "errno %d", errno);
}

static void test_killed_status(void)
{
    static const struct { int sig; int status; const char *name; } cases[] = {
        { SIGKILL, 0x0009, "killed by SIGKILL: status 9, WIFSIGNALED, WTERMSIG 9" },
        { SIGTERM, 0x000f, "killed by SIGTERM: status 15, WTERMSIG 15" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int gate[2];
        if (pipe(gate) != 0)
            continue;
        pid_t pid = gated_child(gate, 0);
        close(gate[0]);
        int status = -1;
        bool sent = kill(pid, cases[i].sig) == 0;
        ok(sent && waitpid(pid, &status, 0) == pid && status == cases[i].status &&
               WIFSIGNALED(status) && !WIFEXITED(status) && WTERMSIG(status) == cases[i].sig,
           cases[i].name, "kill %s, status %#x", sent ? "ok" : strerror(errno), status);
        close(gate[1]);
    }
}

static void test_wait_for_pid(void)
{
    int gate[2];
    if (!ok(pipe(gate) == 0, "pipe", "errno %d", errno))
        return;
    pid_t a = fork();
    if (a == 0)
        _exit(1);
    pid_t b = gated_child(gate, 2);
    pid_t c = fork();
    if (c == 0)
        _exit(3);
    close(gate[0]);
    sleep_ms(50); /* a and c are zombies by now, b still waits */
    close(gate[1]);
    int status = -1;
    struct rusage ru;
    pid_t got = wait4(b, &status, 0, &ru);
    ok(got == b && WIFEXITED(status) && WEXITSTATUS(status) == 2,
       "wait4(pid) waits for that child even when others have exited", "got %d (want %d) status %#x",
       got, b, status);
    int s1 = -1, s2 = -1;
    pid_t g1 = wait4(-1, &s1, 0, NULL), g2 = wait4(-1, &s2, 0, NULL);
    bool right = (g1 == a && g2 == c && s1 == 0x100 && s2 == 0x300) ||
                 (g1 == c && g2 == a && s1 == 0x300 && s2 == 0x100);
    ok(right, "wait4(-1) returns each remaining child once, with its status",
       "got %d (%#x), %d (%#x); children %d, %d", g1, s1, g2, s2, a, c);
    got = wait4(-1, &status, 0, NULL);
    ok_errno(got, ECHILD, "wait4(-1) after every child was reaped: ECHILD");
    got = wait4(a, &status, 0, NULL);
    ok_errno(got, ECHILD, "wait4 for an already reaped child: ECHILD");
}

static void test_many(void)
{
    pid_t pids[10];
    for (int i = 0; i < 10; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(10 + i);
    }
    unsigned seen = 0;
    bool good = true;
    for (int n = 0; n < 10; n++) {
        int status;
        pid_t got = wait4(-1, &status, 0, NULL);
        int i = 0;
        while (i < 10 && pids[i] != got)
            i++;
        good &= i < 10 && WIFEXITED(status) && WEXITSTATUS(status) == 10 + i && !(seen & 1u << i);
        if (i < 10)
            seen |= 1u << i;
    }
    ok(good && seen == 0x3ff, "10 children exiting together: each reaped once with its own code",
       "seen mask %#x", seen);
}

static void test_wnohang(void)
{
    int gate[2];
    if (!ok(pipe(gate) == 0, "pipe", "errno %d", errno))
        return;
    pid_t pid = gated_child(gate, 9);
    close(gate[0]);
    int status = -1;
    pid_t got = wait4(pid, &status, WNOHANG, NULL);
    ok(got == 0, "wait4(pid, WNOHANG) while the child runs: 0", "returned %d errno %d", got, errno);
    got = wait4(-1, &status, WNOHANG, NULL);
    ok(got == 0, "wait4(-1, WNOHANG) while the child runs: 0", "returned %d errno %d", got, errno);
    close(gate[1]);
    got = wait4(pid, &status, 0, NULL);
    ok(got == pid && status == 0x900, "then a blocking wait4 reaps it", "returned %d status %#x",
       got, status);
    got = wait4(-1, &status, WNOHANG, NULL);
    ok_errno(got, ECHILD, "wait4(-1, WNOHANG) with no children: ECHILD");
}

static void test_echild(void)
{
    int status;
    pid_t got = wait4(-1, &status, 0, NULL);
    ok_errno(got, ECHILD, "wait4(-1) with no children: ECHILD");
    got = wait4(getpid(), &status, 0, NULL);
    ok_errno(got, ECHILD, "wait4 for our own pid: ECHILD");
    got = wait4(0x3fffffff, &status, 0, NULL);
    ok_errno(got, ECHILD, "wait4 for a pid that does not exist: ECHILD");
    got = wait4(-1, &status, 0x100, NULL);
    ok_errno(got, EINVAL, "wait4 with an unknown option bit: EINVAL");
}

/* Reads /proc/<pid>/stat's state letter, or 0 if there is no such file. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

static void test_zombie(void)
{
    int p[2];
    if (!ok(pipe(p) == 0, "pipe", "errno %d", errno))
        return;
    pid_t pid = fork();
    if (pid == 0)
        _exit(5); /* exiting closes its copy of p[1] */
    close(p[1]);
    char c;
    ssize_t n = read(p[0], &c, 1);
    close(p[0]);
    /* EOF: the child is in do_exit; give it time to become a zombie. */
    char state = 0;
    for (int i = 0; i < 40 && state != 'Z'; i++) {
        sleep_ms(50);
        state = proc_state(pid);
        if (state == 0 && i >= 3)
            break; /* no /proc/<pid>/stat here: 200 ms is plenty */
    }
    ok(n == 0, "the exiting child's pipe end closes", "read %zd", n);
    if (state)
        ok(state == 'Z', "/proc/<pid>/stat shows the exited child as Z", "state %c", state);
    else
        skip("/proc/<pid>/stat shows the exited child as Z", "no /proc/<pid>/stat");
    ok(kill(pid, 0) == 0, "kill(pid, 0) succeeds on a zombie", "errno %d (%s)", errno, strerror(errno));
    int status = -1;
    pid_t got = wait4(pid, &status, WNOHANG, NULL);
    ok(got == pid && status == 0x500, "the zombie is reaped by WNOHANG with its exit code",
       "returned %d status %#x", got, status);
    int rc = kill(pid, 0);
    ok_errno(rc, ESRCH, "kill(pid, 0) after the zombie is reaped: ESRCH");
}

static void test_orphans(void)
{
    bool reaper = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
    bool keel = on_keel();
    note("orphans: %s", reaper ? "we are a child subreaper" : keel ? "Keel: init is pid 1"
                                                                    : "no subreaper: init adopts");
    int p[2];
    if (!ok(pipe(p) == 0, "pipe", "errno %d", errno))
        return;
    pid_t child = fork();
    if (child == 0) {
        pid_t parent = getpid();
        pid_t grandchild = fork();
        if (grandchild == 0) {
            /* Wait (up to 10 s) for our parent to exit, then report who adopted us. */
            pid_t now = getppid();
            for (int i = 0; i < 1000 && now == parent; i++) {
                sleep_ms(10);
                now = getppid();
            }
            pid_t msg[2] = { parent, now };
            _exit(write(p[1], msg, sizeof msg) == sizeof msg ? 77 : 1);
        }
        _exit(grandchild > 0 ? 0 : 1);
    }
    close(p[1]);
    int status = -1;
    ok(waitpid(child, &status, 0) == child && status == 0, "the middle process exits",
       "status %#x", status);
    pid_t msg[2] = { 0, 0 };
    ssize_t n = read(p[0], msg, sizeof msg);
    close(p[0]);
    if (!ok(n == sizeof msg && msg[0] == child, "the orphan reports its new parent",
            "read %zd, old parent %d", n, msg[0]))
        return;
    pid_t adopter = msg[1];
    ok(adopter != child, "the orphan's getppid() is no longer its dead parent", "still %d", adopter);
    if (reaper) {
        ok(adopter == getpid(), "the orphan is adopted by the subreaper (us)", "getppid %d, we are %d",
           adopter, getpid());
    } else if (keel) {
        ok(adopter == 1, "the orphan is adopted by init: getppid() == 1", "getppid %d", adopter);
    } else {
        skip("the orphan is adopted by us", "not a subreaper on this host");
    }
    if (reaper || (keel && getpid() == 1)) {
        status = -1;
        pid_t got = waitpid(-1, &status, 0);
        ok(got > 0 && status == 77 << 8, "the adopter reaps the orphan with its exit code",
           "waitpid %d status %#x errno %d", got, status, errno);
    }
}

int main(void)
{
    test_echild();
    test_exit_codes();
    test_killed_status();
    test_wait_for_pid();
    test_many();
    test_wnohang();
    test_zombie();
    test_orphans();
    return ktest_done();
}
