/*
 * test_vmwalk: runs /bin/vmwalk (the vmwalk next to this program, so the host
 * run uses the freshly built one) on this process's own addresses and checks
 * the PFN and verdict it prints against this program's own reading of
 * /proc/self/pagemap: a written anonymous page (exclusive), an untouched one
 * (not resident), a page shared copy-on-write with a forked child (COW-shared,
 * from either side), the zero page, a private read-only file page (shared);
 * and that it refuses what it cannot walk (no such process, a non-canonical
 * address) and calls an address outside every VMA "not mapped".
 */
#include "ktest.h"
#include "pagemap.h"

#include <libgen.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096

static char vmwalk[512];
static char output[16384];

/* Runs vmwalk with ARGS (NULL-terminated); its stdout goes to `output`. Returns the exit status, -1 on failure. */
static int run(const char *a1, const char *a2)
{
    int out[2];
    if (pipe(out) != 0) return -1;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        dup2(out[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        close(out[0]);
        close(out[1]);
        execl(vmwalk, "vmwalk", a1, a2, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    if (child < 0) {
        close(out[0]);
        return -1;
    }
    size_t n = 0;
    ssize_t got;
    while (n < sizeof output - 1 && (got = read(out[0], output + n, sizeof output - 1 - n)) > 0) n += (size_t)got;
    output[n] = 0;
    close(out[0]);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

static int walk(int pid, void *addr)
{
    char p[32], a[32];
    snprintf(p, sizeof p, "%d", pid);
    snprintf(a, sizeof a, "%#lx", (unsigned long)(uintptr_t)addr);
    return run(p, a);
}

/* The verdict line's word(s). */
static const char *verdict(void)
{
    static char v[64];
    const char *line = strstr(output, "\nverdict");
    v[0] = 0;
    if (line && sscanf(line, "\nverdict %63[^\n]", v) != 1) v[0] = 0;
    return v;
}

/* The PFN vmwalk printed, or ~0. */
static uint64_t printed_pfn(void)
{
    const char *s = strstr(output, "PFN 0x");
    unsigned long long pfn;
    return s && sscanf(s, "PFN 0x%llx", &pfn) == 1 ? pfn : ~0ULL;
}

static uint64_t own_pfn(void *addr)
{
    uint64_t e = 0;
    return pm_entry(0, (uintptr_t)addr, &e) && (e & PM_PRESENT) ? e & PM_PFN_MASK : ~0ULL;
}

int main(void)
{
    char self[256];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!ok(len > 0, "find own executable", "errno %d", errno)) return ktest_done();
    self[len] = 0;
    char dir[256];
    snprintf(dir, sizeof dir, "%s", self);
    snprintf(vmwalk, sizeof vmwalk, "%s/vmwalk", dirname(dir));
    if (!ok(access(vmwalk, X_OK) == 0, "vmwalk next to the test", "%s: errno %d", vmwalk, errno)) return ktest_done();
    int me = getpid();

    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ok(p != MAP_FAILED, "mmap", "errno %d", errno)) return ktest_done();
    p[0] = 1;
    int status = walk(me, p);
    ok(status == 0 && printed_pfn() == own_pfn(p) && strcmp(verdict(), "exclusive") == 0,
       "written anonymous page: vmwalk's PFN is pagemap's, verdict exclusive", "status %d pfn %#llx vs %#llx verdict '%s'",
       status, (unsigned long long)printed_pfn(), (unsigned long long)own_pfn(p), verdict());
    ok(strstr(output, "PGD/PML4") && strstr(output, "PUD/PDPT") && strstr(output, "PMD/PD") && strstr(output, "PTE/PT"),
       "vmwalk names all four levels", "output:\n%s", output);
    ok(strstr(output, "ANON") != NULL && strstr(output, "mapcount 1") != NULL, "vmwalk decodes ANON and mapcount 1",
       "output:\n%s", output);

    status = walk(me, p + PAGE);
    ok(status == 0 && strcmp(verdict(), "not resident") == 0, "untouched page: not resident", "status %d verdict '%s'",
       status, verdict());

    volatile char c = p[2 * PAGE];
    (void)c;
    status = walk(me, p + 2 * PAGE);
    ok(status == 0 && printed_pfn() == own_pfn(p + 2 * PAGE) && strcmp(verdict(), "zero page") == 0,
       "read-only touched page: zero page", "status %d verdict '%s'", status, verdict());

    int hold[2];
    if (ok(pipe(hold) == 0, "pipe", "errno %d", errno)) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            char b;
            close(hold[1]);
            ssize_t r = read(hold[0], &b, 1);
            _exit(r < 0);
        }
        close(hold[0]);
        status = walk(me, p);
        ok(status == 0 && printed_pfn() == own_pfn(p) && strcmp(verdict(), "COW-shared") == 0 &&
               strstr(output, "mapcount 2") != NULL,
           "after fork: the parent's page is COW-shared, mapcount 2", "status %d verdict '%s' output:\n%s", status,
           verdict(), output);
        status = walk(child, p);
        ok(status == 0 && printed_pfn() == own_pfn(p) && strcmp(verdict(), "COW-shared") == 0,
           "after fork: the child's page (by pid) is the same frame, COW-shared", "status %d pfn %#llx verdict '%s'",
           status, (unsigned long long)printed_pfn(), verdict());
        close(hold[1]);
        waitpid(child, NULL, 0);
    }

    int fd = open(self, O_RDONLY);
    char *f = fd >= 0 ? mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (fd >= 0) close(fd);
    if (ok(f != MAP_FAILED, "map own executable", "errno %d", errno)) {
        c = f[0];
        status = walk(me, f);
        ok(status == 0 && printed_pfn() == own_pfn(f) && strcmp(verdict(), "shared") == 0 &&
               strstr(output, "file/shared 1") != NULL,
           "private read-only file page: file bit, verdict shared", "status %d verdict '%s' output:\n%s", status,
           verdict(), output);
        munmap(f, PAGE);
    }

    status = run("0x1000", NULL);
    ok(status == 0 && strcmp(verdict(), "not mapped") == 0, "address outside every VMA: not mapped",
       "status %d verdict '%s'", status, verdict());
    ok(run("2147483647", "0x1000") == 1, "no such process: exit 1", "status %d", run("2147483647", "0x1000"));
    ok(run("notapid", "0x1000") == 1, "a pid that is not a number: exit 1", "status %d", run("notapid", "0x1000"));
    ok(run("0x0000800000000000", NULL) == 1, "non-canonical address: exit 1", "status %d",
       run("0x0000800000000000", NULL));
    ok(run("0xffffffff81000000", NULL) == 1, "kernel address: exit 1", "status %d", run("0xffffffff81000000", NULL));
    ok(run("12zz", NULL) == 1, "malformed address: exit 1", "status %d", run("12zz", NULL));
    ok(run(NULL, NULL) == 2, "no arguments: usage, exit 2", "status %d", run(NULL, NULL));
    munmap(p, 4 * PAGE);
    return ktest_done();
}
