/*
 * oom_hog kill|adj: the OOM killer seen from init, for the boot tests
 * (Tests/Boot/boot_tests.py, MEM=64M, no swap). It must be Keel's init: it
 * fills the machine's memory, which on the host would be the host's.
 *
 *   kill  A sibling ("sibling") fills 8 MiB with a checksummed pattern; then a
 *         hog ("hog") maps and touches 1 MiB after another until the OOM
 *         killer kills it. Init checks: the hog died of SIGKILL, the sibling
 *         still holds its 8 MiB intact, /proc/vmstat oom_kill went up by one.
 *   adj   The hog sets its oom_score_adj to -1000 (never chosen) and a small
 *         process ("small", 4 MiB) sets 1000; the hog touches memory until it
 *         sees the small one gone (the end of a pipe only the small one holds
 *         open). Init checks: the small one died of SIGKILL, the hog lived and
 *         exits normally, oom_kill went up by one.
 *
 * Prints ktest lines ("ok - ..."), notes ("# oom_hog: hog 3 touched 49 MiB ...")
 * and the summary; the boot test also reads the kernel's "Out of memory:
 * Killed process" line and the hog's and its victim's pids printed here:
 *     oom_hog: hog pid N
 *     oom_hog: sibling pid N      (kill)  /  oom_hog: small pid N   (adj)
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "ktime.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"

#define MIB (1UL << 20)
#define PAGE 4096UL

/* Shared with init: how far the hog got, and when it last got further. */
struct progress {
    volatile unsigned long mib;
    volatile double last_ms;
};

static struct progress *progress;

static void set_adj(const char *value)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
        _exit(10);
    close(fd);
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* The words of `len` bytes at `p` from a xorshift seeded with `seed`, and their sum. */
static uint64_t fill(uint64_t *p, size_t len, uint64_t seed)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < len / 8; i++) {
        p[i] = next_random(&seed);
        sum += p[i] * (i + 1);
    }
    return sum;
}

/* True when the words still are what `fill` wrote. */
static bool verify(const uint64_t *p, size_t len, uint64_t seed, uint64_t want)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < len / 8; i++) {
        if (p[i] != next_random(&seed))
            return false;
        sum += p[i] * (i + 1);
    }
    return sum == want;
}

/* Maps and touches 1 MiB after another until killed, or until `stop_fd` (if
 * not -1) reads end of file; returns the MiB touched. */
static unsigned long hog(int stop_fd)
{
    for (;;) {
        progress->last_ms = now_ms();
        unsigned char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            _exit(11);
        for (size_t i = 0; i < MIB; i += PAGE)
            p[i] = (unsigned char)i | 1;
        progress->mib++;
        if (stop_fd >= 0) {
            char c;
            ssize_t n = read(stop_fd, &c, 1);
            if (n == 0)
                return progress->mib;
        }
    }
}

static void name_self(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

static int wait_for(pid_t pid)
{
    int status = -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return status;
}

static void case_kill(void)
{
    long long kills_before = vmstat_counter("oom_kill");
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    const size_t set = 8 * MIB;
    pid_t sibling = fork();
    if (sibling == 0) {
        name_self("sibling");
        uint64_t *p = mmap(NULL, set, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            _exit(12);
        uint64_t sum = fill(p, set, 0x9e3779b97f4a7c15ULL);
        write(ready[1], "r", 1);
        char c;
        read(go[0], &c, 1);
        _exit(verify(p, set, 0x9e3779b97f4a7c15ULL, sum) ? 0 : 1);
    }
    printf("oom_hog: sibling pid %d\n", (int)sibling);
    char c;
    read(ready[0], &c, 1);

    pid_t hog_pid = fork();
    if (hog_pid == 0) {
        name_self("hog");
        hog(-1);
        _exit(0);
    }
    printf("oom_hog: hog pid %d\n", (int)hog_pid);
    fflush(stdout);
    int status = wait_for(hog_pid);
    double waited = now_ms();
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the hog is killed by SIGKILL", "wait status %#x", status);
    note("oom_hog: hog %d touched %lu MiB; reaped by wait %.0f ms after its last MiB began", (int)hog_pid,
         progress->mib, waited - progress->last_ms);
    write(go[1], "g", 1);
    status = wait_for(sibling);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the sibling's 8 MiB working set is intact",
       "wait status %#x", status);
    long long kills = vmstat_counter("oom_kill");
    ok(kills == kills_before + 1, "/proc/vmstat oom_kill counts one kill", "%lld before, %lld after", kills_before,
       kills);
    printf("oom_hog: oom_kill %lld\n", kills);
}

static void case_adj(void)
{
    long long kills_before = vmstat_counter("oom_kill");
    int ready[2], alive[2];
    pipe(ready);
    pipe(alive);
    pid_t small = fork();
    if (small == 0) {
        name_self("small");
        close(alive[0]);                         /* holds only the write end: its death is the end of file */
        set_adj("1000");
        const size_t len = 4 * MIB;
        uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            _exit(12);
        fill(p, len, 7);
        write(ready[1], "r", 1);
        for (;;)
            pause();
    }
    close(alive[1]);
    printf("oom_hog: small pid %d\n", (int)small);
    char c;
    read(ready[0], &c, 1);

    pid_t hog_pid = fork();
    if (hog_pid == 0) {
        name_self("hog");
        set_adj("-1000");
        fcntl(alive[0], F_SETFL, O_NONBLOCK);
        unsigned long mib = hog(alive[0]);
        _exit(mib > 0 ? 0 : 13);
    }
    close(alive[0]);
    printf("oom_hog: hog pid %d\n", (int)hog_pid);
    fflush(stdout);
    int status = wait_for(small);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the small process with oom_score_adj 1000 is killed",
       "wait status %#x", status);
    status = wait_for(hog_pid);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the bigger hog with oom_score_adj -1000 lives and exits",
       "wait status %#x", status);
    note("oom_hog: hog %d touched %lu MiB before the small one was gone", (int)hog_pid, progress->mib);
    long long kills = vmstat_counter("oom_kill");
    ok(kills == kills_before + 1, "/proc/vmstat oom_kill counts one kill", "%lld before, %lld after", kills_before,
       kills);
    printf("oom_hog: oom_kill %lld\n", kills);
}

int main(int argc, char **argv)
{
    bool kill_case = argc == 2 && strcmp(argv[1], "kill") == 0;
    bool adj_case = argc == 2 && strcmp(argv[1], "adj") == 0;
    if (!kill_case && !adj_case) {
        fprintf(stderr, "usage: oom_hog kill|adj\n");
        return 2;
    }
    if (getpid() != 1 || !on_keel()) {
        fprintf(stderr, "oom_hog: runs only as Keel's init (it fills the machine's memory)\n");
        return 2;
    }
    progress = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (progress == MAP_FAILED)
        return 3;
    note("oom_hog %s: MemTotal %lld kB, MemFree %lld kB", argv[1], meminfo_kib("MemTotal"), meminfo_kib("MemFree"));
    if (kill_case)
        case_kill();
    else
        case_adj();
    ok(getpid() == 1, "init lives on and reports", "pid %d", (int)getpid());
    return ktest_done();
}
