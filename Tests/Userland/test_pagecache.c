/*
 * test_pagecache: a file's page cache is one set of frames that read(),
 * MAP_SHARED, MAP_PRIVATE (until written) and every process running a
 * program all use. Seen through /proc/<pid>/pagemap and /proc/kpageflags
 * (root only, as on Linux), on Linux and on Keel.
 *
 * Files go in a new directory under /tmp, or under the directory given as the
 * argument (a boot test runs it on an ext2 root, where write-back applies).
 * With the argument "text-pfn" the program prints the frame of one of its own
 * text pages and exits: the parent runs itself that way to compare frames.
 */
#define _GNU_SOURCE
#include "ktest.h"
#include "pagemap.h"
#include "procfs.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#define TMPFS_MAGIC 0x01021994

static char dir[64];

static uint64_t pfn_of(int pid, const void *address)
{
    uint64_t entry = 0;
    if (!pm_entry(pid, (uintptr_t)address, &entry) || !(entry & PM_PRESENT)) return 0;
    return entry & PM_PFN_MASK;
}

/* A function in the program's text, on a page of its own file. */
__attribute__((noinline)) static int text_marker(int x) { return x * 3 + 1; }

static void test_exec_shares_text(const char *self)
{
    volatile int touch = text_marker(2);
    (void)touch;
    uint64_t mine = pfn_of(getpid(), (const void *)text_marker);
    ok(mine != 0, "this program's text page is present", "pagemap shows no frame");
    int p[2];
    if (pipe(p) != 0) return;
    pid_t child = fork();
    if (child == 0) {
        dup2(p[1], 1);
        execl(self, self, "text-pfn", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[64] = {0};
    ssize_t n = read(p[0], line, sizeof line - 1);
    close(p[0]);
    int status = 0;
    waitpid(child, &status, 0);
    uint64_t theirs = n > 0 ? strtoull(line, NULL, 0) : 0;
    ok(theirs == mine, "another process running the same file maps the same text frame",
       "mine %#llx, the child's %#llx", (unsigned long long)mine, (unsigned long long)theirs);
    uint64_t flags = 0;
    ok(pm_kpageflags(mine, &flags) && !(flags & (1ULL << KPF_ANON)) && (flags & (1ULL << KPF_MMAP)),
       "the text frame is a mapped file page, not anonymous", "kpageflags %#llx", (unsigned long long)flags);
}

static void test_private_and_shared_frames(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    static char page[4096];
    memset(page, 'p', sizeof page);
    ok(fd >= 0 && write(fd, page, sizeof page) == (ssize_t)sizeof page, "a one-page file", "errno %d", errno);
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *private = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ok(shared != MAP_FAILED && private != MAP_FAILED, "map it shared and private", "errno %d", errno);
    if (shared == MAP_FAILED || private == MAP_FAILED) return;
    volatile char a = shared[0], b = private[0];
    (void)a, (void)b;
    uint64_t cache = pfn_of(getpid(), shared);
    ok(cache != 0 && pfn_of(getpid(), private) == cache,
       "before any write, the private mapping maps the page-cache frame the shared one maps",
       "shared %#llx, private %#llx", (unsigned long long)cache, (unsigned long long)pfn_of(getpid(), private));
    uint64_t entry = 0;
    ok(pm_entry(getpid(), (uintptr_t)private, &entry) && (entry & PM_FILE), "pagemap marks it a file page",
       "entry %#llx", (unsigned long long)entry);
    private[0] = 'q';
    uint64_t copy = pfn_of(getpid(), private);
    ok(copy != 0 && copy != cache, "a store to the private mapping moves it to a frame of its own",
       "copy %#llx, cache %#llx", (unsigned long long)copy, (unsigned long long)cache);
    uint64_t flags = 0;
    ok(pm_kpageflags(copy, &flags) && (flags & (1ULL << KPF_ANON)), "the copy is anonymous", "kpageflags %#llx",
       (unsigned long long)flags);
    ok(pm_entry(getpid(), (uintptr_t)private, &entry) && !(entry & PM_FILE), "and pagemap no longer marks it file",
       "entry %#llx", (unsigned long long)entry);
    ok(shared[0] == 'p', "the file did not change", "shared[0] = %c", shared[0]);
    shared[1] = 's';
    char byte = 0;
    ok(pfn_of(getpid(), shared) == cache && pread(fd, &byte, 1, 1) == 1 && byte == 's',
       "a store through the shared mapping stays in the cache frame and read() sees it", "byte %c", byte);
    struct statfs fs;
    if (fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
        skip("a stored-to page of a disk file is dirty until fsync", "the file is on tmpfs, which writes nothing back");
    } else {
        ok(pm_kpageflags(cache, &flags) && (flags & (1ULL << KPF_DIRTY)) && (flags & (1ULL << KPF_UPTODATE)),
           "the stored-to cache page is dirty and uptodate", "kpageflags %#llx", (unsigned long long)flags);
        ok(fsync(fd) == 0 && pm_kpageflags(cache, &flags) && !(flags & (1ULL << KPF_DIRTY)),
           "after fsync it is clean", "kpageflags %#llx", (unsigned long long)flags);
    }
    munmap(shared, 4096);
    munmap(private, 4096);
    close(fd);
    unlink(path);
}

static void test_cached_counts_new_pages(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/big", dir);
    long long before = meminfo_kib("Cached");
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    static char chunk[64 * 1024];
    memset(chunk, 'c', sizeof chunk);
    bool written = fd >= 0;
    for (int i = 0; i < 32 && written; i++) written = write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk;
    long long after = meminfo_kib("Cached");
    ok(written && before >= 0 && after - before >= 1024,
       "writing 2 MiB to a new file adds at least 1 MiB to Cached", "Cached %lld kB -> %lld kB", before, after);
    close(fd);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "text-pfn") == 0) {
        volatile int touch = text_marker(1);
        (void)touch;
        printf("%#llx\n", (unsigned long long)pfn_of(getpid(), (const void *)text_marker));
        return 0;
    }
    if (argc == 1) mkdir("/tmp", 01777); /* Keel's initramfs root has no /tmp; Linux has one (EEXIST) */
    snprintf(dir, sizeof dir, "%s/test_pagecache.XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(dir)) {
        printf("not ok - mkdtemp: errno %d\n", errno);
        return 1;
    }
    test_exec_shares_text("/proc/self/exe");
    test_private_and_shared_frames();
    test_cached_counts_new_pages();
    rmdir(dir);
    return ktest_done();
}
