/*
 * test_filemap: files and their mappings are one thing (Linux: mm/filemap.c
 * filemap_fault(), do_wp_page(), unmap_mapping_range(), truncate_pagecache()).
 *
 *   - coherence across processes: a store through a MAP_SHARED mapping is
 *     seen at once by read() and by the mappings of another process, and a
 *     write() at once by every mapping of the file;
 *   - MAP_PRIVATE after the file changes: pages the process has not written
 *     see the change (read-faulted ones and untouched ones), pages it wrote
 *     (its own copies) do not, and its stores never reach the file;
 *   - SIGBUS (si_code BUS_ADRERR, si_addr the address touched) for a page
 *     wholly past end of file, MAP_SHARED and MAP_PRIVATE, read and write;
 *     the tail of the last page reads as zeros and a store there does not
 *     grow the file;
 *   - truncate and ftruncate under a mapping in another process: SIGBUS
 *     there past the new end, zeros in the partial page, and after the file
 *     grows again, zeros and no SIGBUS;
 *   - a mapping over a sparse file: holes read as zeros and get no blocks,
 *     a store into a hole gives it one;
 *   - the access rules: PROT_WRITE + MAP_SHARED of a file open read-only is
 *     EACCES (mmap and mprotect), a file open write-only cannot be mapped.
 *
 * Usage: test_filemap [DIR...]. Every group runs once per directory; with
 * none, in /tmp and (if it is a tmpfs) /dev/shm, so on Linux a disk file
 * system and tmpfs are both covered. Keel's boot tests pass a directory of
 * an ext2 root. Every access that may fault runs in a child, which reports
 * the signal through a pipe: under Keel this program may be init.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L
#define TMPFS_MAGIC 0x01021994
#define EXT2_SUPER_MAGIC 0xEF53

static char where[300];   /* "/tmp (ext2/3/4)": the prefix of every check's name */
static char dir[256];
static pid_t main_pid;    /* in the file names, so children name the same files */
static bool is_tmpfs;

/* A check's name with the directory in front (a few kept at once). */
static const char *named(const char *what)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s: %s", where, what);
    return b;
}

static const char *path_of(const char *name)
{
    static char bufs[2][320];
    static int next;
    char *b = bufs[next++ % 2];
    snprintf(b, sizeof bufs[0], "%s/keel-filemap-%d-%s", dir, (int)main_pid, name);
    return b;
}

/* A new file `name` of `size` bytes of `fill`; its descriptor (O_RDWR) or -1. */
static int make_file(const char *name, long size, char fill)
{
    const char *path = path_of(name);
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    char buf[PAGE];
    memset(buf, fill, sizeof buf);
    for (long done = 0; done < size;) {
        long n = size - done < PAGE ? size - done : PAGE;
        if (pwrite(fd, buf, n, done) != n) {
            close(fd);
            return -1;
        }
        done += n;
    }
    return fd;
}

static bool all_bytes(const volatile unsigned char *p, long len, unsigned char v)
{
    for (long i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

static bool file_bytes(int fd, long offset, const char *want, long len)
{
    char got[256];
    return len <= (long)sizeof got && pread(fd, got, len, offset) == len && memcmp(got, want, len) == 0;
}

/* ---- faults, probed in a child ---- */

/* What touching an address did: the signal (0: none) with its si_code and
 * si_addr, or the byte read. */
struct probe {
    int signo, code;
    uintptr_t addr;
    int value;
};

static int probe_fd = -1;

static void on_fault(int sig, siginfo_t *si, void *context)
{
    (void)context;
    struct probe r = { sig, si->si_code, (uintptr_t)si->si_addr, -1 };
    if (write(probe_fd, &r, sizeof r) != sizeof r)
        _exit(2);
    _exit(0);
}

/* Reads (or writes 0x5a to) `p` in a child. signo -1: the child could not be run. */
static struct probe probe(volatile unsigned char *p, bool store)
{
    struct probe r = { -1, 0, 0, -1 };
    int fds[2];
    if (pipe(fds) != 0)
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        probe_fd = fds[1];
        struct sigaction sa = { 0 };
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGBUS, &sa, NULL);
        sigaction(SIGSEGV, &sa, NULL);
        struct probe none = { 0, 0, 0, -1 };
        if (store)
            *p = 0x5a;
        none.value = *p;
        if (write(probe_fd, &none, sizeof none) != sizeof none)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    if (pid > 0) {
        if (read(fds[0], &r, sizeof r) != sizeof r)
            r.signo = -1;
        waitpid(pid, NULL, 0);
    }
    close(fds[0]);
    return r;
}

static const char *probe_text(struct probe r)
{
    static char b[128];
    if (r.signo == -1)
        snprintf(b, sizeof b, "the probe child failed");
    else if (r.signo == 0)
        snprintf(b, sizeof b, "no signal (read 0x%02x)", r.value);
    else
        snprintf(b, sizeof b, "signal %d (%s), si_code %d, si_addr %#lx", r.signo, strsignal(r.signo), r.code,
                 (unsigned long)r.addr);
    return b;
}

/* Touching `p` raises SIGBUS with BUS_ADRERR at exactly `p`. */
static void expect_sigbus(volatile unsigned char *p, bool store, const char *what)
{
    struct probe r = probe(p, store);
    ok(r.signo == SIGBUS && r.code == BUS_ADRERR && r.addr == (uintptr_t)p, named(what),
       "%s; want SIGBUS, BUS_ADRERR (%d), si_addr %p", probe_text(r), BUS_ADRERR, (void *)p);
}

/* ---- a helper process that maps the file itself and answers requests ---- */

struct peer {
    pid_t pid;
    int to, from;
};

/* Runs `serve(command)` in a child for each command byte the parent sends,
 * sending back its long result, until the parent closes the pipe. */
static bool spawn(struct peer *peer, long (*serve)(int command))
{
    int down[2], up[2];
    peer->pid = -1;
    if (pipe(down) != 0)
        return false;
    if (pipe(up) != 0) {
        close(down[0]);
        close(down[1]);
        return false;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        unsigned char command;
        while (read(down[0], &command, 1) == 1) {
            long result = serve(command);
            if (write(up[1], &result, sizeof result) != sizeof result)
                break;
        }
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    peer->pid = pid;
    peer->to = down[1];
    peer->from = up[0];
    if (pid < 0) {
        close(down[1]);
        close(up[0]);
        return false;
    }
    return true;
}

/* The peer's answer to `command`; LONG_MIN if it is gone. */
static long ask(struct peer *peer, unsigned char command)
{
    long result;
    if (write(peer->to, &command, 1) != 1 || read(peer->from, &result, sizeof result) != sizeof result)
        return LONG_MIN;
    return result;
}

static void finish(struct peer *peer)
{
    close(peer->to);
    close(peer->from);
    waitpid(peer->pid, NULL, 0);
}

/* ---- coherence between processes ---- */

static const char *coherent_path;
static volatile unsigned char *peer_map;

/* The peer's side of test_coherence: 'm' maps the file shared (0 or errno),
 * 's' stores, 'c' compares its mapping with the parent's write(). */
static long coherence_peer(int command)
{
    switch (command) {
    case 'm': {
        int fd = open(coherent_path, O_RDWR);
        if (fd < 0)
            return errno;
        void *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
            return errno;
        peer_map = p;
        return 0;
    }
    case 's':
        memcpy((void *)(peer_map + 100), "peer-store", 10);
        peer_map[PAGE + 7] = 'Z';
        return 0;
    case 'c':
        return memcmp((void *)(peer_map + 200), "parent-write", 12) == 0 && peer_map[PAGE + 300] == 'W';
    }
    return -1;
}

static void test_coherence(void)
{
    int fd = make_file("coherent", 2 * PAGE, 'a');
    if (!ok(fd >= 0, named("make a 2-page file"), "errno %d (%s)", errno, strerror(errno)))
        return;
    coherent_path = path_of("coherent");
    unsigned char *mine = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ok(mine != MAP_FAILED, named("mmap PROT_READ|PROT_WRITE, MAP_SHARED of a file open O_RDWR"),
       "errno %d (%s)", errno, strerror(errno));
    if (mine != MAP_FAILED)
        ok(mine[0] == 'a' && mine[PAGE + 5] == 'a', named("a shared mapping shows the file"), "0x%02x 0x%02x",
           mine[0], mine[PAGE + 5]);

    struct peer peer;
    if (!ok(spawn(&peer, coherence_peer), named("start a second process"), "errno %d", errno)) {
        close(fd);
        return;
    }
    long mapped = ask(&peer, 'm');
    if (ok(mapped == 0, named("the other process maps the file MAP_SHARED itself"), "errno %ld (%s)", mapped,
           mapped > 0 ? strerror((int)mapped) : "peer gone")) {
        ask(&peer, 's');
        ok(file_bytes(fd, 100, "peer-store", 10) && file_bytes(fd, PAGE + 7, "Z", 1),
           named("a store through MAP_SHARED in one process is seen at once by read() in another"),
           "read() still shows the old bytes");
        if (mine != MAP_FAILED)
            ok(memcmp(mine + 100, "peer-store", 10) == 0 && mine[PAGE + 7] == 'Z',
               named("... and at once by another process's shared mapping"), "0x%02x 0x%02x", mine[100],
               mine[PAGE + 7]);
        bool written = pwrite(fd, "parent-write", 12, 200) == 12 && pwrite(fd, "W", 1, PAGE + 300) == 1;
        ok(written, named("pwrite into the mapped file"), "errno %d", errno);
        long seen = ask(&peer, 'c');
        ok(seen == 1, named("a write() is seen at once through another process's MAP_SHARED mapping"),
           "peer answered %ld", seen);
        if (mine != MAP_FAILED)
            ok(memcmp(mine + 200, "parent-write", 12) == 0 && mine[PAGE + 300] == 'W',
               named("... and through the writer's own mapping"), "old bytes");
    }
    finish(&peer);

    /* What a mapping stored outlives it. */
    if (mine != MAP_FAILED) {
        memcpy(mine + 3000, "kept", 4);
        munmap(mine, 2 * PAGE);
        close(fd);
        fd = open(coherent_path, O_RDONLY);
        ok(fd >= 0 && file_bytes(fd, 3000, "kept", 4), named("a store through MAP_SHARED is in the file after munmap and close"),
           "lost");
    }
    if (fd >= 0)
        close(fd);
    unlink(coherent_path);
}

/* ---- MAP_PRIVATE after the file changes ---- */

static void test_private_after_change(void)
{
    int fd = make_file("private", 3 * PAGE, 'p');
    if (!ok(fd >= 0, named("make a 3-page file"), "errno %d", errno))
        return;
    volatile unsigned char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (!ok(p != MAP_FAILED, named("mmap MAP_PRIVATE, PROT_READ|PROT_WRITE"), "errno %d (%s)", errno,
            strerror(errno))) {
        close(fd);
        return;
    }
    ok(p[0] == 'p' && p[PAGE] == 'p', named("a private mapping shows the file"), "0x%02x 0x%02x", p[0], p[PAGE]);
    p[0] = 'W';                       /* page 0: copied; page 1 read only; page 2 untouched */

    /* Another process changes all three pages. */
    pid_t pid = fork();
    if (pid == 0) {
        int wfd = open(path_of("private"), O_RDWR);
        bool done = wfd >= 0 && pwrite(wfd, "N", 1, 10) == 1 && pwrite(wfd, "N", 1, PAGE + 10) == 1 &&
                    pwrite(wfd, "N", 1, 2 * PAGE + 10) == 1;
        _exit(done ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, named("another process writes the file"),
       "status %#x", status);
    ok(p[PAGE + 10] == 'N', named("MAP_PRIVATE: a page only read so far sees a later write() to the file"),
       "0x%02x, want 'N'", p[PAGE + 10]);
    ok(p[2 * PAGE + 10] == 'N', named("MAP_PRIVATE: an untouched page sees a later write()"), "0x%02x",
       p[2 * PAGE + 10]);
    ok(p[10] == 'p' && p[0] == 'W', named("MAP_PRIVATE: a page the process wrote (its copy) does not"),
       "0x%02x 0x%02x, want 'p' 'W'", p[10], p[0]);
    ok(file_bytes(fd, 0, "p", 1), named("a store through MAP_PRIVATE never reaches the file"), "it did");
    p[PAGE + 20] = 'V';              /* copies page 1 now */
    ok(pwrite(fd, "M", 1, PAGE + 30) == 1 && p[PAGE + 30] == 'p' && p[PAGE + 10] == 'N',
       named("MAP_PRIVATE: once written, the page keeps what it copied"), "0x%02x 0x%02x", p[PAGE + 30],
       p[PAGE + 10]);
    munmap((void *)p, 3 * PAGE);
    close(fd);
    unlink(path_of("private"));
}

/* ---- end of file ---- */

static void test_past_eof(void)
{
    int fd = make_file("short", 100, 'e');
    if (!ok(fd >= 0, named("make a 100-byte file"), "errno %d", errno))
        return;
    volatile unsigned char *s = mmap(NULL, 3 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (ok(s != MAP_FAILED, named("mmap 3 pages MAP_SHARED of a 100-byte file"), "errno %d (%s)", errno,
           strerror(errno))) {
        ok(all_bytes(s, 100, 'e') && all_bytes(s + 100, PAGE - 100, 0),
           named("the file's bytes, then zeros to the end of its last page"), "wrong bytes");
        expect_sigbus(s + PAGE + 123, false, "MAP_SHARED: reading a page wholly past EOF is SIGBUS");
        expect_sigbus(s + 2 * PAGE, false, "MAP_SHARED: ... every such page");
        munmap((void *)s, 3 * PAGE);
    }
    volatile unsigned char *w = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ok(w != MAP_FAILED, named("mmap a 100-byte file MAP_SHARED, writable"), "errno %d (%s)", errno,
           strerror(errno))) {
        expect_sigbus(w + PAGE + 8, true, "MAP_SHARED: writing a page wholly past EOF is SIGBUS");
        w[200] = 'T';
        struct stat st;
        char buf[300];
        ok(fstat(fd, &st) == 0 && st.st_size == 100 && pread(fd, buf, sizeof buf, 0) == 100,
           named("a store into the last page past EOF does not grow the file"), "size %ld",
           (long)st.st_size);
        munmap((void *)w, 2 * PAGE);
    }
    volatile unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (ok(p != MAP_FAILED, named("mmap a 100-byte file MAP_PRIVATE"), "errno %d (%s)", errno, strerror(errno))) {
        ok(p[99] == 'e' && p[100] == 0 && p[PAGE - 1] == 0, named("MAP_PRIVATE: zeros after EOF in the last page"),
           "0x%02x 0x%02x", p[99], p[100]);
        expect_sigbus(p + PAGE + 1, false, "MAP_PRIVATE: reading a page wholly past EOF is SIGBUS");
        expect_sigbus(p + PAGE + 2, true, "MAP_PRIVATE: writing a page wholly past EOF is SIGBUS");
        /* Once the file covers the page, it is there: zeros. */
        ok(ftruncate(fd, 2 * PAGE) == 0, named("ftruncate the file to 2 pages"), "errno %d", errno);
        struct probe r = probe(p + PAGE + 1, false);
        ok(r.signo == 0 && r.value == 0, named("MAP_PRIVATE: after the file grows the page reads as zeros"), "%s",
           probe_text(r));
        munmap((void *)p, 2 * PAGE);
    }
    close(fd);
    unlink(path_of("short"));
}

/* ---- truncate under a mapping in another process ---- */

static const char *truncated_path;
static volatile unsigned char *truncated_map;

/* 'm' maps 3 pages and touches them all, 'b' probes page 2 (past a
 * truncation to 1.5 pages), 'z' checks page 1 (zeros past 1.5 pages, 'c'
 * before), 'g' probes page 2 again (after growing), 'o' probes page 1 (past
 * a truncation to 1 page). Probe answers: signo << 16 | code, or -1 with a
 * wrong address, or the byte read (no signal, 0..255). */
static long truncate_peer(int command)
{
    switch (command) {
    case 'm': {
        int fd = open(truncated_path, O_RDWR);
        if (fd < 0)
            return errno;
        void *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
            return errno;
        truncated_map = p;
        long sum = 0;
        for (int i = 0; i < 3; i++)
            sum += truncated_map[i * PAGE + 9];
        return sum == 3 * 'c' ? 0 : -1;
    }
    case 'b':
    case 'g':
    case 'o': {
        volatile unsigned char *at = truncated_map + (command == 'o' ? PAGE + 33 : 2 * PAGE + 17);
        struct probe r = probe(at, false);
        if (r.signo == 0)
            return r.value;
        if (r.signo > 0 && r.addr != (uintptr_t)at)
            return -1;
        return (long)r.signo << 16 | r.code;
    }
    case 'z':
        return all_bytes(truncated_map + PAGE, PAGE / 2, 'c') && all_bytes(truncated_map + PAGE + PAGE / 2, PAGE / 2, 0);
    }
    return -2;
}

static void expect_peer_sigbus(long answer, const char *what)
{
    ok(answer == ((long)SIGBUS << 16 | BUS_ADRERR), named(what),
       "answer %ld: %s", answer, answer == LONG_MIN ? "the other process is gone"
       : answer == -1 ? "si_addr was not the address touched"
       : answer >= 0 && answer < 256 ? "no signal, the page was still there"
       : "another signal or code (signo << 16 | si_code)");
}

static void test_truncate_under_mapping(void)
{
    int fd = make_file("truncated", 3 * PAGE, 'c');
    if (!ok(fd >= 0, named("make a 3-page file"), "errno %d", errno))
        return;
    truncated_path = path_of("truncated");
    struct peer peer;
    if (!ok(spawn(&peer, truncate_peer), named("start a second process"), "errno %d", errno)) {
        close(fd);
        return;
    }
    long mapped = ask(&peer, 'm');
    if (ok(mapped == 0, named("the other process maps all 3 pages MAP_SHARED and reads them"), "answer %ld",
           mapped)) {
        ok(ftruncate(fd, PAGE + PAGE / 2) == 0, named("ftruncate to 1.5 pages while mapped"), "errno %d", errno);
        expect_peer_sigbus(ask(&peer, 'b'), "after ftruncate, the other process gets SIGBUS past the new end");
        ok(ask(&peer, 'z') == 1, named("after ftruncate, the partial page reads as zeros past the new end"),
           "old bytes still there");
        ok(ftruncate(fd, 3 * PAGE) == 0, named("ftruncate back to 3 pages"), "errno %d", errno);
        long grown = ask(&peer, 'g');
        ok(grown == 0, named("after the file grows again, the page is back, as zeros"), "answer %ld", grown);
        ok(truncate(truncated_path, PAGE) == 0, named("truncate(path) to 1 page while mapped"), "errno %d", errno);
        expect_peer_sigbus(ask(&peer, 'o'), "after truncate(), the other process gets SIGBUS past the new end");
    }
    finish(&peer);
    close(fd);
    unlink(truncated_path);
}

/* ---- sparse files ---- */

static void test_sparse(void)
{
    int fd = make_file("sparse", 0, 0);
    if (!ok(fd >= 0, named("make an empty file"), "errno %d", errno))
        return;
    const long pages = 64;
    struct stat before, after;
    bool made = ftruncate(fd, pages * PAGE) == 0 && pwrite(fd, "S", 1, 32 * PAGE + 5) == 1 && fsync(fd) == 0 &&
                fstat(fd, &before) == 0;
    ok(made, named("a 256 KiB file that is a hole but for one byte"), "errno %d", errno);
    volatile unsigned char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ok(p != MAP_FAILED, named("mmap the sparse file MAP_SHARED"), "errno %d (%s)", errno, strerror(errno))) {
        bool zeros = true;
        for (long i = 0; i < pages; i++)
            if (i != 32 && !all_bytes(p + i * PAGE, PAGE, 0))
                zeros = false;
        ok(zeros && p[32 * PAGE + 5] == 'S', named("holes read as zeros through the mapping"), "wrong bytes");
        if (is_tmpfs)
            skip(named("reading holes through a mapping allocates nothing"),
                 "tmpfs gives a hole a page at a read fault (Linux: shmem_fault())");
        else
            ok(fstat(fd, &after) == 0 && after.st_blocks == before.st_blocks,
               named("reading holes through a mapping allocates nothing"), "st_blocks %ld, was %ld",
               (long)after.st_blocks, (long)before.st_blocks);
        p[10 * PAGE] = 'T';
        ok(file_bytes(fd, 10 * PAGE, "T", 1), named("a store into a hole is seen by read()"), "not seen");
        ok(msync((void *)p, pages * PAGE, MS_SYNC) == 0 && fstat(fd, &after) == 0 &&
           after.st_blocks >= before.st_blocks + 8 && after.st_size == pages * PAGE,
           named("... and, written back, gives the hole a block; the size stays"), "st_blocks %ld (was %ld), size %ld",
           (long)after.st_blocks, (long)before.st_blocks, (long)after.st_size);
        munmap((void *)p, pages * PAGE);
    }
    close(fd);
    unlink(path_of("sparse"));
}

/* ---- who may map what ---- */

static void test_access(void)
{
    int fd = make_file("access", PAGE, 'r');
    if (!ok(fd >= 0, named("make a file"), "errno %d", errno))
        return;
    close(fd);
    int ro = open(path_of("access"), O_RDONLY);
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    ok(p == MAP_FAILED && errno == EACCES, named("PROT_WRITE + MAP_SHARED of a file open O_RDONLY is EACCES"),
       "%s", p == MAP_FAILED ? strerror(errno) : "it was mapped");
    if (p != MAP_FAILED)
        munmap(p, PAGE);
    p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    if (ok(p != MAP_FAILED, named("PROT_READ + MAP_SHARED of it is allowed"), "errno %d", errno)) {
        ok(mprotect(p, PAGE, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
           named("... and mprotect to PROT_WRITE is EACCES"), "errno %d", errno);
        munmap(p, PAGE);
    }
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    if (ok(p != MAP_FAILED, named("PROT_WRITE + MAP_PRIVATE of it is allowed"), "errno %d", errno)) {
        ((volatile char *)p)[0] = 'x';
        ok(file_bytes(ro, 0, "r", 1), named("... and its stores stay private"), "the file changed");
        munmap(p, PAGE);
    }
    close(ro);
    int wo = open(path_of("access"), O_WRONLY);
    p = mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, wo, 0);
    ok(p == MAP_FAILED && errno == EACCES, named("a file open O_WRONLY cannot be mapped (EACCES)"), "%s",
       p == MAP_FAILED ? strerror(errno) : "it was mapped");
    if (p != MAP_FAILED)
        munmap(p, PAGE);
    close(wo);
    unlink(path_of("access"));
}

static const char *fs_name(long type)
{
    switch (type) {
    case TMPFS_MAGIC: return "tmpfs";
    case EXT2_SUPER_MAGIC: return "ext2/3/4";
    default: return "other";
    }
}

static void run_in(const char *d)
{
    snprintf(dir, sizeof dir, "%s", d);
    struct statfs sf;
    if (statfs(dir, &sf) != 0) {
        ok(false, d, "statfs: errno %d (%s)", errno, strerror(errno));
        return;
    }
    snprintf(where, sizeof where, "%s (%s)", dir, fs_name((long)sf.f_type));
    is_tmpfs = sf.f_type == TMPFS_MAGIC;
    note("files in %s", where);
    test_coherence();
    test_private_after_change();
    test_past_eof();
    test_truncate_under_mapping();
    test_sparse();
    test_access();
}

int main(int argc, char **argv)
{
    main_pid = getpid();
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            run_in(argv[i]);
    } else {
        if (mkdir("/tmp", 01777) != 0 && errno != EEXIST)
            note("no /tmp: errno %d", errno);
        run_in("/tmp");
        struct statfs sf;
        if (statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC)
            run_in("/dev/shm");
    }
    return ktest_done();
}
