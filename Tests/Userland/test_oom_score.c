/*
 * test_oom_score: how the OOM killer sees a process, through /proc.
 *   /proc/<pid>/oom_score_adj  -1000..1000, read and written as text; EINVAL
 *                              outside or on junk, ERANGE past an int; the
 *                              number is in the first 12 bytes of a write
 *   /proc/<pid>/oom_adj        the legacy scale (-17, -16..15), converted
 *   /proc/<pid>/oom_score      the badness scaled into 0..2000; 0 at -1000
 * The adjustment belongs to the process: a fork child inherits it, execve
 * keeps it (checked by re-running /proc/self/exe), threads share it (written
 * through one thread's /proc/<tid>, read through the leader's), and another
 * process may set it (root). Also /proc/self/status's RssAnon, RssFile and
 * RssShmem, whose sum is VmRSS, each growing with its kind of memory.
 * Lowering the adjustment below the lowest value a privileged writer set
 * (oom_score_adj_min, inherited) needs CAP_SYS_RESOURCE: without it (a
 * container's root may lack it) the test expects EACCES there instead.
 * Runs on the host Linux (as root) and on Keel, where it is init: init's own
 * oom_score is always 0, so the score checks run in a child.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"

static char path_buf[64];
static bool can_lower;              /* CAP_SYS_RESOURCE in the effective set */

/* capget(2)'s structures (musl has no <linux/capability.h>). */
struct cap_header { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };
#define CAP_VERSION_3 0x20080522
#define CAP_SYS_RESOURCE 24
#define TMPFS_MAGIC 0x01021994

static bool has_sys_resource(void)
{
    struct cap_header header = {CAP_VERSION_3, 0};
    struct cap_data data[2];
    if (syscall(SYS_capget, &header, data) != 0)
        return false;
    return data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32));
}

static const char *proc_path(pid_t pid, const char *file)
{
    snprintf(path_buf, sizeof path_buf, "/proc/%d/%s", (int)pid, file);
    return path_buf;
}

/* The number in a /proc file, or -99999 if it cannot be read. */
static long read_number(const char *path)
{
    char buf[64];
    if (read_whole(path, buf, sizeof buf) <= 0)
        return -99999;
    return strtol(buf, NULL, 10);
}

/* write(2) of `text` (its strlen) to `path`: the return value, errno kept. */
static ssize_t write_text(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -2;
    ssize_t n = write(fd, text, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n;
}

static ssize_t set_adj(pid_t pid, const char *text)
{
    return write_text(proc_path(pid, "oom_score_adj"), text, strlen(text));
}

static long adj_of(pid_t pid) { return read_number(proc_path(pid, "oom_score_adj")); }

static void test_default_and_read_back(void)
{
    pid_t me = getpid();
    if (on_keel()) {
        ok(adj_of(me) == 0, "init starts with oom_score_adj 0", "read %ld", adj_of(me));
    } else {
        /* The host's test runs under whatever adjustment its parent has: inherited. */
        long parent = adj_of(getppid());
        ok(adj_of(me) == parent, "oom_score_adj starts as the parent's", "%ld, parent %ld", adj_of(me), parent);
    }
    char buf[16];
    ok(set_adj(me, "500\n") == 4, "writing \"500\\n\" takes 4 bytes", "errno %d", errno);
    long n = read_whole(proc_path(me, "oom_score_adj"), buf, sizeof buf);
    ok(n == 4 && strcmp(buf, "500\n") == 0, "  and reads back as \"500\\n\"", "%ld bytes \"%s\"", n, buf);
    int fd = open(proc_path(me, "oom_score_adj"), O_RDONLY);
    char tail[8] = {0};
    ssize_t got = pread(fd, tail, sizeof tail - 1, 1);
    close(fd);
    ok(got == 3 && strcmp(tail, "00\n") == 0, "  a read at offset 1 gets the rest", "%zd \"%s\"", got, tail);
    if (can_lower) {
        ok(set_adj(me, "-1000") == 5 && adj_of(me) == -1000, "-1000 is accepted (CAP_SYS_RESOURCE)",
           "adj %ld", adj_of(me));
    } else {
        errno = 0;
        ssize_t n = set_adj(me, "-1000");
        ok(n == -1 && errno == EACCES && adj_of(me) == 500, "-1000 without CAP_SYS_RESOURCE is EACCES",
           "returned %zd errno %d adj %ld", n, errno, adj_of(me));
    }
    ok(set_adj(me, "1000") == 4 && adj_of(me) == 1000, "1000 is accepted", "adj %ld", adj_of(me));
    ok(set_adj(me, "  42 \n") == 6 && adj_of(me) == 42, "white space around the number is stripped",
       "adj %ld", adj_of(me));
    ok(set_adj(me, "0x10") == 4 && adj_of(me) == 16, "0x10 is hexadecimal (16)", "adj %ld", adj_of(me));
    ok(set_adj(me, "010") == 3 && adj_of(me) == 8, "010 is octal (8)", "adj %ld", adj_of(me));
    ok(set_adj(me, "+7") == 2 && adj_of(me) == 7, "+7 is 7", "adj %ld", adj_of(me));
    /* Only the first 12 bytes count, and the write says it took 12. */
    ssize_t w = set_adj(me, "3           junk after twelve");
    ok(w == 12 && adj_of(me) == 3, "a write takes only its first 12 bytes",
       "returned %zd adj %ld, errno %d", w, adj_of(me), errno);
    char nul[] = {'9', '\0', 'x', 'y'};
    ok(write_text(proc_path(me, "oom_score_adj"), nul, sizeof nul) == 4 && adj_of(me) == 9,
       "a NUL ends the number", "adj %ld", adj_of(me));
}

static void test_errors(void)
{
    pid_t me = getpid();
    set_adj(me, "11");
    static const char *const invalid[] = {"1001", "-1001", "abc", "12abc", "\n", "- 5", "-+5", "0x", "08",
                                          "1.5", "5 6"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char name[64], shown[16] = "";
        for (const char *c = invalid[i]; *c && strlen(shown) < sizeof shown - 3; c++)
            strcat(shown, *c == '\n' ? "\\n" : (char[]){*c, 0});
        snprintf(name, sizeof name, "writing \"%s\" is EINVAL", shown);
        errno = 0;
        ssize_t n = set_adj(me, invalid[i]);
        ok(n == -1 && errno == EINVAL, name, "returned %zd errno %d", n, errno);
    }
    errno = 0;
    ssize_t n = set_adj(me, "99999999999");
    ok(n == -1 && errno == ERANGE, "a number past an int is ERANGE", "returned %zd errno %d", n, errno);
    ok(adj_of(me) == 11, "  and none of them changed it", "adj %ld", adj_of(me));
    errno = 0;
    n = write_text(proc_path(me, "oom_score_adj"), (const char *)8, 4);
    ok(n == -1 && errno == EFAULT, "a write from a bad pointer is EFAULT", "returned %zd errno %d", n, errno);
}

static void test_legacy_oom_adj(void)
{
    pid_t me = getpid();
    char file[64];
    snprintf(file, sizeof file, "/proc/%d/oom_adj", (int)me);
    set_adj(me, "1000");
    ok(read_number(file) == 15, "oom_adj reads 15 at oom_score_adj 1000", "%ld", read_number(file));
    set_adj(me, "0");
    ok(write_text(file, "5", 1) == 1 && adj_of(me) == 294, "writing 5 to oom_adj sets oom_score_adj 294",
       "adj %ld", adj_of(me));
    ok(read_number(file) == 4, "  which reads back as oom_adj 4", "%ld", read_number(file));
    ok(write_text(file, "15", 2) == 2 && adj_of(me) == 1000, "oom_adj 15 is oom_score_adj 1000", "adj %ld", adj_of(me));
    if (can_lower) {
        set_adj(me, "-1000");
        ok(read_number(file) == -17, "oom_adj reads -17 at oom_score_adj -1000", "%ld", read_number(file));
        set_adj(me, "0");
        ok(write_text(file, "-17", 3) == 3 && adj_of(me) == -1000, "oom_adj -17 is oom_score_adj -1000",
           "adj %ld", adj_of(me));
    } else {
        errno = 0;
        ssize_t n = write_text(file, "3", 1);
        ok(n == -1 && errno == EACCES && adj_of(me) == 1000,
           "oom_adj below the current value without CAP_SYS_RESOURCE is EACCES", "returned %zd errno %d adj %ld",
           n, errno, adj_of(me));
        skip("oom_adj -17 is oom_score_adj -1000", "no CAP_SYS_RESOURCE here");
    }
    set_adj(me, "0");
    errno = 0;
    ssize_t n = write_text(file, "16", 2);
    ok(n == -1 && errno == EINVAL, "oom_adj 16 is EINVAL", "returned %zd errno %d", n, errno);
    errno = 0;
    n = write_text(file, "-18", 3);
    ok(n == -1 && errno == EINVAL, "oom_adj -18 is EINVAL", "returned %zd errno %d", n, errno);
    set_adj(me, "0");
}

static void test_fork_inherits(void)
{
    pid_t me = getpid();
    set_adj(me, "123");
    int status = -1;
    pid_t child = fork();
    if (child == 0) {
        long seen = adj_of(getpid());
        set_adj(getpid(), "456");
        _exit(seen == 123 ? 0 : 1);
    }
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a fork child inherits oom_score_adj", "status %#x", status);
    ok(adj_of(me) == 123, "  and its own change leaves the parent's alone", "parent %ld", adj_of(me));

    set_adj(me, "321");
    child = fork();
    if (child == 0) {
        execl("/proc/self/exe", "test_oom_score", "exec-check", "321", (char *)NULL);
        _exit(3);
    }
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "execve keeps oom_score_adj", "status %#x", status);
    set_adj(me, "0");
}

static pid_t thread_id;
static int thread_pipe[2];
static long thread_saw;

static void *thread_body(void *arg)
{
    (void)arg;
    thread_id = (pid_t)syscall(SYS_gettid);
    set_adj(thread_id, "77");
    char c = 0;
    write(thread_pipe[1], &c, 1);              /* written: the main thread looks */
    return NULL;
}

static void *thread_reader(void *arg)
{
    (void)arg;
    thread_saw = adj_of((pid_t)syscall(SYS_gettid));
    return NULL;
}

static void test_threads_share(void)
{
    pid_t me = getpid();
    set_adj(me, "0");
    pipe(thread_pipe);
    pthread_t t;
    pthread_create(&t, NULL, thread_body, NULL);
    char c;
    read(thread_pipe[0], &c, 1);
    pthread_join(t, NULL);
    ok(adj_of(me) == 77, "a thread's write through /proc/<tid> is the process's", "leader reads %ld", adj_of(me));
    set_adj(me, "88");
    pthread_create(&t, NULL, thread_reader, NULL);
    pthread_join(t, NULL);
    ok(thread_saw == 88, "  and the leader's write is seen through a new thread's /proc/<tid>", "thread reads %ld",
       thread_saw);
    close(thread_pipe[0]);
    close(thread_pipe[1]);
    set_adj(me, "0");
}

/* oom_score of a child at each adjustment (the child waits for a byte). */
static void test_scores(void)
{
    int to_child[2], from_child[2];
    pipe(to_child);
    pipe(from_child);
    pid_t child = fork();
    if (child == 0) {
        char c;
        write(from_child[1], "r", 1);
        read(to_child[0], &c, 1);
        _exit(0);
    }
    char c;
    read(from_child[0], &c, 1);
    ok(adj_of(child) == 0, "a process may read another's oom_score_adj", "%ld", adj_of(child));
    ok(set_adj(child, "1000") == 4 && adj_of(child) == 1000, "  and write it (root)", "%ld", adj_of(child));
    long high = read_number(proc_path(child, "oom_score"));
    set_adj(child, "500");
    long half = read_number(proc_path(child, "oom_score"));
    set_adj(child, "0");
    long zero = read_number(proc_path(child, "oom_score"));
    note("oom_score at adj 1000: %ld, 500: %ld, 0: %ld", high, half, zero);
    ok(high >= 1300 && high <= 2000, "oom_score at adj 1000 is about 2/3 of 2000, within 0..2000", "%ld", high);
    ok(zero >= 600 && zero < half && half < high, "  above adj 500's and adj 0's (about 1000 and 667)",
       "500: %ld, 0: %ld", half, zero);
    if (can_lower) {
        set_adj(child, "-500");
        long low = read_number(proc_path(child, "oom_score"));
        set_adj(child, "-1000");
        long never = read_number(proc_path(child, "oom_score"));
        note("oom_score at adj -500: %ld, -1000: %ld", low, never);
        ok(low >= 300 && low < zero, "  and adj -500's below adj 0's (about 333)", "-500: %ld", low);
        ok(never == 0, "oom_score at adj -1000 is 0 (never chosen)", "%ld", never);
    } else {
        skip("oom_score at adj -500 and -1000", "no CAP_SYS_RESOURCE here to lower oom_score_adj");
    }
    write(to_child[1], "x", 1);
    int status;
    waitpid(child, &status, 0);

    /* The files of a process that is gone. */
    int fd = open(proc_path(child, "oom_score_adj"), O_RDWR);
    ok(fd == -1 && errno == ENOENT, "a reaped process's oom_score_adj is gone (ENOENT)", "fd %d errno %d", fd, errno);
    if (fd >= 0)
        close(fd);
    child = fork();
    if (child == 0)
        _exit(0);
    fd = open(proc_path(child, "oom_score_adj"), O_RDWR);
    waitpid(child, &status, 0);
    errno = 0;
    ssize_t n = write(fd, "1", 1);
    ok(fd >= 0 && n == -1 && errno == ESRCH, "a write after the process was reaped is ESRCH",
       "fd %d returned %zd errno %d", fd, n, errno);
    char buf[8];
    errno = 0;
    n = pread(fd, buf, sizeof buf, 0);
    ok(n == -1 && errno == ESRCH, "  and so is a read", "returned %zd errno %d", n, errno);
    close(fd);
    close(to_child[0]); close(to_child[1]); close(from_child[0]); close(from_child[1]);
}

/* RssAnon, RssFile, RssShmem and VmRSS of /proc/self/status, in kB. */
struct rss { long long anon, file, shmem, total; };

/* The number after "\nKEY:\t" in status text, or -1. */
static long long status_kib(const char *text, const char *key)
{
    char pattern[32];
    snprintf(pattern, sizeof pattern, "\n%s:\t", key);
    const char *at = strstr(text, pattern);
    return at ? strtoll(at + strlen(pattern), NULL, 10) : -1;
}

static struct rss read_rss(void)
{
    char text[4096];
    struct rss r = {-1, -1, -1, -1};
    if (read_whole("/proc/self/status", text, sizeof text) <= 0)
        return r;
    r.anon = status_kib(text, "RssAnon");
    r.file = status_kib(text, "RssFile");
    r.shmem = status_kib(text, "RssShmem");
    r.total = status_kib(text, "VmRSS");
    return r;
}

static void test_status_rss(void)
{
    struct rss before = read_rss();
    ok(before.anon >= 0 && before.file >= 0 && before.shmem >= 0 &&
       before.total == before.anon + before.file + before.shmem,
       "status: VmRSS is RssAnon + RssFile + RssShmem", "%lld = %lld + %lld + %lld", before.total, before.anon,
       before.file, before.shmem);
    const size_t len = 16 << 20;
    char *anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 4096) {
        anon[i] = 1;
        shm[i] = 1;
    }
    struct rss after = read_rss();
    note("status before: anon %lld file %lld shmem %lld kB; after 16 MiB of each: anon %lld shmem %lld kB",
         before.anon, before.file, before.shmem, after.anon, after.shmem);
    ok(after.anon - before.anon >= 12 << 10, "  RssAnon grows by the private anonymous memory touched",
       "grew %lld kB for 16384", after.anon - before.anon);
    ok(after.shmem - before.shmem >= 12 << 10 && after.shmem - before.shmem <= 20 << 10,
       "  RssShmem by the shared anonymous memory", "grew %lld kB for 16384", after.shmem - before.shmem);
    ok(after.total == after.anon + after.file + after.shmem, "  and VmRSS is still their sum",
       "%lld vs %lld", after.total, after.anon + after.file + after.shmem);
    munmap(anon, len);
    munmap(shm, len);
    struct rss freed = read_rss();
    ok(freed.anon < after.anon - (12 << 10) && freed.shmem < after.shmem - (12 << 10),
       "  munmap takes both back", "anon %lld shmem %lld kB", freed.anon, freed.shmem);

    /* A file's pages: this program's own file, every page read through a
     * mapping. On a tmpfs (Keel's initramfs) they are shmem pages. */
    int fd = open("/proc/self/exe", O_RDONLY);
    struct statfs fs;
    bool tmpfs = fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    off_t size = lseek(fd, 0, SEEK_END);
    char *file = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    struct rss mapped = read_rss();
    volatile char sum = 0;
    for (off_t i = 0; i < size; i += 4096)
        sum += file[i];
    struct rss read_in = read_rss();
    long long grew = tmpfs ? read_in.shmem - mapped.shmem : read_in.file - mapped.file;
    ok(grew >= (size >> 10) / 2, tmpfs ? "  RssShmem grows by a tmpfs file's pages mapped"
                                       : "  RssFile grows by a file's pages mapped",
       "grew %lld kB for a %lld kB file", grew, (long long)size >> 10);
    munmap(file, (size_t)size);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "exec-check") == 0)
        return adj_of(getpid()) == strtol(argv[2], NULL, 10) ? 0 : 1;
    can_lower = has_sys_resource();
    note("CAP_SYS_RESOURCE: %s", can_lower ? "yes" : "no");
    test_default_and_read_back();
    test_errors();
    test_legacy_oom_adj();
    test_fork_inherits();
    test_threads_share();
    test_scores();
    test_status_rss();
    set_adj(getpid(), "0");
    return ktest_done();
}
