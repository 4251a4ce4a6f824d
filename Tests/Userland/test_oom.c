/*
 * test_oom: programs that want more memory than the machine has. On Keel each
 * hog must die by SIGKILL from the OOM killer (the largest process), while this
 * program (init) and the kernel carry on, and the memory must come back.
 * The hogs: private anonymous memory, the same from two threads, shared
 * anonymous memory (MAP_SHARED | MAP_ANONYMOUS), MAP_POPULATE, memory filled by
 * the kernel itself (getrandom into fresh pages), and page tables alone (one
 * byte read every 2 MiB, which maps only the shared zero page but costs a page
 * table each time). Also: a 2^44-byte MAP_SHARED mapping returns at once, with
 * and without MAP_POPULATE, and a process stuck populating can be killed.
 *
 * Only on Keel: on Linux these hogs would eat the host's memory (each check is
 * skipped there with that reason). `make test` also boots it with MEM=128M on
 * one and two CPUs (Tests/Boot/boot_tests.py) and checks the kernel's
 * "Out of memory: Killed process" lines.
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "ktime.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL

/* MemTotal and MemFree from /proc/meminfo, in bytes. */
static size_t meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    size_t kb = 0, keylen = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, keylen) == 0)
            kb = strtoul(line + keylen, NULL, 10);
    if (f)
        fclose(f);
    return kb * 1024;
}

static size_t hog_size;          /* twice the machine's memory */

static void touch(unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i += PAGE)
        p[i] = 1;
}

static void *toucher(void *arg)
{
    touch(arg, hog_size / 2);
    return NULL;
}

enum hog { PRIVATE, THREADS, SHARED, POPULATE, KERNEL_COPY, PAGE_TABLES };

static void run_hog(enum hog kind)
{
    size_t len = hog_size;
    int shared = kind == SHARED ? MAP_SHARED : MAP_PRIVATE;
    int populate = kind == POPULATE ? MAP_POPULATE : 0;
    unsigned char *p = mmap(NULL, kind == PAGE_TABLES ? 1UL << 40 : len, PROT_READ | PROT_WRITE,
                            shared | MAP_ANONYMOUS | MAP_NORESERVE | populate, -1, 0);
    if (p == MAP_FAILED)
        _exit(3);
    switch (kind) {
    case THREADS: {
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, toucher, p + i * (len / 2));
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        break;
    }
    case KERNEL_COPY:
        for (size_t done = 0; done < len;) {
            ssize_t n = getrandom(p + done, len - done, 0);
            if (n <= 0)
                break;
            done += n;
        }
        break;
    case PAGE_TABLES:
        for (size_t off = 0; off < (1UL << 40); off += 2UL << 20)
            (void)*(volatile unsigned char *)(p + off);
        break;
    default:
        touch(p, len);
    }
    _exit(0);                    /* not reached when memory runs out first */
}

static void test_hog(enum hog kind, const char *name)
{
    size_t before = meminfo("MemFree:");
    pid_t child = fork();
    if (child == 0)
        run_hog(kind);
    if (child < 0) {
        ok(0, name, "fork: %s", strerror(errno));
        return;
    }
    int status = -1;
    waitpid(child, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, name, "wait status %#x", status);
    sleep_ms(50);
    size_t after = meminfo("MemFree:");
    ok(after + (4u << 20) >= before, "  and its memory came back", "MemFree %zu kB before, %zu kB after",
       before >> 10, after >> 10);
}

static void test_huge_shared_mappings(void)
{
    double t = now_ms();
    void *p = mmap(NULL, 1UL << 44, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ok(p != MAP_FAILED && now_ms() - t < 2000, "mmap(2^44, PROT_NONE, MAP_SHARED|MAP_ANONYMOUS) returns at once",
       "%p after %.0f ms", p, now_ms() - t);
    munmap(p, 1UL << 44);
    t = now_ms();
    p = mmap(NULL, 1UL << 44, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    ok(p != MAP_FAILED && now_ms() - t < 2000, "  and with MAP_POPULATE", "%p after %.0f ms", p, now_ms() - t);
    munmap(p, 1UL << 44);

    /* A process populating a readable 2^44-byte mapping: stopped by memory or by
     * SIGKILL, and the system goes on either way. */
    pid_t child = fork();
    if (child == 0) {
        mmap(NULL, 1UL << 44, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        pause();
        _exit(0);
    }
    if (child < 0) {
        ok(0, "a process populating 2^44 shared bytes can be killed", "fork: %s", strerror(errno));
        return;
    }
    sleep_ms(300);
    kill(child, SIGKILL);
    int status = -1;
    waitpid(child, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "a process populating 2^44 shared bytes can be killed",
       "wait status %#x", status);
}

int main(void)
{
    if (!on_keel()) {
        skip("out-of-memory hogs", "they would eat the host's memory");
        return ktest_done();
    }
    hog_size = 2 * meminfo("MemTotal:");
    note("each hog asks for %zu MiB", hog_size >> 20);
    test_hog(PRIVATE, "a hog touching twice the memory is killed by SIGKILL");
    test_hog(THREADS, "a hog touching it from two threads is killed");
    test_hog(SHARED, "a hog touching MAP_SHARED|MAP_ANONYMOUS memory is killed");
    test_hog(POPULATE, "a hog using MAP_POPULATE is killed");
    test_hog(KERNEL_COPY, "a hog whose memory the kernel fills (getrandom) is killed");
    test_hog(PAGE_TABLES, "a hog of page tables alone is killed");
    test_huge_shared_mappings();
    return ktest_done();
}
