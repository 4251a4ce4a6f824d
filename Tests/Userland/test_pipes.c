/*
 * test_pipes: pipes and descriptor duplication (Linux: fs/pipe.c,
 * fs/file.c: do_dup2(), ksys_dup3()).
 *
 * A pipe is a bounded byte queue (64 KiB on Linux) with a read end and a
 * write end: read returns what is there (at most what was asked), blocks
 * while it is empty and a writer exists, and returns 0 (EOF) once every
 * write end in every process is closed; a write bigger than the free space
 * blocks until readers make room and then completes in full. dup, dup2 and
 * dup3 make another descriptor for the same open pipe end; the new one never
 * inherits FD_CLOEXEC unless dup3 is asked for it.
 */
#define _GNU_SOURCE
#include "ktime.h"
#include "ktest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIB 1024UL
#define MIB (1024 * KIB)

/* Setup that only speaks up when it fails. */
static bool setup(bool done, const char *what)
{
    if (!done)
        ok(false, what, "errno %d (%s)", errno, strerror(errno));
    return done;
}

static int exit_code(pid_t pid)
{
    int status;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* The raw call: musl's dup3() answers old == new itself and turns a call
 * without O_CLOEXEC into dup2. */
static int sys_dup3(int oldfd, int newfd, int flags)
{
    return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

static bool cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC);
}

/* Reads until `len` bytes or EOF; returns the count, or -1 on an error. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* A deterministic byte stream (xorshift64*) the writer and the reader both
 * generate, so the reader can check every byte without a copy. */
struct stream {
    uint64_t state;
};

static unsigned char next_byte(struct stream *s)
{
    s->state ^= s->state >> 12;
    s->state ^= s->state << 25;
    s->state ^= s->state >> 27;
    return (unsigned char)((s->state * 0x2545f4914f6cdd1dULL) >> 56);
}

static void test_basics(void)
{
    int p[2] = { -1, -1 };
    if (!ok(pipe(p) == 0 && p[0] >= 0 && p[1] >= 0 && p[0] != p[1], "pipe gives two descriptors",
            "errno %d, fds %d %d", errno, p[0], p[1]))
        return;
    ok(!cloexec(p[0]) && !cloexec(p[1]), "pipe's descriptors are not close-on-exec", "FD_CLOEXEC set");
    ssize_t n = write(p[1], "hello", 5);
    ok(n == 5, "write 5 bytes", "%zd errno %d", n, errno);
    char buf[100];
    n = read(p[0], buf, sizeof buf);
    ok(n == 5 && memcmp(buf, "hello", 5) == 0, "read returns what is there, not what was asked",
       "read %zd", n);
    n = write(p[1], "ab", 2);
    n += write(p[1], "cd", 2);
    ok(n == 4 && read(p[0], buf, 3) == 3 && memcmp(buf, "abc", 3) == 0 && read(p[0], buf, 3) == 1 &&
           buf[0] == 'd',
       "bytes of separate writes come out in order, split as the reader asks", "wrong bytes");
    n = write(p[0], "x", 1);
    ok_errno(n, EBADF, "write to the read end: EBADF");
    n = read(p[1], buf, 1);
    ok_errno(n, EBADF, "read from the write end: EBADF");
    close(p[1]);
    n = read(p[0], buf, 1);
    ok(n == 0, "read with no writer left: 0 (EOF)", "%zd errno %d", n, errno);
    close(p[0]);
}

static void test_pipe2(void)
{
    int p[2];
    if (!ok(pipe2(p, O_CLOEXEC) == 0, "pipe2(O_CLOEXEC)", "errno %d (%s)", errno, strerror(errno)))
        return;
    ok(cloexec(p[0]) && cloexec(p[1]), "pipe2(O_CLOEXEC) sets FD_CLOEXEC on both ends", "not set");
    char c = 0;
    ok(write(p[1], "z", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'z', "a pipe2 pipe carries data",
       "got %d", c);
    close(p[0]);
    close(p[1]);

    if (!ok(pipe2(p, 0) == 0, "pipe2 with no flags", "errno %d", errno))
        return;
    ok(!cloexec(p[0]) && !cloexec(p[1]), "pipe2(0): no FD_CLOEXEC", "set");
    close(p[0]);
    close(p[1]);
    int rc = pipe2(p, O_WRONLY);
    ok_errno(rc, EINVAL, "pipe2 with a flag other than O_CLOEXEC/O_NONBLOCK/O_DIRECT: EINVAL");

    if (!ok(pipe2(p, O_NONBLOCK) == 0, "pipe2(O_NONBLOCK)", "errno %d", errno))
        return;
    ssize_t n = read(p[0], &c, 1);
    ok_errno(n, EAGAIN, "O_NONBLOCK: read of an empty pipe with a writer: EAGAIN");
    int w2 = dup(p[1]);
    close(p[1]);
    n = read(p[0], &c, 1);
    ok_errno(n, EAGAIN, "no EOF while a duplicate of the write end is open");
    close(w2);
    n = read(p[0], &c, 1);
    ok(n == 0, "EOF once the last write end is closed", "%zd errno %d", n, errno);
    close(p[0]);
}

static void test_fork(void)
{
    int down[2], up[2];
    if (!setup(pipe(down) == 0 && pipe(up) == 0, "pipes for the fork test"))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        char buf[64];
        ssize_t n = read(down[0], buf, sizeof buf);
        if (n <= 0)
            _exit(1);
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)(buf[i] - 'a' + 'A');
        _exit(write(up[1], buf, (size_t)n) == n ? 0 : 2);
    }
    close(down[0]);
    close(up[1]);
    ssize_t n = write(down[1], "parent", 6);
    char buf[64] = "";
    ssize_t m = read_full(up[0], buf, sizeof buf);
    int code = exit_code(pid);
    ok(n == 6 && m == 6 && memcmp(buf, "PARENT", 6) == 0 && code == 0,
       "parent to child and back through two pipes, then EOF", "wrote %zd, read %zd \"%.6s\", child %d", n, m,
       buf, code);
    close(down[1]);
    close(up[0]);

    /* The reader sees EOF only when the writers in both processes are closed. */
    int p[2];
    if (!setup(pipe(p) == 0, "pipe"))
        return;
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(write(p[1], "abc", 3) == 3 ? 0 : 1);
    }
    close(p[1]);
    m = read_full(p[0], buf, sizeof buf);
    ok(m == 3 && memcmp(buf, "abc", 3) == 0, "the child's bytes, then EOF when it exits",
       "read %zd", m);
    exit_code(pid);
    close(p[0]);

    /* Data outlives its writer: read only after the writer has been reaped. */
    if (!setup(pipe(p) == 0, "pipe"))
        return;
    static char big[3000];
    pid = fork();
    if (pid == 0) {
        memset(big, 'w', sizeof big);
        _exit(write(p[1], big, sizeof big) == sizeof big ? 0 : 1);
    }
    close(p[1]);
    int code2 = exit_code(pid);
    memset(big, 0, sizeof big);
    m = read_full(p[0], big, sizeof big + 1);
    bool all = m == sizeof big;
    for (size_t i = 0; all && i < sizeof big; i++)
        all = big[i] == 'w';
    ok(code2 == 0 && all, "a reaped writer's 3000 bytes are still there, then EOF",
       "child %d, read %zd", code2, m);
    close(p[0]);
}

static void test_dup(void)
{
    int p[2];
    if (!setup(pipe(p) == 0, "pipe"))
        return;
    int d = dup(p[1]);
    ok(d >= 0 && d != p[0] && d != p[1], "dup gives a new descriptor", "%d errno %d", d, errno);
    char c = 0;
    ok(write(d, "D", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'D',
       "a write through the dup arrives at the pipe's read end", "got %d", c);
    close(d);
    int d2 = dup(p[1]);
    ok(d2 == d, "dup takes the lowest free descriptor", "got %d, %d was free", d2, d);
    close(d2);
    int rc = dup(1000);
    ok_errno(rc, EBADF, "dup of a closed descriptor: EBADF");

    int q[2];
    if (!setup(pipe2(q, O_CLOEXEC) == 0, "pipe2"))
        return;
    d = dup(q[1]);
    ok(d >= 0 && !cloexec(d), "dup does not copy FD_CLOEXEC", "fd %d", d);
    close(d);

    /* dup2 onto an open descriptor closes it first: q's read end is replaced
     * by p's, and with q[0] gone a write to q fails (no reader). */
    int target = q[0];
    rc = dup2(p[0], target);
    ok(rc == target, "dup2 onto an open descriptor returns it", "%d errno %d", rc, errno);
    ok(!cloexec(target), "dup2's new descriptor is not close-on-exec", "set");
    ok(write(p[1], "2", 1) == 1 && read(target, &c, 1) == 1 && c == '2',
       "the target now reads the other pipe", "got %d", c);
    signal(SIGPIPE, SIG_IGN);
    ssize_t n = write(q[1], "x", 1);
    ok_errno(n, EPIPE, "the descriptor dup2 replaced was closed (its pipe lost its reader)");
    signal(SIGPIPE, SIG_DFL);
    close(q[1]);

    rc = dup2(p[1], p[1]);
    ok(rc == p[1], "dup2(fd, fd) returns fd", "%d errno %d", rc, errno);
    rc = dup2(1000, p[1]);
    ok_errno(rc, EBADF, "dup2 from a closed descriptor: EBADF");
    ok(fcntl(p[1], F_GETFD) >= 0, "a failed dup2 leaves the target open", "errno %d", errno);

    rc = sys_dup3(p[1], p[1], 0);
    ok_errno(rc, EINVAL, "dup3(fd, fd): EINVAL");
    rc = sys_dup3(p[1], target, O_CLOEXEC);
    ok(rc == target && cloexec(target), "dup3(O_CLOEXEC) sets FD_CLOEXEC on the new descriptor",
       "%d errno %d", rc, errno);
    ok(write(target, "3", 1) == 1 && read(p[0], &c, 1) == 1 && c == '3',
       "the dup3 copy writes into the pipe", "got %d", c);
    rc = sys_dup3(p[1], target, O_WRONLY);
    ok_errno(rc, EINVAL, "dup3 with a flag other than O_CLOEXEC: EINVAL");
    close(target);
    close(p[0]);
    close(p[1]);
}

/* Redirection as a shell does it: the child's stdout becomes a pipe. */
static void test_redirect(void)
{
    int p[2];
    if (!setup(pipe(p) == 0, "pipe"))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], 1) != 1)
            _exit(1);
        close(p[1]);
        _exit(write(1, "via stdout", 10) == 10 ? 0 : 2);
    }
    close(p[1]);
    char buf[32] = "";
    ssize_t n = read_full(p[0], buf, sizeof buf);
    int code = exit_code(pid);
    ok(n == 10 && memcmp(buf, "via stdout", 10) == 0 && code == 0,
       "dup2(pipe, 1) in a child: its stdout arrives through the pipe", "read %zd, child %d", n, code);
    close(p[0]);
}

static void test_transfer(void)
{
    int p[2];
    if (!setup(pipe(p) == 0, "pipe"))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        static unsigned char chunk[8192];
        struct stream s = { 0x9e3779b97f4a7c15ULL };
        size_t sent = 0, size = 1;
        while (sent < MIB) {
            size = size * 7 % 8191 + 1; /* 1..8191 bytes, a new size each time */
            size_t len = size < MIB - sent ? size : MIB - sent;
            for (size_t i = 0; i < len; i++)
                chunk[i] = next_byte(&s);
            if (write(p[1], chunk, len) != (ssize_t)len)
                _exit(1);
            sent += len;
        }
        _exit(0);
    }
    close(p[1]);
    struct stream s = { 0x9e3779b97f4a7c15ULL };
    static unsigned char buf[5000];
    size_t got = 0, bad_at = SIZE_MAX;
    uint64_t sum = 0, want = 0;
    ssize_t n;
    while ((n = read(p[0], buf, (got / 3) % 4999 + 1)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            unsigned char expect = next_byte(&s);
            sum = sum * 31 + buf[i];
            want = want * 31 + expect;
            if (buf[i] != expect && bad_at == SIZE_MAX)
                bad_at = got + (size_t)i;
        }
        got += (size_t)n;
    }
    int code = exit_code(pid);
    ok(n == 0 && got == MIB && code == 0, "1 MiB through a pipe in odd-sized pieces",
       "read %zu bytes, last read %zd, writer %d", got, n, code);
    ok(bad_at == SIZE_MAX && sum == want, "the 1 MiB arrives intact (checksum)",
       "first bad byte at %zu, checksum %#llx want %#llx", bad_at, (unsigned long long)sum,
       (unsigned long long)want);
    close(p[0]);
}

static void test_blocking_write(void)
{
    int p[2];
    if (!setup(pipe(p) == 0, "pipe"))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        unsigned char *big = malloc(MIB);
        if (!big)
            _exit(1);
        for (size_t i = 0; i < MIB; i++)
            big[i] = (unsigned char)(i % 251);
        ssize_t n = write(p[1], big, MIB); /* one call, far more than the pipe holds */
        _exit(n == (ssize_t)MIB ? 0 : 2);
    }
    close(p[1]);
    sleep_ms(200);
    int status;
    pid_t still = waitpid(pid, &status, WNOHANG);
    ok(still == 0, "a 1 MiB write() blocks while nobody reads", "waitpid returned %d", still);
    unsigned char *buf = malloc(MIB + 1);
    ssize_t n = buf ? read_full(p[0], buf, MIB + 1) : -1;
    bool right = n == (ssize_t)MIB;
    for (size_t i = 0; right && i < MIB; i++)
        right = buf[i] == (unsigned char)(i % 251);
    int code = exit_code(pid);
    ok(code == 0, "the blocked write completes in full once the reader drains the pipe",
       "child exit %d (2: short write)", code);
    ok(right, "the reader gets all 1 MiB in order", "read %zd", n);
    free(buf);
    close(p[0]);
}

int main(void)
{
    test_basics();
    test_pipe2();
    test_fork();
    test_dup();
    test_redirect();
    test_transfer();
    test_blocking_write();
    return ktest_done();
}
