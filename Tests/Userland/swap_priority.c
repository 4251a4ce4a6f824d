/*
 * swap_priority: which swap area pages go to. Two swap files in DIR (on
 * ext2): with priorities 10 and 5, pages pushed out by a hog all go to the
 * first; with equal priorities they are spread over both (Linux stripes
 * equal-priority areas). For a boot test with little RAM.
 *
 *   swap_priority DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "procfs.h"

#define SWAP_FLAG_PREFER 0x8000

static bool make_swap_file(const char *path, long mb)
{
    static char buf[1 << 16];
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (fd < 0)
        return false;
    memset(buf, 0xa5, sizeof buf);
    for (long i = 0; i < mb * 16; i++)
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            return false;
    memset(buf, 0, 4096);
    uint32_t info[3] = { 1, (uint32_t)(mb * 256 - 1), 0 };
    memcpy(buf + 1024, info, sizeof info);
    memcpy(buf + 4086, "SWAPSPACE2", 10);
    bool done = pwrite(fd, buf, 4096, 0) == 4096 && fsync(fd) == 0;
    close(fd);
    return done;
}

/* The Used column of `path` in /proc/swaps, or -1. */
static long used_kb(const char *path)
{
    static char text[8192];
    if (read_whole("/proc/swaps", text, sizeof text) < 0)
        return -1;
    char *at = strstr(text, path);
    if (!at)
        return -1;
    char type[16];
    long size, used;
    return sscanf(at + strlen(path), "%15s %ld %ld", type, &size, &used) == 3 ? used : -1;
}

/* 16 MiB kept and a 40 MiB hog: some of both goes out. */
static void pressure(void)
{
    size_t keep = 16 << 20, hog = 40 << 20;
    char *mem = mmap(NULL, keep, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; mem != MAP_FAILED && i < keep; i += 4096)
        mem[i] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        char *h = mmap(NULL, hog, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; h != MAP_FAILED && i < hog; i += 4096)
            h[i] = 1;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    /* Keep `mem` (its pages stay in swap) until the caller looked. */
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: swap_priority DIR\n0 passed, 1 failed\n");
        return 2;
    }
    char high[256], low[256];
    snprintf(high, sizeof high, "%s/high.swap", argv[1]);
    snprintf(low, sizeof low, "%s/low.swap", argv[1]);
    ok(make_swap_file(high, 24) && make_swap_file(low, 24), "two 24 MiB swap files", "%s", strerror(errno));
    ok(syscall(SYS_swapon, high, SWAP_FLAG_PREFER | 10) == 0 && syscall(SYS_swapon, low, SWAP_FLAG_PREFER | 5) == 0,
       "swapon with priorities 10 and 5", "%s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        pressure();
        _exit(used_kb(high) > 0 && used_kb(low) == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    note("(the child checked) high %ld kB, low %ld kB used now", used_kb(high), used_kb(low));
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pages go to the higher-priority area only", "status %#x", status);
    ok(syscall(SYS_swapoff, high) == 0 && syscall(SYS_swapoff, low) == 0, "swapoff both", "%s", strerror(errno));

    ok(syscall(SYS_swapon, high, SWAP_FLAG_PREFER | 3) == 0 && syscall(SYS_swapon, low, SWAP_FLAG_PREFER | 3) == 0,
       "swapon both with priority 3", "%s", strerror(errno));
    pid = fork();
    if (pid == 0) {
        pressure();
        long a = used_kb(high), b = used_kb(low);
        printf("# equal priorities: %ld kB and %ld kB used\n", a, b);
        fflush(stdout);
        _exit(a > 0 && b > 0 ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "equal priorities: both areas take pages", "status %#x", status);
    ok(syscall(SYS_swapoff, high) == 0 && syscall(SYS_swapoff, low) == 0, "swapoff both again", "%s", strerror(errno));
    unlink(high);
    unlink(low);
    return ktest_done();
}
