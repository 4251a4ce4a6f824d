/*
 * test_swapon: swapon(2), swapoff(2), /proc/swaps and the Swap lines of
 * /proc/meminfo, as Linux defines them.
 *
 *   test_swapon              the checks that hold on any Linux and on Keel
 *                            without touching a real swap area: the order of
 *                            swapon's errors (flags, CAP_SYS_ADMIN, path,
 *                            file), swapoff of something that is no swap,
 *                            the /proc/swaps header and line layout,
 *                            SwapTotal = the sum of /proc/swaps' sizes
 *   test_swapon DEV          DEV holds a mkswap'd area that is not on: the
 *                            whole cycle (on, EBUSY, /proc/swaps line, default
 *                            and preferred priorities, meminfo, off, EINVAL)
 *   test_swapon --boot DEV   the kernel turned DEV on from its command line
 *                            (`swap=DEV`): it is listed with priority -2 and
 *                            swap= did not reach init's environment; then
 *                            it is turned off and the cycle above runs
 *
 * The host run (no arguments) never turns swap on or off; it runs as root,
 * and where CAP_SYS_ADMIN is missing (a container) the path and file checks
 * are skipped.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "procfs.h"

/* <linux/capability.h>, which musl-gcc's headers lack. */
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
#define CAP_SYS_ADMIN 21
struct __user_cap_header_struct { uint32_t version; int pid; };
struct __user_cap_data_struct { uint32_t effective, permitted, inheritable; };

#define SWAP_FLAG_PREFER 0x8000
#define SWAP_FLAG_DISCARD 0x10000

static long sys_swapon(const void *path, long flags) { return syscall(SYS_swapon, path, flags); }
static long sys_swapoff(const void *path) { return syscall(SYS_swapoff, path); }

static char text[65536];

struct swaps_line {
    char path[256], type[16];
    long size, used, priority;
};

/* Parses /proc/swaps into `lines`; returns how many, or -1 if its header or
 * a line is not in Linux's layout (the reason in `why`). */
static int read_swaps(struct swaps_line *lines, int max, char *why, size_t whylen)
{
    if (read_whole("/proc/swaps", text, sizeof text) < 0) {
        snprintf(why, whylen, "cannot read /proc/swaps: %s", strerror(errno));
        return -1;
    }
    const char *header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    if (strncmp(text, header, strlen(header)) != 0) {
        snprintf(why, whylen, "header %.60s", text);
        return -1;
    }
    int n = 0;
    for (char *line = text + strlen(header); *line && n < max; n++) {
        char *end = strchr(line, '\n');
        if (!end) {
            snprintf(why, whylen, "unterminated line %.60s", line);
            return -1;
        }
        *end = 0;
        struct swaps_line *l = &lines[n];
        char tail[8];
        /* The path padded with spaces to 40 columns, then tab-separated columns
         * with an extra tab after numbers under 10000000. */
        int got = sscanf(line, "%255s %15s %ld %ld %ld%7s", l->path, l->type, &l->size, &l->used, &l->priority, tail);
        size_t pathlen = strlen(l->path);
        size_t typeat = strspn(line + pathlen, " ") + pathlen;
        bool layout = got == 5 && (pathlen < 40 ? typeat == 40 : typeat == pathlen + 1)
                      && (strcmp(l->type, "partition") == 0 || strcmp(l->type, "file") == 0)
                      && strstr(line + typeat, l->size < 10000000 ? "\t\t" : "\t") != NULL;
        if (!layout) {
            snprintf(why, whylen, "line not in Linux's layout: %.80s", line);
            return -1;
        }
        line = end + 1;
    }
    return n;
}

/* The kB value of a /proc/meminfo line, or -1. */
static long meminfo_kb(const char *name)
{
    static char buf[8192];
    if (read_whole("/proc/meminfo", buf, sizeof buf) < 0)
        return -1;
    char key[64];
    snprintf(key, sizeof key, "\n%s:", name);
    char *at = strstr(buf, key);
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* The /proc/swaps line of `dev`, or NULL. */
static struct swaps_line *find_swap(const char *dev, struct swaps_line *lines, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(lines[i].path, dev) == 0)
            return &lines[i];
    return NULL;
}

/* A child without CAP_SYS_ADMIN in its effective set: both calls are EPERM. */
static void check_eperm(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct data[2];
        if (syscall(SYS_capget, &header, data) != 0)
            _exit(10);
        data[0].effective &= ~(1u << CAP_SYS_ADMIN);
        if (syscall(SYS_capset, &header, data) != 0)
            _exit(11);
        if (sys_swapon(path, 0) != -1 || errno != EPERM)
            _exit(12);
        if (sys_swapoff(path) != -1 || errno != EPERM)
            _exit(13);
        _exit(0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "without CAP_SYS_ADMIN: swapon and swapoff are EPERM",
       "child status %#x (10/11: capget/capset failed, 12: swapon, 13: swapoff)", status);
}

static void generic_checks(void)
{
    /* Flags come first: a flag Linux does not know is EINVAL even for a bad path. */
    ok_errno(sys_swapon("/no/such/file", 0x100000), EINVAL, "swapon with an unknown flag: EINVAL");
    ok_errno(sys_swapon(NULL, -1), EINVAL, "swapon with flags -1: EINVAL before the path");
    check_eperm("/no/such/file");

    bool capable = sys_swapon("/no/such/file", 0) == -1 && errno != EPERM;
    if (!capable) {
        skip("swapon/swapoff path and file errors", "no CAP_SYS_ADMIN here (a container)");
    } else {
        ok_errno(sys_swapon("/no/such/file", 0), ENOENT, "swapon of a missing file: ENOENT");
        ok_errno(sys_swapon("", 0), ENOENT, "swapon of an empty path: ENOENT");
        ok_errno(sys_swapon(NULL, 0), EFAULT, "swapon(NULL): EFAULT");
        ok_errno(sys_swapon((void *)0xffff800000000000UL, 0), EFAULT, "swapon of a kernel address: EFAULT");
        ok_errno(sys_swapon("/", 0), EISDIR, "swapon of a directory: EISDIR");
        ok_errno(sys_swapon("/dev/null", 0), EINVAL, "swapon of a character device: EINVAL");
        ok_errno(sys_swapon("/dev/null", SWAP_FLAG_PREFER | SWAP_FLAG_DISCARD | 5), EINVAL,
                 "swapon with valid flags of a character device: EINVAL");
        if (mkdir("/tmp", 01777) != 0 && errno != EEXIST)
            note("no /tmp: %s", strerror(errno));
        char file[] = "/tmp/test_swapon.XXXXXX";
        int fd = mkstemp(file);
        static char zeros[65536];
        bool made = fd >= 0 && write(fd, zeros, sizeof zeros) == (ssize_t)sizeof zeros;
        if (fd >= 0)
            close(fd);
        if (made)
            ok_errno(sys_swapon(file, 0), EINVAL, "swapon of a file without a swap signature: EINVAL");
        else
            ok(false, "make a file of zeros", "%s", strerror(errno));
        unlink(file);
        ok_errno(sys_swapoff("/no/such/file"), ENOENT, "swapoff of a missing file: ENOENT");
        ok_errno(sys_swapoff(NULL), EFAULT, "swapoff(NULL): EFAULT");
        ok_errno(sys_swapoff("/dev/null"), EINVAL, "swapoff of something that is no swap area: EINVAL");
    }

    struct swaps_line lines[32];
    char why[160];
    int n = read_swaps(lines, 32, why, sizeof why);
    ok(n >= 0, "/proc/swaps: Linux's header and columns", "%s", why);
    long total = meminfo_kb("SwapTotal"), free_kb = meminfo_kb("SwapFree"), cached = meminfo_kb("SwapCached");
    ok(total >= 0 && free_kb >= 0 && cached >= 0 && free_kb <= total,
       "meminfo: SwapTotal, SwapFree <= SwapTotal, SwapCached", "%ld %ld %ld", total, free_kb, cached);
    long sum = 0, used = 0;
    for (int i = 0; i < n; i++) {
        sum += lines[i].size;
        used += lines[i].used;
    }
    if (n >= 0)
        ok(sum == total, "SwapTotal is the sum of /proc/swaps' sizes", "%ld kB vs %ld kB", total, sum);
}

/* The whole cycle on `dev`, a mkswap'd disk that is not on now. */
static void cycle(const char *dev)
{
    struct swaps_line lines[32];
    char why[160];
    long total_before = meminfo_kb("SwapTotal");
    int n = read_swaps(lines, 32, why, sizeof why);
    ok(n >= 0 && !find_swap(dev, lines, n), "the area is off at first", "%s", n < 0 ? why : "listed");

    ok(sys_swapon(dev, 0) == 0, "swapon of a mkswap'd disk", "%s", strerror(errno));
    n = read_swaps(lines, 32, why, sizeof why);
    struct swaps_line *l = n >= 0 ? find_swap(dev, lines, n) : NULL;
    ok(l && strcmp(l->type, "partition") == 0 && l->size > 0 && l->used == 0,
       "/proc/swaps lists it: partition, its size, nothing used", "%s", l ? l->type : why);
    /* Default priorities count down from -2 (Linux: --least_priority). */
    ok(l && l->priority < 0, "a default priority is negative", "priority %ld", l ? l->priority : 0);
    long size = l ? l->size : 0, first_priority = l ? l->priority : 0;
    long total = meminfo_kb("SwapTotal");
    ok(total == total_before + size, "SwapTotal grew by its size", "%ld kB, was %ld kB, size %ld kB", total,
       total_before, size);
    ok(meminfo_kb("SwapFree") >= size, "SwapFree counts it", "%ld kB", meminfo_kb("SwapFree"));
    ok_errno(sys_swapon(dev, 0), EBUSY, "swapon of an area already on: EBUSY");
    ok(sys_swapoff(dev) == 0, "swapoff", "%s", strerror(errno));
    n = read_swaps(lines, 32, why, sizeof why);
    ok(n >= 0 && !find_swap(dev, lines, n), "gone from /proc/swaps", "%s", n < 0 ? why : "still listed");
    ok(meminfo_kb("SwapTotal") == total_before, "SwapTotal back", "%ld kB", meminfo_kb("SwapTotal"));
    ok_errno(sys_swapoff(dev), EINVAL, "swapoff of an area that is off: EINVAL");

    ok(sys_swapon(dev, SWAP_FLAG_PREFER | 1234) == 0, "swapon with SWAP_FLAG_PREFER", "%s", strerror(errno));
    n = read_swaps(lines, 32, why, sizeof why);
    l = n >= 0 ? find_swap(dev, lines, n) : NULL;
    ok(l && l->priority == 1234, "the preferred priority shows", "priority %ld", l ? l->priority : 0);
    ok(sys_swapoff(dev) == 0, "swapoff again", "%s", strerror(errno));
    ok(sys_swapon(dev, 0) == 0, "swapon with the default priority again", "%s", strerror(errno));
    n = read_swaps(lines, 32, why, sizeof why);
    l = n >= 0 ? find_swap(dev, lines, n) : NULL;
    ok(l && l->priority == first_priority, "a switched-off default priority is given again",
       "priority %ld, first %ld", l ? l->priority : 0, first_priority);
    ok(sys_swapoff(dev) == 0, "swapoff at the end", "%s", strerror(errno));
}

int main(int argc, char **argv)
{
    generic_checks();
    if (argc == 3 && strcmp(argv[1], "--boot") == 0) {
        const char *dev = argv[2];
        struct swaps_line lines[32];
        char why[160];
        int n = read_swaps(lines, 32, why, sizeof why);
        struct swaps_line *l = n >= 0 ? find_swap(dev, lines, n) : NULL;
        ok(l && l->priority == -2 && l->used == 0, "swap= turned the disk on before init, priority -2",
           "%s", l ? "wrong priority or use" : "not listed");
        ok(getenv("swap") == NULL, "swap= is the kernel's: not in init's environment", "swap=%s", getenv("swap"));
        ok(sys_swapoff(dev) == 0, "swapoff of the boot-time area", "%s", strerror(errno));
        cycle(dev);
    } else if (argc == 2) {
        cycle(argv[1]);
    } else {
        skip("the swapon/swapoff cycle on a real area", "no swap device given");
    }
    return ktest_done();
}
