/*
 * bench: micro-benchmarks of the process and memory paths. Installed as
 * /bin/bench; not a test (tools/userland-tests.sh runs only test_*), `make
 * bench` boots it under Keel and, where available, Linux.
 *
 * Output, one line per benchmark, for a driver to parse (lines starting with
 * '#' are commentary, e.g. the operation count behind the line above):
 *     bench <name> <ns_per_op>
 * where ns_per_op is a decimal number (one digit after the point) and "op"
 * is what the name says: a call, a fork+exit+wait round, a page.
 *
 * Each benchmark runs batches of 1, 2, 4, ... operations until one batch
 * takes at least TARGET_NS of CLOCK_MONOTONIC time and reports that batch,
 * so a run takes about 2 x TARGET_NS per benchmark whatever the speed: about
 * 3 s on a host, longer under QEMU TCG only where one operation alone is
 * slower than the target (fork with 32 MiB).
 *
 * Arguments: `bench --exit` returns at once (the program fork_execve_wait
 * execs); `bench --boot` prints the boot marker and returns, so that a kernel
 * booted with it as init powers off (tools/bench.py times both);
 * `bench --reclaim [MiB [DEV [FREE_MiB]]]` runs only the reclaim rows (reclaim_rows());
 * `bench --numa` only the NUMA rows (numa_rows()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workset.h"

#define PAGE 4096UL
#define MIB (1024 * 1024UL)
#define TARGET_NS 200000000LL /* 0.2 s */

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/*
 * One benchmark: `run(n)` performs n operations and returns the nanoseconds
 * they took (it may time only part of its work, e.g. not the set-up), or -1
 * on failure.
 */
struct bench {
    const char *name;
    const char *op;
    long long (*run)(long n);
};

/* Set by a benchmark that fails because this kernel lacks what it measures
 * (no tracefs, no shared writable file mappings, no dash): the row says n/a
 * and why instead of failing. */
static const char *unavailable;

static void report(const struct bench *b)
{
    long n = 1;
    long long ns;
    unavailable = NULL;
    for (;;) {
        ns = b->run(n);
        if (ns < 0 || ns >= TARGET_NS || n >= (1L << 30))
            break;
        n *= 2;
    }
    if (ns < 0 && unavailable) {
        printf("# bench %s n/a: %s\n", b->name, unavailable);
        fflush(stdout);
        return;
    }
    if (ns < 0) {
        printf("# bench %s failed: errno %d (%s)\n", b->name, errno, strerror(errno));
        fflush(stdout);
        return;
    }
    printf("bench %-24s %12.1f\n", b->name, (double)ns / (double)n);
    printf("#   (%ld %s in %.3f s)\n", n, b->op, (double)ns / 1e9);
    fflush(stdout);
}

/* ---- the benchmarks --------------------------------------------------------------- */

static long long run_getpid(long n)
{
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getpid);
    return now_ns() - t0;
}

static long long run_fork(long n)
{
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
            return -1;
    }
    return now_ns() - t0;
}

/* fork+exit+wait with 32 MiB of touched private memory: fork write-protects
 * and copies 8192 PTEs, exit tears them down. */
static long long run_fork_32m(long n)
{
    unsigned char *p = mmap(NULL, 32 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    memset(p, 1, 32 * MIB);
    long long ns = run_fork(n);
    munmap(p, 32 * MIB);
    return ns;
}

/* The NUMA rows' memory policy for the mappings run_anon_fault makes
 * (mbind mode, 0: none), its nodes, and the pages it touched. */
static int numa_policy;
static unsigned long numa_nodes;
static long numa_touched;

/* First touch of fresh anonymous pages (zero-fill fault); n pages, in
 * mappings given `numa_policy` first if set. */
static long long run_anon_fault(long n)
{
    const long chunk = 4096; /* pages per mapping: 16 MiB */
    long long total = 0;
    for (long done = 0; done < n; done += chunk) {
        long pages = n - done < chunk ? n - done : chunk;
        volatile unsigned char *p = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -1;
        if (numa_policy != 0 && syscall(SYS_mbind, p, (size_t)pages * PAGE, numa_policy, &numa_nodes, 65, 0) != 0)
            return -1;
        long long t0 = now_ns();
        for (long i = 0; i < pages; i++)
            p[i * PAGE] = 1;
        total += now_ns() - t0;
        numa_touched += pages;
        munmap((void *)p, (size_t)pages * PAGE);
    }
    return total;
}

/* Copy-on-write faults: after fork, a child writes one byte per page of a
 * region the parent had touched and times that; n pages. The child reports
 * its time through a shared page. */
static long long run_cow_fault(long n)
{
    const long chunk = 4096;
    long long *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return -1;
    long long total = 0;
    for (long done = 0; done < n && total >= 0; done += chunk) {
        long pages = n - done < chunk ? n - done : chunk;
        unsigned char *p = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            total = -1;
            break;
        }
        for (long i = 0; i < pages; i++)
            p[i * PAGE] = 1;
        pid_t pid = fork();
        if (pid == 0) {
            volatile unsigned char *v = p;
            long long t0 = now_ns();
            for (long i = 0; i < pages; i++)
                v[i * PAGE] = 2;
            *shared = now_ns() - t0;
            _exit(0);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
            total = -1;
        else
            total += *shared;
        munmap(p, (size_t)pages * PAGE);
    }
    munmap(shared, PAGE);
    return total;
}

/* brk growth in 4 KiB steps, touching each new page; n steps, then the
 * break goes back. Raw syscall: musl's brk() refuses to move the break. */
static long long run_brk(long n)
{
    const long chunk = 4096;
    uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t base = (start + PAGE - 1) & ~(PAGE - 1);
    long long total = 0;
    for (long done = 0; done < n; done += chunk) {
        long steps = n - done < chunk ? n - done : chunk;
        if ((uintptr_t)syscall(SYS_brk, base) != base)
            return -1;
        long long t0 = now_ns();
        for (long i = 1; i <= steps; i++) {
            uintptr_t top = base + (uintptr_t)i * PAGE;
            if ((uintptr_t)syscall(SYS_brk, top) != top)
                return -1;
            ((volatile unsigned char *)top)[-1] = 1;
        }
        total += now_ns() - t0;
        syscall(SYS_brk, start);
    }
    return total;
}

static long long run_mmap_munmap(long n)
{
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || munmap(p, PAGE) != 0)
            return -1;
    }
    return now_ns() - t0;
}

static long long run_yield(long n)
{
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        sched_yield();
    return now_ns() - t0;
}

/* Two processes on one CPU yielding to each other: every yield is a context
 * switch between address spaces. n switches (n/2 yields in each process). */
static long long run_yield_pingpong(long n)
{
    int go[2];
    if (pipe(go) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        for (long i = 0; i < n / 2; i++)
            sched_yield();
        _exit(0);
    }
    if (pid < 0)
        return -1;
    long long t0 = now_ns();
    if (write(go[1], "x", 1) != 1)
        return -1;
    for (long i = 0; i < n / 2; i++)
        sched_yield();
    int status;
    if (waitpid(pid, &status, 0) != pid || status != 0)
        return -1;
    long long ns = now_ns() - t0;
    close(go[0]);
    close(go[1]);
    return ns;
}

/* One byte to a child through a pipe and one byte back: n round trips. */
static long long run_pipe_roundtrip(long n)
{
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        for (long i = 0; i < n; i++)
            if (read(down[0], &c, 1) != 1 || write(up[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    if (pid < 0)
        return -1;
    long long t0 = now_ns();
    char c = 'x';
    for (long i = 0; i < n; i++)
        if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1)
            return -1;
    long long ns = now_ns() - t0;
    int status;
    if (waitpid(pid, &status, 0) != pid || status != 0)
        return -1;
    close(down[0]); close(down[1]); close(up[0]); close(up[1]);
    return ns;
}

/* A file's life on the root file system (tmpfs on both kernels): create, write
 * one 4 KiB page, close, unlink. */
static long long run_file_create(long n)
{
    static char page[PAGE];
    memset(page, 'f', sizeof page);
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int fd = open("/bench-file", O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0 || write(fd, page, sizeof page) != (ssize_t)sizeof page || close(fd) != 0 ||
            unlink("/bench-file") != 0)
            return -1;
    }
    return now_ns() - t0;
}

/* Sequential reads of a 64 MiB file already in memory (the warm cache): n
 * pages of 4 KiB, read 64 KiB at a time, wrapping at the end. The file is
 * written once, untimed. MB/s = 4096 / (ns per page) * 1000. */
#define READ_FILE_BYTES (64 * MIB)
static long long run_file_read_cached(long n)
{
    static char buf[64 * 1024];
    static int fd = -1;
    if (fd < 0) {
        fd = open("/bench-read", O_CREAT | O_RDWR | O_TRUNC, 0644);
        if (fd < 0)
            return -1;
        memset(buf, 'r', sizeof buf);
        for (unsigned long done = 0; done < READ_FILE_BYTES; done += sizeof buf)
            if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
                return -1;
        unlink("/bench-read");                   /* freed when the program exits */
    }
    long pages_per_read = sizeof buf / PAGE;
    long long t0 = now_ns();
    for (long done = 0; done < n; done += pages_per_read) {
        off_t at = (off_t)((done * PAGE) % READ_FILE_BYTES);
        if (pread(fd, buf, sizeof buf, at) != (ssize_t)sizeof buf)
            return -1;
    }
    return now_ns() - t0;
}

/*
 * First-touch faults on a file already in the page cache: a 16 MiB file on the
 * root file system (tmpfs on both kernels), written and read once, untimed,
 * then mapped again for each chunk of pages and touched one byte per page:
 * read through MAP_PRIVATE, written through MAP_SHARED. ns per page. (Linux
 * maps up to 16 cached pages around a read fault, fault-around; a write fault
 * maps one.)
 */
#define FAULT_FILE_PAGES 4096L
static int fault_file = -1;

static bool make_fault_file(void)
{
    if (fault_file >= 0)
        return true;
    static char chunk[64 * 1024];
    int fd = open("/bench-fault", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0)
        return false;
    memset(chunk, 'm', sizeof chunk);
    for (long done = 0; done < FAULT_FILE_PAGES * (long)PAGE; done += sizeof chunk)
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
            return false;
    for (long done = 0; done < FAULT_FILE_PAGES * (long)PAGE; done += sizeof chunk)
        if (pread(fd, chunk, sizeof chunk, done) != (ssize_t)sizeof chunk)
            return false;
    unlink("/bench-fault");                      /* freed when the program exits */
    fault_file = fd;
    return true;
}

static volatile unsigned fault_sink;              /* keeps the reads */

static long long run_file_fault(long n, int prot, int flags)
{
    if (!make_fault_file())
        return -1;
    long long total = 0;
    for (long done = 0; done < n; done += FAULT_FILE_PAGES) {
        long pages = n - done < FAULT_FILE_PAGES ? n - done : FAULT_FILE_PAGES;
        volatile unsigned char *p = mmap(NULL, (size_t)pages * PAGE, prot, flags, fault_file, 0);
        if (p == MAP_FAILED) {
            if (errno == ENODEV)
                unavailable = "mmap of a file MAP_SHARED and writable: ENODEV";
            return -1;
        }
        unsigned sum = 0;
        long long t0 = now_ns();
        if (prot & PROT_WRITE)
            for (long i = 0; i < pages; i++)
                p[i * PAGE] = 1;
        else
            for (long i = 0; i < pages; i++)
                sum += p[i * PAGE];
        total += now_ns() - t0;
        fault_sink = sum;
        munmap((void *)p, (size_t)pages * PAGE);
    }
    return total;
}

static long long run_file_fault_private_read(long n) { return run_file_fault(n, PROT_READ, MAP_PRIVATE); }
static long long run_file_fault_shared_write(long n)
{
    return run_file_fault(n, PROT_READ | PROT_WRITE, MAP_SHARED);
}

/*
 * What reading /proc/self/smaps costs with many regions: 1000 regions of one
 * written page each (alternately writable and read-only, so none merge), then
 * n whole reads in 64 KiB read() calls. ns per read. (Linux booted with this
 * program as init has no /proc yet: main mounts it.)
 */
static long long run_smaps_read(long n)
{
    const long regions = 1000;
    static char buf[64 * 1024];
    char *p = mmap(NULL, (size_t)regions * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    for (long i = 0; i < regions; i++) {
        p[i * PAGE] = 1;
        if (i % 2 && mprotect(p + i * PAGE, PAGE, PROT_READ) != 0)
            return -1;
    }
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int fd = open("/proc/self/smaps", O_RDONLY);
        if (fd < 0)
            return -1;
        ssize_t got;
        while ((got = read(fd, buf, sizeof buf)) > 0) {}
        close(fd);
        if (got < 0)
            return -1;
    }
    long long ns = now_ns() - t0;
    munmap(p, (size_t)regions * PAGE);
    return ns;
}

/*
 * The disk rows: with a virtio disk attached (tools/bench.py attaches an ext2
 * image holding /big, 64 MiB), mount it read-only and read /big from start to
 * end in 64 KiB reads, twice: the first read finds nothing in memory (cold),
 * the second what the first left in the caches (warm). One pass each, timed
 * whole: ns per 4 KiB page. Linux's modules for virtio and ext4 are loaded
 * first when the archive brings them (/modules/list; Debian builds them as
 * modules). Nothing is printed without a disk.
 */
static void disk_rows(void)
{
    ws_load_modules();
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);     /* Linux's initramfs has no /dev/vda yet */
    mkdir("/mnt", 0755);
    /* Linux makes device nodes from a kernel thread: give it up to 3 s. */
    for (int i = 0; i < 300 && access("/dev/vda", F_OK) != 0 && access("/modules/list", F_OK) == 0; i++)
        usleep(10000);
    if (access("/dev/vda", F_OK) != 0)
        return;
    if (mount("/dev/vda", "/mnt", "ext2", MS_RDONLY, NULL) != 0 &&
        mount("/dev/vda", "/mnt", "ext4", MS_RDONLY, NULL) != 0) {
        printf("# bench: mount /dev/vda: errno %d (%s)\n", errno, strerror(errno));
        return;
    }
    static char buf[64 * 1024];
    const char *names[] = { "disk_read_cold_per_4k", "disk_read_warm_per_4k" };
    for (int pass = 0; pass < 2; pass++) {
        int fd = open("/mnt/big", O_RDONLY);
        if (fd < 0) { printf("# bench: open /mnt/big: errno %d\n", errno); return; }
        long long t0 = now_ns(), bytes = 0;
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) bytes += n;
        long long ns = now_ns() - t0;
        close(fd);
        if (n < 0 || bytes != 64 * (long long)MIB) { printf("# bench: read /mnt/big: %lld bytes, errno %d\n", bytes, errno); return; }
        printf("bench %-24s %12.1f\n", names[pass], (double)ns / (double)(bytes / PAGE));
        printf("#   (%lld MB/s)\n", bytes * 1000 / ns);
        fflush(stdout);
    }
    umount("/mnt");
}

/* Tracing's cost: the same getpid and first-touch rows with events on. With
 * them off (every other row) a trace point is one load and one branch. The
 * tracefs directory is /sys/kernel/tracing, or tracefs mounted on /tmp/bench-tracing;
 * without either (a Linux boot with no tracefs) the rows say n/a. */
static char trace_dir[64];

static bool tracefs_found(void)
{
    if (trace_dir[0])
        return true;
    if (access("/sys/kernel/tracing/trace", F_OK) == 0) {
        snprintf(trace_dir, sizeof trace_dir, "/sys/kernel/tracing");
        return true;
    }
    mkdir("/tmp", 0777);
    mkdir("/tmp/bench-tracing", 0755);
    if (mount("nodev", "/tmp/bench-tracing", "tracefs", 0, NULL) == 0 || access("/tmp/bench-tracing/trace", F_OK) == 0) {
        snprintf(trace_dir, sizeof trace_dir, "/tmp/bench-tracing");
        return true;
    }
    return false;
}

/* Writes `value` to the tracefs file `name`; false if it cannot. */
static bool trace_set(const char *name, const char *value)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", trace_dir, name);
    int fd = open(path, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return false;
    bool done = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
    close(fd);
    return done;
}

/* Runs `run(n)` with the events `enable_files` on, then off and the buffer emptied. */
static long long with_events(const char *const *enable_files, long long (*run)(long), long n)
{
    if (!tracefs_found()) {
        unavailable = "no tracefs here";
        return -1;
    }
    bool any = false;
    for (const char *const *f = enable_files; *f; f++)
        any |= trace_set(*f, "1");
    if (!any) {
        errno = ENOENT;
        return -1;
    }
    long long ns = run(n);
    for (const char *const *f = enable_files; *f; f++)
        trace_set(*f, "0");
    trace_set("trace", "");
    return ns;
}

static const char *const syscall_events[] = { "events/raw_syscalls/enable", NULL };
static const char *const fault_events[] = { "events/exceptions/enable", "events/keel/fault_resolved/enable", NULL };

static long long run_getpid_traced(long n) { return with_events(syscall_events, run_getpid, n); }
static long long run_anon_fault_traced(long n) { return with_events(fault_events, run_anon_fault, n); }

/* fork, execve of this (static) program with --exit, wait: n rounds. */
static const char *self_path = "/bin/bench";

static long long run_fork_execve(long n)
{
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *argv[] = { (char *)self_path, "--exit", NULL };
            char *envp[] = { NULL };
            execve(self_path, argv, envp);
            _exit(127);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
            return -1;
    }
    return now_ns() - t0;
}

/* fork, execve of Debian's dynamically linked dash running `-c true`, wait:
 * n rounds. tools/bench.py puts /bin/dash and its libraries in the archive. */
static long long run_dash(long n)
{
    if (access("/bin/dash", X_OK) != 0) {
        unavailable = "no /bin/dash in this archive";
        return -1;
    }
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *argv[] = { "dash", "-c", "true", NULL };
            char *envp[] = { "PATH=/bin", NULL };
            execve("/bin/dash", argv, envp);
            _exit(126);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
            return -1;
        if (status != 0) {
            static char why[64];
            if (WIFSIGNALED(status))
                snprintf(why, sizeof why, "dash killed by signal %d", WTERMSIG(status));
            else
                snprintf(why, sizeof why, "dash exited with %d%s", WEXITSTATUS(status),
                         WEXITSTATUS(status) == 126 ? " (execve failed)" : "");
            unavailable = why;
            return -1;
        }
    }
    return now_ns() - t0;
}

static const struct bench benches[] = {
    { "getpid", "calls", run_getpid },
    { "fork_exit_wait", "forks", run_fork },
    { "fork_exit_wait_32m", "forks", run_fork_32m },
    { "anon_fault_per_page", "pages", run_anon_fault },
    { "cow_fault_per_page", "pages", run_cow_fault },
    { "brk_grow_4k_touch", "steps", run_brk },
    { "mmap_munmap_4k", "pairs", run_mmap_munmap },
    { "sched_yield", "calls", run_yield },
    { "yield_pingpong", "switches", run_yield_pingpong },
    { "pipe_roundtrip", "round trips", run_pipe_roundtrip },
    { "fork_execve_wait", "rounds", run_fork_execve },
    { "dash_fork_exec_wait", "rounds", run_dash },
    { "file_create_write_unlink", "files", run_file_create },
    { "file_read_cached_per_4k", "pages", run_file_read_cached },
    { "file_fault_private_read", "pages", run_file_fault_private_read },
    { "file_fault_shared_write", "pages", run_file_fault_shared_write },
    { "smaps_read_1000_vmas", "reads", run_smaps_read },
    { "getpid_traced_sys", "calls", run_getpid_traced },
    { "anon_fault_traced_per_page", "pages", run_anon_fault_traced },
};

/*
 * The NUMA rows (`bench --numa`, a machine of two nodes with a CPU each; make
 * bench boots both kernels with the same QEMU line): first touch of fresh
 * anonymous pages, ns per page, from CPU 0 under
 *   numa_touch_default      no policy: the CPU's node
 *   numa_touch_bind_local   an mbind MPOL_BIND to the CPU's node: the same
 *                           node, so the difference is the policy's cost
 *                           (the VMA's policy looked up, a node mask to obey)
 *   numa_touch_bind_remote  an mbind MPOL_BIND to the other node
 *   numa_touch_interleave   an mbind MPOL_INTERLEAVE over both
 * QEMU gives both nodes the same RAM speed, so the remote row measures the
 * allocator's path, not a remote-memory latency. After each row, its
 * /proc/vmstat numa_* counters per page touched, one "# numa ROW COUNTER
 * VALUE" line each: where the pages really went.
 */
static const char *const numa_counters[] = { "numa_hit", "numa_miss", "numa_foreign", "numa_interleave",
                                             "numa_local", "numa_other" };
static void numa_rows(void)
{
    unsigned long online = 0;
    int mode = 0;
    if (syscall(SYS_get_mempolicy, &mode, &online, 65, NULL, 4 /* MPOL_F_MEMS_ALLOWED */) != 0
        || __builtin_popcountl(online) < 2) {
        printf("# bench numa n/a: fewer than two nodes (mask %#lx, errno %d)\n", online, errno);
        return;
    }
    cpu_set_t cpu0;
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    sched_setaffinity(0, sizeof cpu0, &cpu0);
    unsigned cpu = 0, local = 0;
    syscall(SYS_getcpu, &cpu, &local, NULL);
    unsigned long here = 1UL << local, there = (online & ~here) & -(online & ~here);
    const struct { struct bench b; int policy; unsigned long nodes; } rows[] = {
        { { "numa_touch_default", "pages", run_anon_fault }, 0, 0 },
        { { "numa_touch_bind_local", "pages", run_anon_fault }, 2 /* MPOL_BIND */, here },
        { { "numa_touch_bind_remote", "pages", run_anon_fault }, 2, there },
        { { "numa_touch_interleave", "pages", run_anon_fault }, 3 /* MPOL_INTERLEAVE */, here | there },
    };
    printf("# bench numa: CPU %u on node %u, nodes %#lx\n", cpu, local, online);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        long long before[6];
        for (int c = 0; c < 6; c++)
            before[c] = ws_vmstat(numa_counters[c]);
        numa_policy = rows[r].policy;
        numa_nodes = rows[r].nodes;
        numa_touched = 0;
        report(&rows[r].b);
        for (int c = 0; c < 6 && numa_touched > 0; c++)
            if (before[c] >= 0)
                printf("# numa %s %s %.3f\n", rows[r].b.name, numa_counters[c],
                       (double)(ws_vmstat(numa_counters[c]) - before[c]) / (double)numa_touched);
        fflush(stdout);
    }
}

/*
 * The reclaim rows, in a machine with less memory than the working set (make
 * bench boots this with a swap disk, the same QEMU line for both kernels):
 * `dev` becomes swap (ws_swapon: Linux booted from an initramfs has none; on
 * Keel swap= may have made it already), free memory above `free_mib` MiB is
 * locked away so that both kernels give the working set the same, then
 *   workset_<N>m_write_verify  writing every page of an N MiB private
 *                              anonymous mapping (workset.h) and checking
 *                              every page in a random order: one op, the whole
 *   swap_pagein_per_4k         then reading every page again from the start,
 *                              checking it: the time over the pages that pass
 *                              read from swap (vmstat pswpin): ns per page in
 */
static void reclaim_rows(long mib, const char *dev, long free_mib)
{
    if (ws_swapon(dev) != 0) {
        printf("# bench: swapon %s: errno %d (%s)\n", dev, errno, strerror(errno));
        return;
    }
    /* The same memory for the working set under both kernels: Linux's own
     * image, slabs and modules take some 60 MiB more than Keel's, so what is
     * free above free_mib is locked away (mlock) before the rows start. */
    long long free_kb = ws_meminfo_kb("MemFree"), pin = (free_kb - free_mib * 1024) * 1024;
    if (free_kb < 0 || pin < 0) {
        printf("# bench: MemFree %lld kB, below the %ld MiB the working set is to have: "
               "give the machine more memory\n", free_kb, free_mib);
        return;
    }
    pin &= ~(long long)(PAGE - 1);
    if (pin > 0 && mmap(NULL, (size_t)pin, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE,
                        -1, 0) == MAP_FAILED) {
        printf("# bench: locking %lld kB away: errno %d (%s)\n", pin / 1024, errno, strerror(errno));
        return;
    }
    printf("#   (MemFree %lld kB, %lld kB locked away, MemFree %lld kB for the working set)\n", free_kb, pin / 1024,
           ws_meminfo_kb("MemFree"));
    long long ra0 = ws_vmstat("swap_ra"), hit0 = ws_vmstat("swap_ra_hit"), out0 = ws_vmstat("pswpout"),
              in_0 = ws_vmstat("pswpin");
    size_t bytes = (size_t)mib * MIB, pages = bytes / PAGE;
    char *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t *order = ws_shuffled(pages, 1);
    if (base == MAP_FAILED || !order) {
        printf("# bench: %ld MiB working set: errno %d\n", mib, errno);
        return;
    }
    long long t0 = now_ns();
    for (size_t page = 0; page < pages; page++)
        ws_fill(base + page * PAGE, 1, page);
    for (size_t k = 0; k < pages; k++)
        if (ws_check(base + (size_t)order[k] * PAGE, 1, order[k]) >= 0) {
            printf("# bench: working set page %u wrong\n", order[k]);
            return;
        }
    long long ns = now_ns() - t0;
    printf("bench workset_%ldm_write_verify %12.1f\n", mib, (double)ns);
    printf("#   (%.1f s, %.1f MiB/s written and checked; pswpout %lld, pswpin %lld, swap_ra %lld, swap_ra_hit %lld)\n",
           ns / 1e9, ws_rate(2.0 * bytes, ns / 1e9), ws_vmstat("pswpout") - out0, ws_vmstat("pswpin") - in_0,
           ws_vmstat("swap_ra") - ra0, ws_vmstat("swap_ra_hit") - hit0);
    long long in0 = ws_vmstat("pswpin");
    out0 = ws_vmstat("pswpout"), ra0 = ws_vmstat("swap_ra"), hit0 = ws_vmstat("swap_ra_hit");
    t0 = now_ns();
    for (size_t page = 0; page < pages; page++)
        if (ws_check(base + page * PAGE, 1, page) >= 0) {
            printf("# bench: working set page %zu wrong on the second pass\n", page);
            return;
        }
    ns = now_ns() - t0;
    long long swapped_in = ws_vmstat("pswpin") - in0;
    if (in0 < 0 || swapped_in <= 0) {
        printf("# bench swap_pagein_per_4k n/a: no pages read from swap (pswpin %lld)\n", swapped_in);
    } else {
        printf("bench %-24s %12.1f\n", "swap_pagein_per_4k", (double)ns / (double)swapped_in);
        printf("#   (%lld pages in, %.1f MiB/s; pswpout %lld, swap_ra %lld, swap_ra_hit %lld)\n", swapped_in,
               ws_rate((double)swapped_in * PAGE, ns / 1e9), ws_vmstat("pswpout") - out0, ws_vmstat("swap_ra") - ra0,
               ws_vmstat("swap_ra_hit") - hit0);
    }
    fflush(stdout);
    munmap(base, bytes);
    free(order);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--exit") == 0)
        return 0;
    /* The first thing init prints: tools/bench.py times QEMU start to here. */
    printf("# bench: name, nanoseconds per operation (CLOCK_MONOTONIC)\n");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "--boot") == 0)
        return 0;
    if (access(self_path, X_OK) != 0 && argv[0][0] == '/')
        self_path = argv[0];
    ws_mount_proc();
    if (argc > 1 && strcmp(argv[1], "--numa") == 0) {
        numa_rows();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--reclaim") == 0) {
        reclaim_rows(argc > 2 ? atol(argv[2]) : 160, argc > 3 ? argv[3] : "/dev/vda", argc > 4 ? atol(argv[4]) : 64);
        return 0;
    }
    /* `bench [--repeat N] NAME...` runs only the named benchmarks, N times
     * (long enough to profile one with a sampling debugger). */
    int repeat = 1, first = 1;
    if (argc > 2 && strcmp(argv[1], "--repeat") == 0) {
        repeat = atoi(argv[2]);
        first = 3;
    }
    for (int r = 0; r < repeat; r++)
        for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
            int wanted = argc <= first;
            for (int a = first; a < argc; a++)
                wanted |= strcmp(argv[a], benches[i].name) == 0;
            if (wanted)
                report(&benches[i]);
        }
    int disk = argc <= first;
    for (int a = first; a < argc; a++)
        disk |= strcmp(argv[a], "disk") == 0;
    if (disk)
        disk_rows();
    return 0;
}
